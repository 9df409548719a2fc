"""What validate-data, convert and example-data show."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from signtrain.ui.console import _verdict_text, render_account, render_issues


def render_data_report(report: Any, console: Console) -> None:
    """report: validation.DataReport."""
    s = report.summary
    parts = ", ".join(s["body_parts"]) or "unknown body parts"
    head = Table.grid(padding=(0, 2))
    head.add_row("Data", f"{s['path']} ({s['format']}{', from the cache' if s['from_cache'] else ''})")
    head.add_row("Signs / sequences", f"{s['signs']} / {s['sequences']}")
    head.add_row("Frames per sequence", f"min {s['frames_min']}, median {s['frames_median']:g}, max {s['frames_max']}"
                 f" (model reads {s['sequence_length']})")
    head.add_row("Features per frame", f"{s['feature_length']} — layout {s['layout']}: {parts}")
    hist = ", ".join(f"{k}: {v}" for k, v in sorted(report.feature_histogram.items()))
    head.add_row("Vector lengths", hist)
    head.add_row("Frames", f"{s['missing_frames']} missing, {s['zero_frames']} all-zero, "
                 f"{s['corrupt_frames']} corrupt, {s['bad_length_frames']} wrong length, "
                 f"{s['nonfinite_frames']} NaN/inf")
    if s["nan_missing_frames"] or s["padded_vectors"]:
        head.add_row("Not detected", f"{s['nan_missing_frames']} frames with NaN landmarks set to 0, "
                     f"{s['padded_vectors']} short rows padded with 0")
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
    render_issues(report.issues, console, report.count)
    if report.refusal:
        console.print(Text(f"train would stop here: {report.refusal}", style="bold red"), soft_wrap=True)
    console.print(_verdict_text(report.errors, report.warnings, report.verdict()))


def render_convert(report: Any, console: Console) -> None:
    what = "one .npz array file" if report.kind == "npz" else "an MP_Data tree"
    console.print(f"Wrote {report.sequences} sequences of {report.signs} signs ({report.source_format}) as {what} to "
                  f"{report.destination}: {report.frames:,} frames.", markup=False, soft_wrap=True)
    if report.account:
        console.print("What the data.* policies did on the way:", markup=False)
        render_account(report.account, console)


def render_example(summary: Any, console: Console) -> None:
    console.print(
        f"Wrote {summary.sequences} sequences of {len(summary.signs)} signs ({', '.join(summary.signs)}) "
        f"to {summary.root}: {summary.frames_written} frame files; {summary.frames_dropped} frames left out "
        f"and {summary.zero_frames} all-zero, as a webcam recording would have.", markup=False)
