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
from signtrain.data.dataset import Issue, RawSequence, RawTree, content_digest
from signtrain.data.mpdata import _scandir, natural_key, sign_folders

DELIMITERS = (";", ",", "\t", " ")


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


def read_sequence(path: Path, cfg: DataConfig) -> RawSequence:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return RawSequence(np.zeros(0, np.int64), [], error=f"unreadable ({exc})")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return RawSequence(np.zeros(0, np.int64), [], error="empty file")
    delimiter = _delimiter(lines[0], cfg.csv_delimiter)
    first = [f.strip() for f in lines[0].split(delimiter)]
    header = cfg.csv_header if cfg.csv_header != "auto" else not all(_is_number(f) for f in first if f)
    rows = [line.split(delimiter) for line in (lines[1:] if header else lines)]
    width = len(first) if header else max(len(r) for r in rows)
    if not rows:
        return RawSequence(np.zeros(0, np.int64), [], error="header only, no frame rows")
    out = np.zeros((len(rows), width), dtype=np.float32)
    padded = 0
    too_long: dict[int, np.ndarray] = {}  # rows wider than the header: wrong-length frames
    columns = _slice(cfg.csv_columns)
    try:
        for i, fields in enumerate(rows):
            if len(fields) > width:
                too_long[i] = np.asarray(fields, dtype=np.float32)[columns]
                continue
            if len(fields) < width:
                padded += 1
            out[i, :len(fields)] = fields
    except ValueError as exc:
        return RawSequence(np.zeros(0, np.int64), [], error=f"row {i + 1 + header}: {exc}")
    out = np.ascontiguousarray(out[:, columns])
    indices = np.arange(len(rows))
    if too_long:
        vectors = [too_long.get(i, row) for i, row in enumerate(out)]
        return RawSequence(indices, vectors, None, content_digest(None, vectors), padded_vectors=padded)
    return RawSequence(indices, [], out, content_digest(out, []), padded_vectors=padded)


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
