"""The last-resort guard's record: an unexpected exception becomes one line for the user and a
crash log with the traceback for the report.  Every known failure has its own message; this is
only the net under them."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Optional

from signtrain import __version__


def crash_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "signtrain" / "crash"


def write_crash_log(exc: BaseException, command: str) -> Optional[Path]:
    """The traceback and the facts a bug report needs; None when no folder takes it."""
    text = (f"signtrain {__version__}, python {platform.python_version()}, {platform.platform()}\n"
            f"command: {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc)))
    for folder in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"signtrain-{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def one_line(exc: BaseException, command: str, log: Optional[Path]) -> str:
    """What failed, the file involved when the exception names one, and where the traceback is."""
    where = f" ({exc.filename})" if isinstance(exc, OSError) and getattr(exc, "filename", None) else ""
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        reason = f"{exc.strerror}{where}"
        where = ""
    saved = f"; the traceback is in {log}" if log else ""
    return f"{command} failed unexpectedly{where}: {reason}{saved} (please report it with that file)"
