"""What evaluate, export, info and predict show."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from signtrain.ui.console import _size, percent

MATRIX_MAX_SIGNS = 15  # above this the terminal shows the most confused pairs and points at the PNG


def render_eval_report(report: Any, console: Console, normalize: bool = False) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_row("Model", report.model)
    head.add_row("Data", f"{report.data} — split {report.split}, {report.sequences} sequences")
    head.add_row("Accuracy", Text(percent(report.accuracy), style="bold"))
    head.add_row("Balanced accuracy", percent(report.balanced_accuracy))
    for name, value in report.top_k.items():
        head.add_row(name.replace("_", "-").capitalize() + " accuracy", percent(value))
    for name in ("macro", "weighted"):
        m = getattr(report, name)
        head.add_row(f"{name.capitalize()} P / R / F1",
                     f"{percent(m['precision'])} / {percent(m['recall'])} / {percent(m['f1'])}")
    head.add_row("Throughput", f"{report.sequences_per_second:,.0f} sequences/s")
    console.print(Panel(head, title="Evaluation", expand=False))

    table = Table(title="Per sign (weakest in red)")
    for column in ("sign", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "sign" else "right")
    for row in report.per_sign:
        style = "red" if row["weakest"] else ""
        table.add_row(row["name"], percent(row["precision"]), percent(row["recall"]), percent(row["f1"]),
                      str(row["support"]), style=style)
    console.print(table)

    labels = report.labels
    if len(labels) <= MATRIX_MAX_SIGNS:
        cm = report.normalized_confusion() if normalize else report.confusion_matrix
        matrix = Table(title="Confusion matrix" + (" (row shares)" if normalize else " (counts)"))
        matrix.add_column("true \\ pred")
        for j, name in enumerate(labels):
            matrix.add_column(name[:6], justify="right")
        for i, name in enumerate(labels):
            cells = []
            for j in range(len(labels)):
                value = cm[i][j]
                text = (f"{value:.2f}" if normalize else str(value)) if value else "·"
                cells.append(Text(text, style="bold green" if i == j and value else ("red" if value else "dim")))
            matrix.add_row(name, *cells)
        console.print(matrix)
    else:
        if report.confused_pairs:
            pairs = Table(title="Most confused pairs")
            for column in ("true sign", "predicted as", "times"):
                pairs.add_column(column, justify="right" if column == "times" else "left")
            for p in report.confused_pairs:
                pairs.add_row(p["true"], p["predicted"], str(p["count"]))
            console.print(pairs)
        where = report.files.get("confusion_matrix_png", "confusion_matrix.png beside the report")
        console.print(f"Confusion matrix: {len(labels)} signs are too many for the terminal; see {where} "
                      f"(and report.json)", markup=False, soft_wrap=True)
    if len(labels) > MATRIX_MAX_SIGNS:
        _render_summary_lines(report, console)
        return

    two = Table(title="Per-sign 2×2 matrices")
    two.add_column("sign")
    two.add_column("TN", justify="right")
    two.add_column("FP", justify="right")
    two.add_column("FN", justify="right")
    two.add_column("TP", justify="right")
    for entry in report.per_class_2x2:
        (tn, fp), (fn, tp) = entry["matrix"]
        two.add_row(entry["name"], str(tn), str(fp), str(fn), str(tp))
    console.print(two)

    if report.confused_pairs:
        console.print("Most confused: " + "; ".join(
            f"{p['true']} → {p['predicted']} ×{p['count']}" for p in report.confused_pairs), markup=False)
    _render_summary_lines(report, console)


def _render_summary_lines(report: Any, console: Console) -> None:
    for note in report.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    for name, path in report.files.items():
        console.print(f"{name.replace('_', ' ')}: {path}", markup=False)
    console.print(f"Accuracy: {report.accuracy * 100:.2f}% ({report.sequences} sequences)", markup=False)


def render_export_report(report: Any, console: Console) -> None:
    for note in report.notes:
        console.print(f"note: {note}", markup=False, style="yellow")
    table = Table(title=f"Export → {report.output}")
    for column in ("format", "size", "max |diff|", "top-1", "ms median / p95", "result"):
        table.add_column(column, justify="left" if column in ("format", "result") else "right")
    for e in report.entries:
        if e.passed:
            result = Text("ok", style="bold green")
        elif e.note.startswith("skipped"):
            result = Text("skipped", style="yellow")
        else:
            result = Text("FAILED", style="bold red")
        measured = not math.isnan(e.max_abs_diff)
        name = e.format if e.quantize == "none" else f"{e.format} ({e.quantize})"
        table.add_row(name, _size(e.size_bytes) if e.size_bytes else "—",
                      f"{e.max_abs_diff:.1e}" if measured else "—", percent(e.top1_agreement) if measured else "—",
                      f"{e.latency_median_ms:.2f} / {e.latency_p95_ms:.2f}" if e.passed else "—", result)
    console.print(table)
    console.print(f"Parity: against the Keras model on {report.parity_sequences} real {report.parity_split} "
                  f"sequences; batch-1 latency in each format's own runtime.", markup=False, soft_wrap=True)
    for e in report.entries:
        rule = f"allowed max |diff| ≤ {e.threshold[0]:.0e} and top-1 ≥ {e.threshold[1]:.0%}"
        if e.passed:
            console.print(f"{e.format}: {e.path} ({rule})", markup=False, soft_wrap=True)
        if e.ops:
            builtin = not any(o.lower().startswith("flex") for o in e.ops)
            console.print(f"  ops ({'built-in only' if builtin else 'FLEX OPS PRESENT'}): " + ", ".join(e.ops),
                          markup=False, soft_wrap=True)
        if e.note:
            console.print(Text(f"{e.format}: {e.note}", style="yellow" if e.note.startswith("skipped") else "red"),
                          soft_wrap=True)


def render_info(info: Any, console: Console) -> None:
    """signtrain info: one panel of what the model is, then its exported siblings."""
    grid = Table.grid(padding=(0, 2))
    grid.add_row("Model", f"{info.model} ({info.kind})")
    grid.add_row("Run", f"{info.run_id or '—'} ({info.run or 'files outside a run folder'})"
                 + (f", created {info.created}" if info.created else ""))
    grid.add_row("Checked", "the model, its metadata and normalisation belong together (checksums)" if info.verified
                 else "not verifiable: metadata written before checksums (retrain to get them)")
    signs = info.signs
    grid.add_row("Signs", f"{len(signs)}: {', '.join(signs[:20])}" + (f", … {len(signs) - 20} more" if len(signs) > 20
                                                                        else ""))
    grid.add_row("Input", f"{info.sequence_length} frames × {info.features}, layout {info.layout or 'unknown'}")
    for key, value in info.recipe.items():
        grid.add_row(key.capitalize(), str(value))
    data = info.data
    grid.add_row("Data", f"{data['path']} ({data['format']}, {data['sequences']} sequences, fingerprint "
                 f"{str(data['fingerprint'])[:12]}…)")
    test = info.test
    if test.get("test_accuracy") is not None:
        grid.add_row("Test", f"{percent(test['test_accuracy'])} on {test['test_sequences']} sequences; best epoch "
                     f"{test['best_epoch']} of {test['epochs_run']} by {test['monitor']}, saved weights: "
                     f"{test['weights']}")
    if info.init:
        grid.add_row("Fine-tuned from", f"{info.init['from']} (run {info.init['run_id']})")
    versions = info.versions
    grid.add_row("Versions", ", ".join(f"{k} {v}" for k, v in versions.items()))
    console.print(Panel(grid, title="Model", expand=False))
    if info.exported:
        table = Table(title="Exported from this run")
        for column in ("format", "quantize", "size", "path"):
            table.add_column(column, justify="right" if column == "size" else "left")
        for e in info.exported:
            table.add_row(str(e["format"]), str(e["quantize"]), _size(e["bytes"]) if e["bytes"] else "—", e["path"])
        console.print(table)


def render_prediction(source: str, ranked: list, console: Console) -> None:
    table = Table(title=f"Top {len(ranked)} for {source}")
    table.add_column("#", justify="right")
    table.add_column("sign")
    table.add_column("probability", justify="right")
    for i, (sign, p) in enumerate(ranked, 1):
        table.add_row(str(i), sign, percent(p), style="bold" if i == 1 else "")
    console.print(table)


def render_stream(source: str, result: Any, threshold: float, console: Console) -> None:
    console.print(f"{source}: {result.frames} frames, {result.steps} windows, threshold {percent(threshold)}",
                  markup=False)
    for e in result.emissions:
        render_emission(e, console)
    render_sentence(result, console)


def render_emission(e: Any, console: Console) -> None:
    when = f"  {e.start_s:>6.2f}–{e.end_s:<6.2f} s" if e.start_s is not None else ""
    console.print(f"  frames {e.start_frame:>5}–{e.frame:<5}{when} {e.sign}  ({percent(e.probability)})",
                  markup=False)


def render_sentence_report(report: Any, console: Console) -> None:
    """evaluate --sentences: one row per pause kind and length."""
    from rich import box

    rows = [r.to_dict() for r in report.rows]
    # the title on its own line: as a table title it widens every column past an 80-column terminal
    console.print(f"{rows[0]['sentences'] if rows else 0} sentences a row of {report.recordings} held-out recordings "
                  f"(window {report.settings['span']} frames at {report.fps:g}/s)", style="bold", markup=False)
    table = Table(box=box.SIMPLE, padding=(0, 0, 0, 1), pad_edge=False, show_edge=False)
    for column in ("pause", "WER", "alone", "right", "missed", "again", "twice", "quiet", "delay"):
        table.add_column(column, justify="left" if column == "pause" else "right", no_wrap=True)
    for row in rows:
        pause = "none" if row["kind"] == "none" else f"{row['pause_s']:g} s {row['kind']}"
        twice = f"{row['repeats_said']}/{row['repeats_asked']}" if row["repeats_asked"] else "—"
        table.add_row(pause, percent(row["wer"]), percent(row["wer_alone"]), percent(row["sentence_accuracy"]),
                      str(row["missed"]), str(row["repeated"]), twice, percent(row["rest_clean"]),
                      f"{row['delay_median_s']:.2f} s")
    console.print(table)
    console.print("WER: signs wrong, missed or added ÷ signs signed; alone: those signs' recordings the model "
                  "misreads even on their own (the model's share of the WER, not the live path's); right: sentences "
                  "said exactly; again: a sign said twice for once; twice: signs signed twice said twice; quiet: "
                  "sentences with nothing said in the 3 s rest after them; delay: median, last frame to emission",
                  style="dim", markup=False)


def render_sentence(result: Any, console: Console) -> None:
    if result.processed_fps:
        console.print(f"{result.frames} frames at {result.processed_fps:g} frames/s", markup=False, style="dim")
    if result.emissions:
        console.print(Text(f"Sentence: {result.sentence}", style="bold"))
    else:
        console.print(Text(f"No sign held above the threshold in {result.frames} frames.", style="yellow"))
