"""Scanning and reading the `.npy` layouts: MP_Data (`ROOT/<sign>/<seq>/<frame>.npy`)
and one array per sequence (`ROOT/<sign>/<id>.npy`, shape `(frames, features)`).

Large trees are read by worker processes, a chunk of sequences each; the fast
`.npy` path keeps the Python work per file small.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from signtrain.config import DataConfig
from signtrain.data.dataset import Issue, RawSequence, RawTree, content_digest, failed
from signtrain.data.npyfile import (
    HeaderCache,
    Unreadable,
    decode_array,
    decode_frame,
    decode_payloads,
    read_bytes,
    to_float32,
)
from signtrain.errors import DataError
from signtrain.interrupt import poll

_INT = re.compile(r"^\d+$")


def natural_key(name: str) -> tuple:
    """Numbers sort as numbers ('10' after '9'); other names after them, by text."""
    return (0, int(name), "") if _INT.match(name) else (1, 0, name)


@dataclass
class SequenceEntry:
    sign: int
    source: str
    frames: list[tuple[int, str]] = field(default_factory=list)  # (frame number, path); MP_Data
    array_file: Optional[str] = None                              # one-file-per-sequence layout


@dataclass
class Scan:
    labels: list[str]
    entries: list[SequenceEntry]
    issues: list[Issue]


def _scandir(path: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError as exc:
        raise DataError(f"{path}: cannot list this folder ({exc.strerror})") from None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot list this folder ({exc.strerror})") from None


def sign_folders(root: Path, signs: Optional[tuple[str, ...]],
                 issues: list[Issue]) -> tuple[list[str], dict[str, os.DirEntry]]:
    """The sign folders to read, in label order (as listed, or sorted); stray top-level files become
    issues and a listed sign without a folder is an error.  Shared by the folder-per-sign readers."""
    if not root.exists():
        raise DataError(f"data folder not found: {root} (set data.path in the config or pass --data PATH)")
    if not root.is_dir():
        raise DataError(f"{root}: expected a folder of sign folders (ROOT/<sign>/<sequence>/<frame>.npy)")
    top = [e for e in _scandir(root) if not e.name.startswith(".")]  # .ipynb_checkpoints, extract's state
    folders = {e.name: e for e in top if e.is_dir()}
    for e in top:
        if not e.is_dir():
            issues.append(Issue("warning", "stray_file", e.path, "file outside any sign folder, ignored"))
    if not signs:
        return sorted(folders), folders
    absent = [s for s in signs if s not in folders]
    if absent:
        raise DataError(f"sign '{absent[0]}' listed in data.signs has no folder under {root}"
                        + (f" (and {len(absent) - 1} more)" if len(absent) > 1 else "")
                        + "; fix the list or add the recordings")
    return list(signs), folders


def scan_tree(root: Path, signs: Optional[tuple[str, ...]] = None) -> Scan:
    """List signs, sequences and frame files; stray and empty things become issues."""
    issues: list[Issue] = []
    names, folders = sign_folders(root, signs, issues)

    labels: list[str] = []
    entries: list[SequenceEntry] = []
    for name in names:
        found = _scan_sign(Path(folders[name].path), len(labels), issues)
        if not found:
            level = "error" if signs else "warning"
            issues.append(Issue(level, "empty_sign", folders[name].path,
                                "sign folder holds no sequences" + ("" if signs else "; sign left out")))
            if signs:
                raise DataError(f"{folders[name].path}: sign '{name}' listed in data.signs holds no sequences")
            continue
        labels.append(name)
        entries.extend(found)
    return Scan(labels, entries, issues)


def _scan_sign(folder: Path, sign: int, issues: list[Issue]) -> list[SequenceEntry]:
    found = []
    for e in sorted(_scandir(folder), key=lambda e: natural_key(e.name)):
        if e.name.startswith("."):
            continue
        if e.is_dir():
            entry = SequenceEntry(sign, e.path)
            prefix = e.path + os.sep
            for name in _listdir(e.path):  # names only: a stat per frame file would double the scan time
                stem = name[:-4]
                if name.endswith(".npy") and stem.isdigit() and stem.isascii():
                    entry.frames.append((int(stem), prefix + name))
                else:
                    issues.append(Issue("warning", "stray_file", prefix + name, "not a <number>.npy frame file, ignored"))
            entry.frames.sort()
            if entry.frames:
                found.append(entry)
            else:
                issues.append(Issue("warning", "empty_sequence", e.path, "sequence folder holds no frames, ignored"))
        elif e.name.endswith(".npy"):
            found.append(SequenceEntry(sign, e.path, array_file=e.path))
        else:
            issues.append(Issue("warning", "stray_file", e.path, "not a sequence folder or .npy file, ignored"))
    return found


def _read_typical(entry: SequenceEntry, cache: HeaderCache) -> Optional[list[bytes]]:
    """The hot path: every frame file has the tree's usual header and size -> their bytes, else None.
    O_NONBLOCK: a FIFO among the frames must not block the open; it then fails the size check
    and goes the checked way."""
    raw_header, size, header = cache.typical
    cut = len(raw_header)
    payloads = []
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    for _, path in entry.frames:
        try:
            fd = os.open(path, flags)
        except OSError:
            return None
        try:
            data = os.read(fd, size + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) != size or data[:cut] != raw_header:
            return None
        payloads.append(data)
    return payloads


def _read_frames(entry: SequenceEntry, cache: HeaderCache) -> RawSequence:
    indices = np.fromiter((i for i, _ in entry.frames), dtype=np.int64, count=len(entry.frames))
    if cache.typical is not None:
        payloads = _read_typical(entry, cache)
        if payloads is not None:
            block, beyond = decode_payloads(payloads, cache.typical[2])
            return RawSequence(indices, [], block, content_digest(block, []), source=entry.source,
                               frame_files=entry.frames, beyond_float32=_positions(beyond))
    vectors: list[Optional[np.ndarray]] = [None] * len(entry.frames)
    problems: dict[int, str] = {}
    beyond_rows: set[int] = set()
    fast: list[tuple[int, bytes]] = []
    fast_header = None
    for k, (_, path) in enumerate(entry.frames):
        try:
            data = read_bytes(path)
            vector, header = decode_frame(data, cache)
        except Unreadable as exc:
            problems[k] = str(exc)
            continue
        if header is not None and (fast_header is None or header == fast_header):
            fast_header = header
            fast.append((k, data))
            cache.typical = cache.typical or (data[:header.offset], header.nbytes, header)
        elif header is not None:
            decoded, beyond = decode_payloads([data], header)
            vectors[k] = decoded[0]
            beyond_rows |= {k} if beyond.any() else set()
        else:
            vectors[k], beyond = to_float32(vector)
            beyond_rows |= {k} if beyond.any() else set()
    if fast:
        decoded, beyond = decode_payloads([d for _, d in fast], fast_header)
        for row, (k, _) in enumerate(fast):
            vectors[k] = decoded[row]
            if beyond[row]:
                beyond_rows.add(k)
        if len(fast) == len(entry.frames):
            return RawSequence(indices, [], decoded, content_digest(decoded, []), source=entry.source,
                               frame_files=entry.frames, beyond_float32=frozenset(beyond_rows))
    return RawSequence(indices, vectors, None, content_digest(None, vectors), source=entry.source,
                       frame_files=entry.frames, problems=problems, beyond_float32=frozenset(beyond_rows))


def _positions(mask: np.ndarray) -> frozenset:
    return frozenset(np.flatnonzero(mask).tolist()) if mask.any() else frozenset()


def _read_array(entry: SequenceEntry) -> RawSequence:
    """One (frames, features) array per recording."""
    try:
        array = decode_array(read_bytes(entry.array_file), want_vector=False)
    except Unreadable as exc:
        return failed(str(exc))
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        return failed(f"wrong shape {tuple(array.shape)} (expected frames x features)")
    block, beyond = to_float32(array)
    return RawSequence(np.arange(len(block)), [], block, content_digest(block, []), source=entry.source,
                       beyond_float32=_positions(beyond))


def _read_chunk(entries: list[SequenceEntry]) -> list[RawSequence]:
    cache = HeaderCache()
    out = []
    for k, entry in enumerate(entries):
        if k % 256 == 0:
            poll()
        out.append(_read_array(entry) if entry.array_file else _read_frames(entry, cache))
    return out


def read_entries(entries: list[SequenceEntry], workers: int = 0) -> list[RawSequence]:
    """Read every sequence, in the order given, in worker processes when the tree is large.

    Processes, not threads: the per-file work is short Python code, so threads
    contend for the GIL and measured slower than one thread.  Forking is only
    safe before TensorFlow starts its own threads; after that, one process reads.
    """
    workers = min(workers or os.cpu_count() or 1, os.cpu_count() or 1)  # more processes than cores only cost
    forkable = sys.platform == "linux" and "tensorflow" not in sys.modules
    if workers <= 1 or len(entries) < 200 or not forkable:
        return _read_chunk(entries)
    size = -(-len(entries) // workers)
    chunks = [entries[i:i + size] for i in range(0, len(entries), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return [raw for chunk in pool.map(_read_chunk, chunks) for raw in chunk]


def read_tree(root: Path, signs: Optional[tuple[str, ...]], workers: int = 1) -> RawTree:
    scan = scan_tree(root, signs)
    raws = read_entries(scan.entries, workers) if scan.entries else []
    return RawTree("mp_data", scan.labels, [e.sign for e in scan.entries], [e.source for e in scan.entries],
                   raws, scan.issues)


def detect(root: Path) -> bool:
    return True  # the fallback: a folder of sign folders


def read(root: Path, cfg: DataConfig) -> RawTree:
    return read_tree(root, cfg.signs, cfg.workers)
