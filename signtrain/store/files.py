"""The files of a trained model: where each lives inside a run folder, and writing them atomically.

Every write goes to a temporary file in the same folder and is then renamed over the target,
so a crash, a full disk or a kill leaves either the old file or the new one, never half of
one.  Whole runs are made visible at once by signtrain.store.runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

from signtrain.config import OutputConfig
from signtrain.errors import RunError
from signtrain.registry import model_suffixes
from signtrain.store.publish import check_target, place, staging_path

MODEL_SUFFIXES = model_suffixes()


@dataclass(frozen=True)
class RunPaths:
    """The files of one run, inside its folder (staging while it is written)."""

    dir: Path
    model: Path
    checkpoint: Path
    preprocess: Path
    metadata: Path
    metrics: Path
    config: Path
    curves: Path
    log_dir: Path
    history: Path
    resume_model: Path
    resume_state: Path

    @classmethod
    def inside(cls, folder: Path, cfg: OutputConfig) -> "RunPaths":
        folder = Path(folder)
        model = folder / cfg.model_file
        logs = folder / cfg.log_dir
        return cls(dir=folder, model=model, checkpoint=folder / cfg.checkpoint_file,
                   preprocess=folder / cfg.preprocess_file, metadata=folder / (model_stem(model) + ".meta.json"),
                   metrics=folder / "metrics.json", config=folder / "config.yaml", curves=folder / "curves.png",
                   log_dir=logs, history=logs / "history.csv", resume_model=logs / "resume" / "last.keras",
                   resume_state=logs / "resume" / "state.json")

    def names(self) -> tuple[str, ...]:
        """The artifact names a run's output folder shows at its top level."""
        return tuple(p.relative_to(self.dir).as_posix() for p in (
            self.model, self.checkpoint, self.preprocess, self.metadata, self.metrics, self.config, self.curves,
            self.log_dir))


def ensure_dir(path: Path) -> Path:
    """A folder to write into (made if needed); an alias such as models/export is followed into the
    run it names.  A file in the way, or a folder that cannot be made, is one clear error."""
    real = Path(os.path.realpath(path))
    if real.exists() and not real.is_dir():
        raise RunError(f"{path}: a file is there, not a folder; give a folder (or a new name)")
    try:
        real.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot make the folder {path} ({exc.strerror or exc}); choose a writable place") from None
    return real


def model_stem(path: Path) -> str:
    name = path.name
    for suffix in MODEL_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------- fault injection (tests)

_FAULT, _, _FAULT_SIGNAL = os.environ.get("SIGNTRAIN_FAULT", "").partition("@")


def fault_point(name: str) -> None:
    """Tests kill the process at named instants: SIGNTRAIN_FAULT=replace:lstm_model.h5 sends a real
    SIGKILL (no cleanup runs) at that instant; ...@INT sends one SIGINT (a Ctrl-C) instead."""
    if _FAULT and _FAULT == name:
        os.kill(os.getpid(), signal.SIGINT if _FAULT_SIGNAL == "INT" else signal.SIGKILL)


# ---------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yields a staging path beside target (same suffix) that is fsynced and published as target when the
    block succeeds (store.publish.place: one rename, never through a link, never over a folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    check_target(target, folder=False)
    tmp_path = staging_path(target)
    tmp_path.touch(mode=0o600)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # staged privately; published with the usual permissions
        fault_point(f"replace:{target.name}")
        place(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_json(path: Path) -> Optional[dict]:
    """A JSON object from a file, or None where it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else None
    except (OSError, ValueError, RecursionError):  # RecursionError: a hand-made, deeply nested file
        return None


def write_json(path: Path, payload: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Atomically write path with writer(tmp_path), e.g. a Keras save or np.savez."""
    with atomic_path(path) as tmp:
        tmp.unlink()  # some writers refuse to overwrite; they create the file themselves
        writer(tmp)


def save_preprocess(path: Path, mean: np.ndarray, std: np.ndarray, epsilon: float, mode: str) -> None:
    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, mean=mean, std=std, epsilon=np.float32(epsilon), mode=np.array(mode))

    write_with(path, writer)


def save_model(model: Any, path: Path) -> None:
    """Atomic model save.  A legacy .h5 file gets no optimizer: Keras 3's h5 writer pops the
    optimizer out of the model's compile config, which would break a later .keras save."""
    options = {"include_optimizer": False} if path.suffix == ".h5" else {}
    write_with(path, lambda tmp: model.save(tmp, **options))


def save_model_staged(model: Any, path: Path) -> tuple[Path, str, Optional[str]]:
    """Full model; where that fails, weights only.  -> (path written, 'full'|'weights', error or None).
    A full disk fails both, and that error goes to the caller."""
    try:
        save_model(model, path)
        return path, "full", None
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - a serialisation failure falls back to weights
        weights = path.parent / (model_stem(path) + ".weights.h5")
        write_with(weights, lambda tmp: model.save_weights(tmp))
        return weights, "weights", f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- checksums


def file_digest(path: Path) -> str:
    """sha256 of a file, or of every file of a folder (a SavedModel) by relative path."""
    h = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            h.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    from signtrain import __version__

    return {"signtrain": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "tensorflow": tf.__version__, "keras": keras.__version__, "scikit-learn": sklearn.__version__}
