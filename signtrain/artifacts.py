"""Where each file of a trained model lives, and writing/reading them atomically.

Every write goes to a temporary file in the same folder and is then renamed over
the target, so a crash, a full disk or a kill at any moment leaves either the old
good file or the new good file, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

from signtrain.config import OutputConfig
from signtrain.errors import ModelError

METADATA_SUFFIX = ".meta.json"
MODEL_SUFFIXES = (".weights.h5", ".h5", ".keras", ".tflite", ".onnx", ".saved_model")


@dataclass(frozen=True)
class RunPaths:
    dir: Path
    model: Path
    checkpoint: Path
    preprocess: Path
    metadata: Path
    metrics: Path
    log_dir: Path
    history: Path
    resume_model: Path
    resume_state: Path

    @classmethod
    def from_config(cls, cfg: OutputConfig) -> "RunPaths":
        out = Path(cfg.dir)
        model = out / cfg.model_file
        logs = out / cfg.log_dir
        return cls(dir=out, model=model, checkpoint=out / cfg.checkpoint_file,
                   preprocess=out / cfg.preprocess_file, metadata=metadata_path(model),
                   metrics=out / "metrics.json", log_dir=logs, history=logs / "history.csv",
                   resume_model=logs / "resume" / "last.keras", resume_state=logs / "resume" / "state.json")


def model_stem(path: Path) -> str:
    name = path.name
    for suffix in MODEL_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def metadata_path(model_path: Path) -> Path:
    """models/lstm_model.h5 -> models/lstm_model.meta.json (also for .keras, .tflite, SavedModel folders)."""
    return model_path.parent / (model_stem(model_path) + METADATA_SUFFIX)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yields a temporary path (same folder, same suffix) that replaces target when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".weights.h5" if target.name.endswith(".weights.h5") else target.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".partial{suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, payload: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")


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
    """Full model; where that fails, weights only.  -> (path written, 'full'|'weights', error or None)."""
    try:
        save_model(model, path)
        return path, "full", None
    except Exception as exc:  # noqa: BLE001 - any save failure falls back to weights
        weights = path.parent / (model_stem(path) + ".weights.h5")
        write_with(weights, lambda tmp: model.save_weights(tmp))
        return weights, "weights", f"{type(exc).__name__}: {exc}"


def library_versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    from signtrain import __version__

    return {"signtrain": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "tensorflow": tf.__version__, "keras": keras.__version__, "scikit-learn": sklearn.__version__}


def read_metadata(model_path: Path) -> dict:
    path = metadata_path(model_path)
    if not path.is_file():
        raise ModelError(f"{path} not found: the metadata that travels with {model_path.name} (labels, layout, "
                         f"normalisation) is missing; copy it from the training output folder or retrain")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: corrupt metadata ({exc}); copy it again from the training output or retrain") from None
