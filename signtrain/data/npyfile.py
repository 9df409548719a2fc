"""Reading many small `.npy` frame files without `np.load`'s per-file overhead.

A tree of frame files almost always shares one `.npy` header, so each file is
read as raw bytes with `os.read`, its header compared with the ones already
parsed, and the payloads of one sequence are decoded with a single
`np.frombuffer`.  Anything unusual (another dtype, a Fortran array, a corrupt
file) falls back to `np.load`, so the fast path never changes a result.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 16


def read_bytes(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _CHUNK)
        if len(data) < _CHUNK:
            return data
        parts = [data]
        while chunk := os.read(fd, _CHUNK):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Header:
    dtype: np.dtype
    length: int       # values in the vector
    offset: int       # where the payload starts

    @property
    def nbytes(self) -> int:
        return self.offset + self.length * self.dtype.itemsize


class HeaderCache:
    """Maps raw header bytes to their parsed form; shared by the reader threads."""

    def __init__(self) -> None:
        self._known: dict[bytes, Optional[Header]] = {}
        self._lock = threading.Lock()
        self.typical: Optional[tuple[bytes, int, Header]] = None  # (header bytes, file size, parsed)

    @staticmethod
    def _header_end(data: bytes) -> int:
        if len(data) < 10 or not data.startswith(_MAGIC):
            return -1
        if data[6] == 1:
            return 10 + int.from_bytes(data[8:10], "little")
        return 12 + int.from_bytes(data[8:12], "little")

    def header(self, data: bytes) -> Optional[Header]:
        """The parsed header when this file is a plain numeric vector the fast path can decode."""
        end = self._header_end(data)
        if end < 0 or end > len(data):
            return None
        raw = data[:end]
        if raw in self._known:
            return self._known[raw]
        parsed = self._parse(data, end)
        with self._lock:
            self._known[raw] = parsed
        return parsed

    @staticmethod
    def _parse(data: bytes, end: int) -> Optional[Header]:
        try:
            stream = io.BytesIO(data)
            major, _ = np.lib.format.read_magic(stream)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(stream)
        except Exception:  # noqa: BLE001 - any header problem means "not for the fast path"
            return None
        if dtype.hasobject or dtype.kind not in "fiu" or fortran and len(shape) > 1:
            return None
        if len(shape) == 0 or (len(shape) > 1 and sorted(shape)[:-1] != [1] * (len(shape) - 1)):
            return None
        return Header(dtype=dtype, length=int(np.prod(shape)), offset=end)


def decode_frame(data: bytes, cache: HeaderCache) -> tuple[Optional[np.ndarray], Optional[Header]]:
    """One frame file's bytes -> (1-D vector or None when corrupt, its header when on the fast path)."""
    header = cache.header(data)
    if header is not None and len(data) == header.nbytes:
        return None, header
    return _slow_decode(data), None


def _slow_decode(data: bytes) -> Optional[np.ndarray]:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:  # noqa: BLE001 - corrupt or not a .npy: counted by the caller
        return None
    if array.dtype.kind not in "fiub" or array.ndim == 0:
        return None
    if array.ndim > 1 and sorted(array.shape)[:-1] != [1] * (array.ndim - 1):
        return None
    return array.reshape(-1).astype(np.float32)


def decode_payloads(payloads: list[bytes], header: Header) -> np.ndarray:
    """Frames that share one header -> float32 [n, length] in one frombuffer call."""
    joined = b"".join(p[header.offset:] for p in payloads)
    return np.frombuffer(joined, dtype=header.dtype).reshape(len(payloads), header.length).astype(np.float32)
