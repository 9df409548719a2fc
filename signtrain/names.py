"""One rule for names that become paths or labels: sign names (from folders, file names, --sign,
train.csv, CSV and parquet trees), run names and output file names.

A name is refused when it is empty, `.` or `..`, starts with a dot (hidden, or a relative step),
holds a path separator or a NUL, or holds a control character (a newline or a tab would split a
labels.txt line and shift every label after it).  Every reader and writer asks `problem(name)`;
validate-data names each offending folder or row, and every command refuses what it would
otherwise misplace.
"""

from __future__ import annotations

import unicodedata
from typing import Optional


def problem(name: object) -> Optional[str]:
    """Why `name` cannot be a sign, run or file name, or None when it can."""
    if not isinstance(name, str) or not name:
        return "it is empty"
    if "/" in name or "\\" in name:
        return "it holds a path separator"
    if name in (".", ".."):
        return f"{name!r} is a step in a path, not a name"
    if name.startswith("."):
        return "it starts with a dot (a hidden or relative name)"
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")]  # newline, tab, NUL, U+2028
    if bad:
        return f"it holds the control character {bad[0]!r}"
    return None


def is_plain(name: object) -> bool:
    return problem(name) is None
