"""One compact array file (`signtrain convert SRC DST.npz`): X [N, T, F] float32, lengths, y,
labels, sources - read back as a tree of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signtrain.config import DataConfig
from signtrain.data.dataset import RawSequence, RawTree, content_digest
from signtrain.errors import DataError


def detect(root: Path) -> bool:
    return root.is_file() and root.suffix == ".npz"


def read(root: Path, cfg: DataConfig) -> RawTree:
    return read_tree(root)


def read_tree(path: Path) -> RawTree:
    try:
        with np.load(path, allow_pickle=False) as z:
            X, lengths, y = z["X"], z["lengths"], z["y"]
            labels, sources = [str(s) for s in z["labels"]], [str(s) for s in z["sources"]]
    except Exception as exc:  # noqa: BLE001 - truncated zip, missing member, pickled member, ...
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable signtrain array file ({reason}); write one with signtrain "
                        f"convert") from None
    n = len(y)
    if X.ndim != 3 or X.dtype.kind not in "fiu" or lengths.shape != (n,) or len(X) != n or len(sources) != n or \
            y.dtype.kind not in "iu" or (n and (y.min() < 0 or y.max() >= len(labels))):
        raise DataError(f"{path}: its arrays do not fit together (X {X.shape}, lengths {lengths.shape}, y {y.shape}, "
                        f"{len(labels)} labels); write it again with signtrain convert")
    lengths = np.clip(lengths, 0, X.shape[1])
    raws = []
    for frames, n in zip(X, lengths):
        block = np.ascontiguousarray(frames[:n], dtype=np.float32)
        raws.append(RawSequence(np.arange(len(block)), [], block, content_digest(block, [])))
    return RawTree("npz", labels, [int(v) for v in y], sources, raws, [])


def write(path: Path, labels: list[str], sequences: list[tuple[int, str, np.ndarray]]) -> None:
    """sequences: (sign index, source, frames [n, F]) -> one .npz padded to the longest."""
    if not sequences:
        raise DataError("nothing to write: no usable sequence")
    longest = max(len(f) for _, _, f in sequences)
    width = sequences[0][2].shape[1]
    X = np.zeros((len(sequences), longest, width), np.float32)
    for i, (_, _, frames) in enumerate(sequences):
        X[i, :len(frames)] = frames
    from signtrain.store.files import write_with

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, X=X, lengths=np.array([len(f) for _, _, f in sequences], np.int32),
                                y=np.array([s for s, _, _ in sequences], np.int32), labels=np.array(labels),
                                sources=np.array([src for _, src, _ in sequences]))

    write_with(path, save)
