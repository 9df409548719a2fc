"""convert(data config, destination): any readable tree -> an MP_Data tree or one compact .npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signtrain.config import DataConfig
from signtrain.data import usable_sequences
from signtrain.errors import DataError


def convert(cfg: DataConfig, destination: Path) -> str:
    tree, sequences = usable_sequences(cfg)
    if not sequences:
        raise DataError(f"{cfg.path}: no usable sequence to convert")
    if destination.suffix == ".npz":
        from signtrain.data.npzfile import write

        write(destination, tree.labels, sequences)
        return (f"Wrote {len(sequences)} sequences of {len(tree.labels)} signs ({tree.format}) to {destination} "
                f"(X padded to the longest, lengths, y, labels, sources)")
    if destination.exists() and any(destination.iterdir()):
        raise DataError(f"{destination} already holds files; choose an empty or new folder")
    counters: dict[int, int] = {}
    for sign, _, frames in sequences:
        number = counters.get(sign, 0)
        counters[sign] = number + 1
        folder = destination / tree.labels[sign] / str(number)
        folder.mkdir(parents=True)
        for t, vector in enumerate(frames):
            np.save(folder / f"{t}.npy", vector)
    return (f"Wrote {len(sequences)} sequences of {len(tree.labels)} signs ({tree.format}) as MP_Data to "
            f"{destination}: {sum(len(f) for _, _, f in sequences)} frame files")
