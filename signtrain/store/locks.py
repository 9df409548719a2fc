"""The lock on a folder signtrain writes into: exclusive, non-blocking, released by the kernel when its
holder exits or is killed (flock), opened without following a link."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from signtrain.errors import RunError
from signtrain.store.files import read_json

LOCK = ".lock"


def lock_holder(out: Path) -> Optional[dict]:
    """Who holds out/.lock now ({'pid', 'run'}), or None when nobody does."""
    path = out / LOCK
    if not path.is_file():
        return None
    try:
        import fcntl
    except ImportError:  # no flock (Windows): trust the pid file
        return read_json(path)
    try:
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return read_json(path) or {"pid": "?"}
            fcntl.flock(fh, fcntl.LOCK_UN)
            return None
    except OSError:
        return None


class Lock:
    """An exclusive, non-blocking lock on an output folder.  flock: released by the kernel when
    the holder exits or is killed, so a dead training never leaves it stuck."""

    def __init__(self, out: Path, run_id: str, busy: Optional[str] = None) -> None:
        self.path, self.run_id, self._fh = out / LOCK, run_id, None
        self.busy = busy or f"{out} is being written by another signtrain train"

    def acquire(self) -> None:
        try:  # never through a link: a planted .lock must not redirect the write
            fh = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666), "r+")
        except OSError as exc:
            raise RunError(f"{self.path}: cannot open the lock file ({exc.strerror or exc}); "
                           f"{'remove the link there' if self.path.is_symlink() else 'make the folder writable'}"
                           ) from None
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:
            pass
        except OSError:
            fh.close()
            holder = read_json(self.path) or {}
            raise RunError(f"{self.busy} (pid {holder.get('pid', '?')}, {holder.get('run', '?')}); wait for it to "
                           f"finish, or write into another folder") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "run": self.run_id}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None


class FolderLock:
    """An exclusive, non-blocking flock on a folder itself: nothing is written into the folder (an export
    folder holds only what was exported)."""

    def __init__(self, folder: Path, busy: str, wait: float = 0.0) -> None:
        self.folder, self.busy, self.wait, self._fd = Path(folder), busy, wait, None

    def __enter__(self) -> "FolderLock":
        import time

        fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        deadline = time.monotonic() + self.wait
        while True:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except ImportError:
                break
            except OSError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                raise RunError(f"{self.busy}; wait for it to finish, or write into another folder") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
