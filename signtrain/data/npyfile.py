"""Reading many small `.npy` frame files without `np.load`'s per-file overhead, and without
ever hanging or blowing up on what a tree may hold instead of a frame.

A tree of frame files almost always shares one `.npy` header, so each file is read as raw
bytes with `os.read`, its header compared with the ones already parsed, and the payloads of
one sequence are decoded with a single `np.frombuffer`.  Anything unusual is parsed header
first and either decoded or refused with the reason (truncated, not a .npy, a pickled object
array - never unpickled -, another dtype or shape).  Only regular files are read (a FIFO or
a device is named, never opened for reading), and never more than MAX_FILE_BYTES of one.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 16
MAX_FILE_BYTES = 1 << 30  # 1 GiB: far beyond any recording; a larger "frame" is a mistake, not data


class Unreadable(Exception):
    """A file that cannot be a recording, with the reason a person can act on."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str) -> int:
    """A file descriptor on a regular file; anything else is Unreadable with the reason.
    O_NONBLOCK: opening a FIFO must not wait for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Unreadable(_os_reason(exc)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Unreadable(f"not a regular file ({_kind(st.st_mode)})")
    if st.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise Unreadable(f"far too large for a landmark recording ({st.st_size / 2**30:.1f} GiB)")
    return fd


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENXIO:
        return "not a regular file (a socket or device)"
    return exc.strerror or str(exc)


def read_bytes(path: str) -> bytes:
    """The whole file, or Unreadable with the reason."""
    fd = open_regular(path)
    try:
        data = os.read(fd, _CHUNK)
        if len(data) < _CHUNK:
            return data
        parts = [data]
        while chunk := os.read(fd, _CHUNK):
            parts.append(chunk)
        return b"".join(parts)
    except OSError as exc:
        raise Unreadable(_os_reason(exc)) from None
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
    """One frame file's bytes -> (1-D vector, or None on the fast path, whose header is returned).
    Raises Unreadable with the reason for anything that is not one numeric vector."""
    header = cache.header(data)
    if header is not None and len(data) == header.nbytes:
        return None, header
    return decode_array(data, want_vector=True), None


def decode_array(data: bytes, want_vector: bool) -> np.ndarray:
    """A .npy file's bytes -> its numeric array (float32 values kept as found; see to_float32).
    Header first, so every refusal says why; object arrays are never unpickled."""
    if not data:
        raise Unreadable("empty file (0 bytes)")
    if not data.startswith(_MAGIC):
        raise Unreadable("not a .npy file")
    stream = io.BytesIO(data)
    try:
        major, _ = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(stream)
    except Exception:  # noqa: BLE001 - any header damage
        raise Unreadable("truncated or damaged .npy header") from None
    if dtype.hasobject:
        raise Unreadable("a pickled object array (not loaded: unpickling can run code)")
    if dtype.kind not in "fiub":
        raise Unreadable(f"wrong dtype {dtype} (expected numbers)")
    count = int(np.prod(shape)) if shape else 1
    offset = stream.tell()
    if len(data) < offset + count * dtype.itemsize:
        raise Unreadable(f"truncated ({len(data) - offset} of {count * dtype.itemsize} data bytes)")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    array = array.reshape(shape[::-1]).T if fortran and len(shape) > 1 else array.reshape(shape)
    if want_vector:
        if array.ndim == 0:
            raise Unreadable("wrong shape () (a single number, not a frame vector)")
        if array.ndim > 1 and sorted(array.shape)[:-1] != [1] * (array.ndim - 1):
            raise Unreadable(f"wrong shape {tuple(array.shape)} (one frame must be a vector)")
        return array.reshape(-1)
    return array


def to_float32(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 values and a mask of the rows (last axis = values) holding a finite value too large
    for float32 (1e300 would silently become inf)."""
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, by frame
        out = np.asarray(array).astype(np.float32)
    if array.dtype.itemsize <= 4 or array.dtype.kind != "f" or np.isfinite(out).all():
        return out, np.zeros(out.shape[:-1] if out.ndim > 1 else (), bool)
    beyond = np.isfinite(array) & ~np.isfinite(out)
    return out, beyond.any(axis=-1) if out.ndim > 1 else np.asarray(beyond.any())


def decode_payloads(payloads: list[bytes], header: Header) -> tuple[np.ndarray, np.ndarray]:
    """Frames that share one header -> (float32 [n, length] in one frombuffer call, beyond-float32 rows)."""
    joined = b"".join(p[header.offset:] for p in payloads)
    return to_float32(np.frombuffer(joined, dtype=header.dtype).reshape(len(payloads), header.length))
