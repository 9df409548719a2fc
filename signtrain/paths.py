"""One check for every path a user names (--config, SOURCE, OUT, --model-asset, MODEL, RECORDING,
runs FOLDER): not found, not a regular file (a folder, a device, a FIFO), not a folder, not
readable, not writable - each said as such, with the path and what to do."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional

from signtrain.errors import ConfigError, SigntrainError


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a file"


def _stat(path: Path, what: str, error: type[SigntrainError], hint: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        dangling = " (a link to something that is gone)" if os.path.islink(path) else ""
        raise error(f"{what} {path}: not found{dangling}; {hint}") from None
    except OSError as exc:
        raise error(f"{what} {path}: cannot be examined ({exc.strerror or exc}); {hint}") from None


def readable_file(path: Path, what: str, error: type[SigntrainError] = ConfigError,
                  hint: str = "give an existing file") -> Path:
    """path must be a regular file this process can read."""
    mode = _stat(Path(path), what, error, hint).st_mode
    if not stat.S_ISREG(mode):
        raise error(f"{what} {path}: {_kind(mode)}, not a regular file; {hint}")
    if not os.access(path, os.R_OK):
        raise error(f"{what} {path}: not readable (permission denied); make it readable, or {hint}")
    return Path(path)


def readable_folder(path: Path, what: str, error: type[SigntrainError] = ConfigError,
                    hint: str = "give an existing folder") -> Path:
    mode = _stat(Path(path), what, error, hint).st_mode
    if not stat.S_ISDIR(mode):
        raise error(f"{what} {path}: {_kind(mode)}, not a folder; {hint}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise error(f"{what} {path}: not readable (permission denied); make it readable, or {hint}")
    return Path(path)


def readable(path: Path, what: str, error: type[SigntrainError] = ConfigError,
             hint: str = "give an existing file or folder") -> Path:
    """A regular file or a folder."""
    mode = _stat(Path(path), what, error, hint).st_mode
    if stat.S_ISDIR(mode):
        return readable_folder(path, what, error, hint)
    return readable_file(path, what, error, hint)


def writable_place(path: Path, what: str, error: type[SigntrainError] = ConfigError,
                   hint: str = "choose a writable place") -> Path:
    """path will be written (a file or a folder made there): its nearest existing ancestor must be a
    writable folder, and path itself, where it exists, a file or a folder (never a device or FIFO)."""
    path = Path(path)
    try:
        mode: Optional[int] = os.lstat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise error(f"{what} {path}: {_kind(mode)}; signtrain writes only files and folders: {hint}")
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise error(f"{what} {path}: {parent} is not a folder; {hint}")
    if not os.access(parent, os.W_OK | os.X_OK) or _read_only_fs(parent):
        raise error(f"{what} {path}: {parent} is not writable (read-only or permission denied); {hint}")
    return path


def _read_only_fs(folder: Path) -> bool:
    """os.access says yes to root on a read-only mount (/proc, a read-only bind); statvfs knows."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False
