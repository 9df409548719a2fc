"""Scanning and reading the `.npy` layouts: MP_Data (`ROOT/<sign>/<seq>/<frame>.npy`)
and one array per sequence (`ROOT/<sign>/<id>.npy`, shape `(frames, features)`).

Large trees are read by worker processes, a chunk of sequences each; the fast
`.npy` path keeps the Python work per file small.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from signtrain.data.dataset import Issue, RawSequence, RawTree, content_digest
from signtrain.data.npyfile import HeaderCache, decode_frame, decode_payloads, read_bytes
from signtrain.errors import DataError

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
    top = _scandir(root)
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


def _read_typical(entry: SequenceEntry, cache: HeaderCache) -> Optional[np.ndarray]:
    """The hot path: every frame file has the tree's usual header and size -> [n, L], else None."""
    raw_header, size, header = cache.typical
    cut = len(raw_header)
    payloads = []
    for _, path in entry.frames:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            data = os.read(fd, size + 1)
        finally:
            os.close(fd)
        if len(data) != size or data[:cut] != raw_header:
            return None
        payloads.append(data)
    return decode_payloads(payloads, header)


def _read_frames(entry: SequenceEntry, cache: HeaderCache) -> RawSequence:
    indices = np.fromiter((i for i, _ in entry.frames), dtype=np.int64, count=len(entry.frames))
    if cache.typical is not None:
        block = _read_typical(entry, cache)
        if block is not None:
            return RawSequence(indices, [], block, content_digest(block, []))
    vectors: list[Optional[np.ndarray]] = [None] * len(entry.frames)
    fast: list[tuple[int, bytes]] = []
    fast_header = None
    all_fast = True
    for k, (_, path) in enumerate(entry.frames):
        try:
            data = read_bytes(path)
        except OSError:
            all_fast = False
            continue
        vector, header = decode_frame(data, cache)
        if header is not None and (fast_header is None or header == fast_header):
            fast_header = header
            fast.append((k, data))
            cache.typical = cache.typical or (data[:header.offset], header.nbytes, header)
        elif header is not None:
            vectors[k] = decode_payloads([data], header)[0]
            all_fast = False
        else:
            vectors[k] = vector
            all_fast = False
    if fast and all_fast and len(fast) == len(entry.frames):
        block = decode_payloads([d for _, d in fast], fast_header)
        return RawSequence(indices, [], block, content_digest(block, []))
    if fast:
        decoded = decode_payloads([d for _, d in fast], fast_header)
        for row, (k, _) in enumerate(fast):
            vectors[k] = decoded[row]
    return RawSequence(indices, vectors, None, content_digest(None, vectors))


def _read_array(entry: SequenceEntry) -> RawSequence:
    try:
        data = read_bytes(entry.array_file)
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:  # noqa: BLE001 - reported as a corrupt file
        return RawSequence(np.zeros(0, np.int64), [], error="unreadable or not a .npy file")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.dtype.kind not in "fiub":
        return RawSequence(np.zeros(0, np.int64), [],
                           error=f"expected a numeric (frames, features) array, got shape {array.shape}")
    block = array.astype(np.float32)
    return RawSequence(np.arange(len(block)), [], block, content_digest(block, []))


def _read_chunk(entries: list[SequenceEntry]) -> list[RawSequence]:
    cache = HeaderCache()
    return [_read_array(e) if e.array_file else _read_frames(e, cache) for e in entries]


def read_entries(entries: list[SequenceEntry], workers: int = 0) -> list[RawSequence]:
    """Read every sequence, in the order given, in worker processes when the tree is large.

    Processes, not threads: the per-file work is short Python code, so threads
    contend for the GIL and measured slower than one thread.  Forking is only
    safe before TensorFlow starts its own threads; after that, one process reads.
    """
    workers = workers or os.cpu_count() or 1
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
