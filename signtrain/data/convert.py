"""convert(data config, destination): any readable tree -> an MP_Data tree or one compact .npz file.

The same readers and data.* policies as training, with the same account of what was left out
or filled.  Sign names become folder names only when they are plain names (no path separators,
no '..'), nothing is written outside the destination, nothing is overwritten without
--overwrite, and the result is staged beside the destination and renamed into place whole.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signtrain import paths
from signtrain.config import DataConfig
from signtrain.data import account, usable_sequences
from signtrain.errors import DataError, RunError
from signtrain.store import publish


@dataclass
class ConvertReport:
    destination: str
    kind: str                 # npz | mp_data
    source_format: str
    sequences: int
    signs: int
    frames: int
    account: list = field(default_factory=list)  # account.Entry


def convert(cfg: DataConfig, destination: Path, overwrite: bool = False) -> ConvertReport:
    destination = Path(destination)
    paths.readable(Path(cfg.path), "SOURCE", DataError, "give the tree to convert")
    paths.writable_place(destination, "DESTINATION", RunError, "choose a new folder or .npz file you can write")
    publish.check_apart(destination, Path(cfg.path))
    if os.path.lexists(destination) and not overwrite:
        raise DataError(f"{destination} already exists; choose a new name, or pass --overwrite to replace it")
    kind = "npz" if destination.suffix == ".npz" else "mp_data"
    publish.check_target(destination, folder=kind == "mp_data")
    tree, sequences, summary = usable_sequences(cfg)
    if not sequences:
        raise DataError(f"{cfg.path}: no usable sequence to convert")
    publish.clean(destination.parent, only=destination.name)  # what a convert killed here before left
    staged = publish.staging_path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        if kind == "npz":
            from signtrain.data.npzfile import write

            write(staged, tree.labels, sequences)
        else:
            _write_mp_data(staged, tree.labels, sequences)
        publish.place(staged, destination)
    except OSError as exc:
        raise RunError(f"cannot write {destination} ({exc.strerror or exc}); nothing was written there") from None
    finally:
        if os.path.lexists(staged):
            shutil.rmtree(staged, ignore_errors=True) if staged.is_dir() else staged.unlink()
    return ConvertReport(str(destination), kind, tree.format, len(sequences), len({s for s, _, _ in sequences}),
                         sum(len(f) for _, _, f in sequences), account.account(summary, cfg))


def _write_mp_data(root: Path, labels: list[str], sequences: list[tuple[int, str, np.ndarray]]) -> None:
    counters: dict[int, int] = {}
    for sign, _, frames in sequences:
        number = counters.get(sign, 0)
        counters[sign] = number + 1
        folder = root / labels[sign] / str(number)
        if root.resolve() not in folder.resolve().parents:  # belt and braces after data.check_labels
            raise DataError(f"sign name {labels[sign]!r} would write outside {root}")
        folder.mkdir(parents=True)
        for t, vector in enumerate(frames):
            np.save(folder / f"{t}.npy", vector)
