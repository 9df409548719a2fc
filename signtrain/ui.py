"""Everything signtrain shows a person; the only module that imports rich."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Optional

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

MAX_ISSUES_SHOWN = 8


def make_console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_error(message: str) -> None:
    make_console(stderr=True).print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


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


def render_data_report(report: Any, console: Console) -> None:
    """report: validation.DataReport."""
    s = report.summary
    parts = ", ".join(s["body_parts"]) or "unknown body parts"
    head = Table.grid(padding=(0, 2))
    head.add_row("Data", f"{s['path']} ({s['format']})")
    head.add_row("Signs / sequences", f"{s['signs']} / {s['sequences']}")
    head.add_row("Frames per sequence", f"min {s['frames_min']}, median {s['frames_median']:g}, max {s['frames_max']}"
                 f" (model reads {s['sequence_length']})")
    head.add_row("Features per frame", f"{s['feature_length']} — layout {s['layout']}: {parts}")
    hist = ", ".join(f"{k}: {v}" for k, v in sorted(report.feature_histogram.items()))
    head.add_row("Vector lengths", hist)
    head.add_row("Frames", f"{s['missing_frames']} missing, {s['zero_frames']} all-zero, "
                 f"{s['corrupt_frames']} corrupt, {s['bad_length_frames']} wrong length, "
                 f"{s['nonfinite_frames']} NaN/inf")
    head.add_row("Fit to length", f"{s['padded_frames']} frames padded, {s['truncated_frames']} truncated")
    if s["hand_absent"]:
        head.add_row("Hand absent", ", ".join(f"{k}: {v} sequences" for k, v in s["hand_absent"].items()))
    ratio = s["imbalance_ratio"]
    head.add_row("Class balance", f"largest/smallest = {ratio:.2f}" if ratio else "a sign has no sequence")
    head.add_row("Duplicates", str(s["duplicates"]))
    console.print(Panel(head, title="Dataset", expand=False))

    table = Table(title="Per sign", show_lines=False)
    for column, justify in (("sign", "left"), ("seqs", "right"), ("frames min/med/max", "right"),
                            ("missing", "right"), ("all-zero", "right"), ("padded", "right"),
                            ("hand absent", "left")):
        table.add_column(column, justify=justify)
    for row in report.per_sign:
        absent = ", ".join(f"{k.replace('_hand', '')} {v}" for k, v in row["hand_absent"].items() if v)
        table.add_row(row["name"], str(row["sequences"]),
                      f"{row['frames_min']}/{row['frames_median']:g}/{row['frames_max']}",
                      str(row["missing_frames"]), str(row["zero_frames"]), str(row["padded_frames"]), absent)
    console.print(table)
    render_issues(report.issues, console)
    console.print(_verdict_text(report.errors, report.warnings, report.verdict()))


def render_issues(issues: list, console: Console) -> None:
    by_kind: dict[tuple[str, str], list] = {}
    for issue in issues:
        by_kind.setdefault((issue.level, issue.kind), []).append(issue)
    for (level, kind), group in by_kind.items():
        console.print(Text(f"{level}: {kind} ×{len(group)}", style=_level_style(level)))
        for issue in group[:MAX_ISSUES_SHOWN]:
            console.print(f"  {issue.path}: {issue.message}", markup=False)
        if len(group) > MAX_ISSUES_SHOWN:
            console.print(f"  … and {len(group) - MAX_ISSUES_SHOWN} more", style="dim")


def render_example(summary: Any, console: Console) -> None:
    console.print(
        f"Wrote {summary.sequences} sequences of {len(summary.signs)} signs ({', '.join(summary.signs)}) "
        f"to {summary.root}: {summary.frames_written} frame files; {summary.frames_dropped} frames left out "
        f"and {summary.zero_frames} all-zero, as a webcam recording would have.", markup=False)
