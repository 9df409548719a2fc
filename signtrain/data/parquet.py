"""Kaggle ISLR layout: `train.csv` (path, participant_id, sequence_id, sign) plus one long-format
parquet per sequence (frame, type, landmark_index, x, y, z).

Landmarks are placed by `type` and `landmark_index`, never by row order (files in
the wild order the types differently).  NaN means "not detected": it becomes 0,
the convention of the .npy layouts, and every such frame is counted.  Frame
numbers need not start at 0; gaps are missing frames.  The landmark subset
(data.landmarks) maps onto the same feature order as the .npy layouts: pose,
face or lips, left hand, right hand, x/y/z each - so pose + hands is the 225 layout.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Optional

import numpy as np

from signtrain.config import DataConfig
from signtrain.data.csvfiles import decode_text
from signtrain.data.dataset import Issue, RawSequence, RawTree, content_digest, failed
from signtrain.data.npyfile import Unreadable, read_bytes, to_float32
from signtrain.errors import DataError

PART_SIZES = {"pose": 33, "face": 468, "lips": 40, "left_hand": 21, "right_hand": 21}
PART_ORDER = ("pose", "face", "lips", "left_hand", "right_hand")
# MediaPipe face-mesh indices of the lips (the subset the ISLR winners used).
LIPS = (0, 61, 185, 40, 39, 37, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375,
        78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
REQUIRED = ("path", "participant_id", "sequence_id", "sign")


def detect(root: Path) -> bool:
    return root.is_dir() and is_islr(root)


def read(root: Path, cfg: DataConfig) -> RawTree:
    return read_tree(root, cfg.signs, cfg.landmarks)


def is_islr(root: Path) -> bool:
    return (root / "train.csv").is_file()


def feature_columns(parts: tuple[str, ...]) -> dict[str, tuple[int, np.ndarray]]:
    """part -> (source type in the file, column of each landmark index; -1 = not used)."""
    columns, offset = {}, 0
    for part in PART_ORDER:
        if part not in parts:
            continue
        source = "face" if part == "lips" else part
        where = np.full(PART_SIZES[source], -1, dtype=np.int64)
        chosen = LIPS if part == "lips" else range(PART_SIZES[part])
        for k, landmark in enumerate(chosen):
            where[landmark] = offset + 3 * k
        columns[part] = (source, where)
        offset += 3 * PART_SIZES[part]
    return columns


def width_of(parts: tuple[str, ...]) -> int:
    return sum(3 * PART_SIZES[p] for p in parts)


def _read_index(root: Path) -> list[dict[str, str]]:
    index = root / "train.csv"
    try:
        text = decode_text(read_bytes(str(index)))
    except Unreadable as exc:
        raise DataError(f"{index}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{index}: missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED)}")
    rows = list(reader)
    for n, row in enumerate(rows, start=2):
        if any(row.get(c) in (None, "") for c in REQUIRED):
            raise DataError(f"{index} line {n}: an empty or missing field ({', '.join(REQUIRED)} are all needed)")
    return rows


def _column_problem(table, name: str, whole: bool) -> Optional[str]:
    """Why a column cannot be used (strings where numbers belong, NaN in an index), or None."""
    import pyarrow as pa

    kind = table.schema.field(name).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if name == "type":
        return None if pa.types.is_string(kind) or pa.types.is_large_string(kind) else \
            f"column type holds {kind}, expected text (pose, face, left_hand, right_hand)"
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return f"column {name} holds {kind}, expected numbers"
    if whole and pa.types.is_floating(kind):
        values = table.column(name).to_numpy(zero_copy_only=False)
        if np.isnan(values).any():
            return f"column {name} holds NaN, expected whole numbers"
        if not np.equal(np.mod(values, 1), 0).all():
            return f"column {name} holds fractions, expected whole numbers"
    return None


def read_sequence(path: Path, columns: dict[str, tuple[int, np.ndarray]], width: int) -> RawSequence:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["frame", "type", "landmark_index", "x", "y", "z"])
    except Exception as exc:  # noqa: BLE001 - reported as an unreadable file
        return failed(f"unreadable parquet ({str(exc).splitlines()[0][:120]})")
    for name in ("frame", "type", "landmark_index", "x", "y", "z"):
        problem = _column_problem(table, name, whole=name in ("frame", "landmark_index"))
        if problem:
            return failed(problem)
    frame = table.column("frame").to_numpy(zero_copy_only=False).astype(np.int64)
    if len(frame) == 0:
        return failed("no rows")
    kind = table.column("type").to_numpy(zero_copy_only=False)
    index = table.column("landmark_index").to_numpy(zero_copy_only=False).astype(np.int64)
    xyz = np.stack([table.column(c).to_numpy(zero_copy_only=False) for c in ("x", "y", "z")], axis=1)
    frames, row_frame = np.unique(frame, return_inverse=True)
    out = np.zeros((len(frames), width), dtype=np.float64)
    # rows no landmark can be: an unknown type, or an index outside 0..size-1 of its type (counted, left out)
    sizes = np.array([PART_SIZES.get(str(k), 0) for k in kind], dtype=np.int64) if len(kind) else index
    dropped = int(np.count_nonzero((index < 0) | (index >= sizes)))
    for source, where in columns.values():
        rows = np.flatnonzero(kind == source)
        landmark = index[rows]
        inside = (landmark >= 0) & (landmark < len(where))
        rows, landmark = rows[inside], landmark[inside]
        col = where[landmark]
        used = col >= 0
        rows, col = rows[used], col[used]
        for d in range(3):
            out[row_frame[rows], col + d] = xyz[rows, d]
    nan = np.isnan(out)
    nan_frames = int(nan.any(axis=1).sum())
    out[nan] = 0.0
    out32, beyond = to_float32(out)
    indices = (frames - frames.min()).astype(np.int64)
    return RawSequence(indices, [], out32, content_digest(out32, []), nan_missing_frames=nan_frames, source=str(path),
                       beyond_float32=frozenset(np.flatnonzero(beyond).tolist()), dropped_rows=dropped)


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, top]) == top and real != top


def read_tree(root: Path, signs: Optional[tuple[str, ...]], landmarks: tuple[str, ...]) -> RawTree:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise DataError(f"{root}: reading ISLR parquet files needs pyarrow: pip install 'signtrain[parquet]'") from None
    rows = _read_index(root)
    present = sorted({r["sign"] for r in rows})
    if signs:
        absent = [s for s in signs if s not in present]
        if absent:
            raise DataError(f"sign '{absent[0]}' listed in data.signs is not in {root / 'train.csv'}")
        labels = list(signs)
    else:
        labels = present
    number = {name: i for i, name in enumerate(labels)}
    columns = feature_columns(landmarks)
    width = width_of(landmarks)
    issues: list[Issue] = []
    tree = RawTree("islr_parquet", labels, [], [], [], issues, groups=[])
    for row in rows:
        if row["sign"] not in number:
            continue
        path = root / row["path"]
        tree.signs.append(number[row["sign"]])
        tree.sources.append(str(path))
        if not _inside(path, root):  # a path in the data never leads out of the data root
            tree.raws.append(failed(f"train.csv lists {row['path']!r}, outside {root}; list paths inside it"))
        elif not path.is_file():
            tree.raws.append(failed("listed in train.csv but not on disk"))
        else:
            tree.raws.append(read_sequence(path, columns, width))
        tree.groups.append(row["participant_id"])
    return tree
