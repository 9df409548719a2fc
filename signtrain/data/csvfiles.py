"""Per-sequence CSV: `ROOT/<sign>/<id>.csv`, one frame per row, possibly ragged.

Rows shorter than the header (a hand that was not detected, in files like
shared/data/dgs30_csv) are padded with zeros and counted; rows longer than it
are wrong-length frames.  Delimiter and header are detected unless configured;
data.csv_columns ("start:stop") keeps a slice of the fields, e.g. "2:" drops
two leading face values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from signtrain.config import DataConfig
from signtrain.data.dataset import Issue, RawSequence, RawTree, content_digest, failed
from signtrain.data.mpdata import _scandir, natural_key, sign_folders
from signtrain.data.npyfile import Unreadable, read_bytes, to_float32

DELIMITERS = (";", ",", "\t", " ")


def detect(root: Path) -> bool:
    return root.is_dir() and looks_like_csv_tree(root)


def read(root: Path, cfg: DataConfig) -> RawTree:
    return read_tree(root, cfg)


def looks_like_csv_tree(root: Path) -> bool:
    for sign in sorted(_scandir(root), key=lambda e: e.name)[:5]:
        if sign.is_dir():
            names = [e.name for e in _scandir(Path(sign.path))[:20]]
            if names and sum(n.lower().endswith(".csv") for n in names) > len(names) // 2:
                return True
    return False


def _delimiter(line: str, setting: str) -> str:
    if setting != "auto":
        return "\t" if setting == "tab" else setting
    return max(DELIMITERS, key=line.count)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _slice(spec: Optional[str]) -> slice:
    if not spec:
        return slice(None)
    start, _, stop = spec.partition(":")
    return slice(int(start) if start else None, int(stop) if stop else None)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), or Unreadable naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); save it as "
                         f"UTF-8") from None


def read_sequence(path: Path, cfg: DataConfig) -> RawSequence:
    try:
        text = decode_text(read_bytes(str(path)))
    except Unreadable as exc:
        return failed(str(exc))
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return failed("empty file")
    delimiter = _delimiter(lines[0], cfg.csv_delimiter)
    first = [f.strip() for f in lines[0].split(delimiter)]
    header = cfg.csv_header if cfg.csv_header != "auto" else not all(_is_number(f) for f in first if f)
    rows = [line.split(delimiter) for line in (lines[1:] if header else lines)]
    if not rows:
        return failed("header only, no frame rows")
    width = len(first) if header else max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.float64)  # float64 first: 1e300 must be seen, not become inf
    padded = 0
    too_long: dict[int, np.ndarray] = {}  # rows wider than the header: wrong-length frames
    columns = _slice(cfg.csv_columns)
    try:
        for i, fields in enumerate(rows):
            if len(fields) > width:
                too_long[i] = np.asarray(fields, dtype=np.float64)[columns]
                continue
            if len(fields) < width:
                padded += 1
            out[i, :len(fields)] = fields
    except ValueError as exc:
        return failed(f"row {i + 1 + header}: {exc}")
    out, beyond = to_float32(np.ascontiguousarray(out[:, columns]))
    beyond_rows = frozenset(np.flatnonzero(beyond).tolist())
    indices = np.arange(len(rows))
    if too_long:
        vectors = [to_float32(too_long[i])[0] if i in too_long else row for i, row in enumerate(out)]
        return RawSequence(indices, vectors, None, content_digest(None, vectors), padded_vectors=padded,
                           source=str(path), row_offset=int(header), beyond_float32=beyond_rows)
    return RawSequence(indices, [], out, content_digest(out, []), padded_vectors=padded, source=str(path),
                       row_offset=int(header), beyond_float32=beyond_rows)


def read_tree(root: Path, cfg: DataConfig) -> RawTree:
    tree = RawTree("csv", [], [], [], [], [])
    names, folders = sign_folders(root, cfg.signs, tree.issues)
    for name in names:
        files = sorted((e for e in _scandir(Path(folders[name].path))), key=lambda e: natural_key(e.name))
        sequences = [e for e in files if e.name.lower().endswith(".csv")]
        for e in files:
            if e not in sequences:
                tree.issues.append(Issue("warning", "stray_file", e.path, "not a .csv sequence file, ignored"))
        if not sequences:
            tree.issues.append(Issue("warning", "empty_sign", folders[name].path, "no .csv files; sign left out"))
            continue
        sign = len(tree.labels)
        tree.labels.append(name)
        for e in sequences:
            tree.signs.append(sign)
            tree.sources.append(e.path)
            tree.raws.append(read_sequence(Path(e.path), cfg))
    return tree
