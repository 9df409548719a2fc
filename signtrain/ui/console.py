"""Console helpers every renderer shares: consoles, error and note lines, JSON, percentages, phases."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Optional

from rich.console import Console
from rich.text import Text

from signtrain.progress import Listener

MAX_ISSUES_SHOWN = 8


def make_console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_error(message: str) -> None:
    make_console(stderr=True).print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def print_note(message: str) -> None:
    make_console(stderr=True).print(Text(message, style="yellow"), soft_wrap=True)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def percent(value: Optional[float]) -> str:
    """A ratio as a percentage clamped to [0, 100]; NaN/None shown as an em dash."""
    if value is None or not isinstance(value, (int, float)) or math.isnan(value):
        return "—"
    return f"{min(max(float(value), 0.0), 1.0) * 100:.1f}%"


def _level_style(level: str) -> str:
    return {"error": "bold red", "warning": "yellow", "info": "dim"}.get(level, "")


def _verdict_text(errors: int, warnings: int, verdict: str) -> Text:
    style = "bold red" if errors else ("yellow" if warnings else "bold green")
    return Text(f"Verdict: {verdict}", style=style)


def render_issues(issues: list, console: Console, count: Any = None) -> None:
    """Issues grouped by kind, the first few named with their reason; count(kind) gives exact totals."""
    by_kind: dict[tuple[str, str], list] = {}
    for issue in issues:
        by_kind.setdefault((issue.level, issue.kind), []).append(issue)
    for (level, kind), group in by_kind.items():
        total = count(kind) if count else len(group)
        console.print(Text(f"{level}: {kind} ×{total}", style=_level_style(level)))
        for issue in group[:MAX_ISSUES_SHOWN]:
            console.print(f"  {issue.path}: {issue.message}", markup=False, soft_wrap=True)
        if total > MAX_ISSUES_SHOWN:
            console.print(f"  … and {total - min(len(group), MAX_ISSUES_SHOWN)} more", style="dim")


def render_account(entries: list, console: Console) -> None:
    """The data account: every defect kind found, its count and what the data.* policies did."""
    for e in entries:
        console.print(f"  {e.count:,} {e.what}: {e.action}", markup=False, soft_wrap=True)


def _loss(value: Any) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    return f"{value:.4f}"


class Phases(Listener):
    """A visible status for each phase of a command: a spinner on a terminal, one plain line in a pipe."""

    def __init__(self, console: Console, live: Optional[bool] = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self._status: Any = None

    def on_phase(self, text: str) -> None:
        self.stop()
        if self.live:
            self._status = self.console.status(f"{text}…")
            self._status.start()
        else:
            self.console.print(f"{text}…", markup=False, highlight=False)

    __call__ = on_phase

    def on_message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __enter__(self) -> "Phases":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()  # also on an error: a spinner must not outlive its command


def format_metric(name: str, value: Optional[float]) -> str:
    return percent(value) if "accuracy" in name else _loss(value)


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"
