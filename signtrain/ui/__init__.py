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
MATRIX_MAX_SIGNS = 15  # above this the terminal shows the most confused pairs and points at the PNG


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


# ---------------------------------------------------------------- training


def _loss(value: Any) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    return f"{value:.4f}"


def render_dataset_panel(summary: dict, console: Console) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("Data", f"{summary['path']} ({summary['format']}"
                 f"{', from the cache' if summary['from_cache'] else ''})")
    signs = ", ".join(f"{name} {n}" for name, n in list(summary["per_sign"].items())[:12])
    more = summary["signs"] - 12
    grid.add_row("Signs", f"{summary['signs']}: {signs}" + (f", … {more} more" if more > 0 else ""))
    grid.add_row("Sequences", f"{summary['sequences']} = train {summary['train']} / validation {summary['val']}"
                 f" / test {summary['test']}")
    grid.add_row("Shape", f"{summary['sequence_length']} frames × {summary['features']} features, "
                 f"layout {summary['layout']}")
    grid.add_row("Class balance", f"largest/smallest = {summary['imbalance_ratio']:.2f}")
    for k, entry in enumerate(summary.get("account", {}).values()):
        grid.add_row("Data account" if k == 0 else "", f"{entry['count']:,} {entry['what']}: {entry['action']}")
    if not summary.get("account"):
        grid.add_row("Data account", "clean: no frame missing, unreadable, padded or cut")
    console.print(Panel(grid, title="Dataset", expand=False))
    for issue in summary.get("named", []):
        console.print(f"  {issue['path']}: {issue['message']}", markup=False, style="dim", soft_wrap=True)


class Phases:
    """A visible status for each phase of a command: a spinner on a terminal, one plain line in a pipe."""

    def __init__(self, console: Console, live: Optional[bool] = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self._status: Any = None

    def __call__(self, text: str) -> None:
        self.stop()
        if self.live:
            self._status = self.console.status(f"{text}…")
            self._status.start()
        else:
            self.console.print(f"{text}…", markup=False, highlight=False)

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


class TrainingDisplay:
    """Live phase, epoch and batch progress and metrics; one plain line each when not on a terminal."""

    def __init__(self, console: Console, live: Optional[bool] = None, clock: Any = None) -> None:
        import time

        self.console = console
        self.live = console.is_terminal if live is None else live
        self.clock = clock or time.monotonic
        self.state: Any = None
        self.monitor = "val_accuracy"
        self.epochs = 0
        self.batch_logs: dict = {}
        self.epoch_logs: dict = {}
        self.compiling = False
        self._live: Any = None
        self._progress: Any = None
        self.phases = Phases(console, self.live)

    # -- listener interface
    def on_phase(self, text: str) -> None:
        self.phases(text)

    def _end_status(self) -> None:
        self.phases.stop()

    def on_data(self, summary: dict) -> None:
        self._end_status()
        render_dataset_panel(summary, self.console)

    def on_train_begin(self, info: dict) -> None:
        self._end_status()
        self.epochs, self.steps, self._start_epoch = info["epochs"], info["steps"], info["initial_epoch"]
        self.monitor = info.get("monitor", self.monitor)
        self.compiling = True
        self._t0 = self.clock()
        if not self.live:
            self.console.print(f"compiling and running the first step; then one line per epoch (best = "
                               f"{self.monitor})", markup=False, highlight=False)
            return
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                  console=self.console, auto_refresh=False)
        self._epoch_task = self._progress.add_task("epoch", total=self.epochs, completed=self._start_epoch)
        self._batch_task = self._progress.add_task("batch", total=self.steps)
        self._live = Live(self._renderable(), console=self.console, refresh_per_second=4,
                          get_renderable=self._renderable, transient=False)
        self._live.start()

    def on_epoch_begin(self, epoch: int) -> None:
        if self._progress is not None:
            self._progress.reset(self._batch_task, total=self.steps)

    def on_batch_end(self, batch: int, logs: dict) -> None:
        self.batch_logs = logs
        self.compiling = False
        if self._progress is not None:
            self._progress.update(self._batch_task, completed=batch + 1)

    def on_epoch_end(self, epoch: int, logs: dict, state: Any = None) -> None:
        self.epoch_logs = logs
        self.state = state
        if self._progress is not None:
            self._progress.update(self._epoch_task, completed=epoch + 1)
        else:
            self.console.print(f"epoch {epoch + 1}/{self.epochs}  {self.metrics_line(logs)}  "
                               f"elapsed {self.clock() - self._t0:.1f}s", markup=False, highlight=False,
                               soft_wrap=True)

    def on_train_end(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._end_status()

    def on_message(self, text: str) -> None:
        self.console.print(Text(text, style="bold yellow"))

    def on_close(self) -> None:
        self.on_train_end()

    # -- rendering
    def metrics_line(self, logs: dict) -> str:
        parts = [f"loss {_loss(logs.get('loss'))}", f"acc {percent(logs.get('accuracy'))}"]
        if "val_loss" in logs:
            parts += [f"val_loss {_loss(logs.get('val_loss'))}", f"val_acc {percent(logs.get('val_accuracy'))}"]
        if "learning_rate" in logs:
            parts.append(f"lr {logs['learning_rate']:.2e}")
        state = self.state
        if state is not None and state.best_epoch:
            parts.append(f"best {state.monitor} {format_metric(state.monitor, state.best)} (epoch {state.best_epoch})")
        else:
            parts.append(f"best {self.monitor} —")
        return "  ".join(parts)

    def _renderable(self) -> Any:
        from rich.console import Group

        logs = {**self.epoch_logs, **{k: v for k, v in self.batch_logs.items() if k in ("loss", "accuracy")}}
        line = "compiling the model and running the first step…" if self.compiling else self.metrics_line(logs)
        return Group(self._progress, Text(line))


def render_train_summary(result: Any, console: Console) -> None:
    grid = Table.grid(padding=(0, 2))
    state = result.state
    if result.interrupted:
        grid.add_row(Text("Stopped", style="bold yellow"), f"by Ctrl-C after {result.epochs_run} finished epochs")
    grid.add_row("Run", f"{result.run_id} ({result.run_dir})")
    best = (f"epoch {state.best_epoch} of {result.epochs_run}: {state.monitor} "
            f"{format_metric(state.monitor, state.best)}") if state.best_epoch else f"— ({state.monitor} never measured)"
    grid.add_row("Best", best)
    grid.add_row("Saved weights", f"the best epoch's (epoch {state.best_epoch})" if result.weights == "best"
                 else f"the last epoch's (epoch {result.epochs_run}; train.restore_best_weights is false)")
    grid.add_row("Test accuracy", percent(result.test_accuracy) if result.test_accuracy is not None
                 else "— (split.test_fraction is 0)")
    grid.add_row("Duration", f"{result.train_seconds:.1f} s")
    p = result.paths
    model_line = str(result.saved_path) if result.saved_as == "full" else (
        f"{result.saved_path} (weights only: full save failed: {result.save_error})")
    for name, path in (("Model", model_line), ("Best checkpoint", p.checkpoint), ("Normalisation", p.preprocess),
                       ("Metadata", p.metadata), ("Metrics", p.metrics), ("Config", p.config), ("Curves", p.curves),
                       ("History", p.history), ("TensorBoard", p.log_dir / "tensorboard")):
        grid.add_row(name, str(path))
    for note in result.notes:
        grid.add_row(Text("Note", style="yellow"), note)
    if state.save_error:
        grid.add_row(Text("Note", style="yellow"), f"a per-epoch write failed ({state.save_error})")
    console.print(Panel(grid, title="Training done" if not result.interrupted else "Training stopped",
                        expand=False))
    if result.test_accuracy is not None:
        console.print(f"Test accuracy: {result.test_accuracy * 100:.2f}% "
                      f"({result.metrics.get('test_sequences')} sequences)", markup=False)


def render_runs(runs: list, out: str, console: Console) -> None:
    """signtrain runs: one row per run (its id is its date and time, and its folder name), the current one marked."""
    import os

    if not runs:
        console.print(f"No runs in {out}.", markup=False)
        return
    table = Table(title=f"Runs in {out}")
    for column in ("", "id", "status", "data", "signs", "epochs", "test acc"):
        table.add_column(column, justify="right" if column in ("signs", "epochs", "test acc") else "left",
                         no_wrap=column in ("id", "status"))
    for run in runs:
        r = run.to_dict()
        data = os.path.basename(str(r["data"]).rstrip("/")) if r["data"] else "—"
        table.add_row("*" if r["current"] else "", r["id"], r["status"], data, str(r["signs"] or "—"),
                      str(r["epochs"] or 0), percent(r["test_accuracy"]), style="bold" if r["current"] else "")
    console.print(table)
    console.print(f"Each run is the folder {os.path.join(out, 'runs', '<id>')}; * = the run {out} shows (the files at "
                  f"its top level); unfinished runs continue with signtrain train --resume", markup=False,
                  style="dim", soft_wrap=True)


# ---------------------------------------------------------------- evaluation


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


# ---------------------------------------------------------------- export and predict


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def render_export_report(report: Any, console: Console) -> None:
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


def render_info(info: dict, console: Console) -> None:
    """signtrain info: one panel of what the model is, then its exported siblings."""
    grid = Table.grid(padding=(0, 2))
    grid.add_row("Model", f"{info['model']} ({info['kind']})")
    grid.add_row("Run", f"{info['run_id'] or '—'} ({info['run'] or 'files outside a run folder'})"
                 + (f", created {info['created']}" if info["created"] else ""))
    grid.add_row("Checked", "the model, its metadata and normalisation belong together (checksums)" if info["verified"]
                 else "not verifiable: metadata written before checksums (retrain to get them)")
    signs = info["signs"]
    grid.add_row("Signs", f"{len(signs)}: {', '.join(signs[:20])}" + (f", … {len(signs) - 20} more" if len(signs) > 20
                                                                        else ""))
    grid.add_row("Input", f"{info['sequence_length']} frames × {info['features']}, layout {info['layout'] or 'unknown'}")
    for key, value in info["recipe"].items():
        grid.add_row(key.capitalize(), str(value))
    data = info["data"]
    grid.add_row("Data", f"{data['path']} ({data['format']}, {data['sequences']} sequences, fingerprint "
                 f"{str(data['fingerprint'])[:12]}…)")
    test = info["test"]
    if test.get("test_accuracy") is not None:
        grid.add_row("Test", f"{percent(test['test_accuracy'])} on {test['test_sequences']} sequences; best epoch "
                     f"{test['best_epoch']} of {test['epochs_run']} by {test['monitor']}, saved weights: "
                     f"{test['weights']}")
    if info.get("init"):
        grid.add_row("Fine-tuned from", f"{info['init']['from']} (run {info['init']['run_id']})")
    versions = info["versions"]
    grid.add_row("Versions", ", ".join(f"{k} {v}" for k, v in versions.items()))
    console.print(Panel(grid, title="Model", expand=False))
    if info["exported"]:
        table = Table(title="Exported from this run")
        for column in ("format", "quantize", "size", "path"):
            table.add_column(column, justify="right" if column == "size" else "left")
        for e in info["exported"]:
            table.add_row(str(e["format"]), str(e["quantize"]), _size(e["bytes"]) if e["bytes"] else "—", e["path"])
        console.print(table)


def render_keys(keys: list, console: Console) -> None:
    """signtrain config keys: every key, its type, default, allowed values and meaning (readable at any width)."""
    section = ""
    for k in keys:
        if k.key.split(".")[0] != section:
            section = k.key.split(".")[0]
            console.print(Text(f"{section}:", style="bold"))
        allowed = f"; {k.allowed}" if k.allowed else ""
        console.print(Text.assemble(("  " + k.key, "cyan"), f"  {k.type} = {json.dumps(k.default)}{allowed}"))
        console.print(f"      {k.help}", markup=False, soft_wrap=True, style="dim")
    console.print("Change any key with --set KEY=VALUE, or in a YAML file given to --config.", markup=False)


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


def render_sentence(result: Any, console: Console) -> None:
    if result.emissions:
        console.print(Text(f"Sentence: {result.sentence}", style="bold"))
    else:
        console.print(Text(f"No sign held above the threshold in {result.frames} frames.", style="yellow"))


# ---------------------------------------------------------------- signtrain extract


def _detections(report: Any) -> str:
    d = report.detected
    return f"pose {d['pose']}, face {d['face']}, left hand {d['left_hand']}, right hand {d['right_hand']}"


class ExtractDisplay:
    """Videos and frames per second with an ETA (a progress bar on a terminal, a line per video in a
    pipe), and one line per finished video with what MediaPipe detected."""

    def __init__(self, console: Console, live: Optional[bool] = None, clock: Any = None) -> None:
        import time

        self.console = console
        self.live = console.is_terminal if live is None else live
        self.clock = clock or time.monotonic
        self.videos = self.frames = self.frames_total = self.done = 0
        self.started = 0.0
        self._progress: Any = None
        self._task: Any = None

    def on_start(self, jobs: list, skipped: list) -> None:
        self.videos, self.started = len(jobs), self.clock()
        self.frames_total = sum(job.estimate for job in jobs)
        if skipped:
            self.console.print(f"{len(skipped)} video{'s' * (len(skipped) != 1)} already extracted by an earlier "
                               f"run: skipped", markup=False)
        if not jobs:
            return
        about = f" (about {self.frames_total} frames)" if self.frames_total else ""
        self.console.print(f"extracting {len(jobs)} video{'s' * (len(jobs) != 1)}{about}…", markup=False)
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.fields[videos]}"), BarColumn(),
                                      TextColumn("{task.completed:.0f}/{task.total:.0f} frames"),
                                      TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                      console=self.console, transient=True)
            self._task = self._progress.add_task("extract", total=max(self.frames_total, 1),
                                                 videos=self._videos_text(), rate="")
            self._progress.start()

    def _videos_text(self) -> str:
        return f"videos {self.done}/{self.videos}"

    def rate(self) -> str:
        elapsed = self.clock() - self.started
        return f"{self.frames / elapsed:.1f} frames/s" if elapsed > 0 and self.frames else ""

    def eta(self) -> str:
        elapsed = self.clock() - self.started
        if not self.frames or self.frames_total <= self.frames:
            return ""
        return f"ETA {int((self.frames_total - self.frames) * elapsed / self.frames)} s"

    def on_frames(self, frames: int) -> None:
        self.frames += frames
        if self._progress is not None:
            self._progress.update(self._task, completed=self.frames, rate=self.rate(),
                                  total=max(self.frames_total, self.frames))

    def on_video(self, report: Any) -> None:
        self.done += 1
        where = f"{report.sign}/{report.sequence}"
        if report.status == "extracted":
            line = Text(f"  ✓ {where}  {report.video}: {report.frames_written} frames; {_detections(report)}")
        else:
            line = Text(f"  ✗ {report.video}: {report.reason}", style="red")
        if self._progress is not None:
            self._progress.update(self._task, videos=self._videos_text())
            self._progress.console.print(line)
        else:
            facts = ", ".join(part for part in (self._videos_text(), self.rate(), self.eta()) if part)
            self.console.print(line + Text(f"   [{facts}]", style="dim"), soft_wrap=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def render_extract_report(report: Any, console: Console) -> None:
    extracted = [v for v in report.videos if v.status == "extracted"]
    if extracted:
        table = Table(title=f"Extracted into {report.out} ({report.settings['layout']}, "
                            f"{report.settings['values_per_frame']} values per frame)")
        for name, justify in (("recording", "left"), ("video", "left"), ("frames", "right"), ("pose", "right"),
                              ("face", "right"), ("left hand", "right"), ("right hand", "right")):
            table.add_column(name, justify=justify)
        for v in extracted:
            d = v.detected
            table.add_row(f"{v.sign}/{v.sequence}", v.video, str(v.frames_written),
                          *(f"{d[p]}/{v.frames_read}" for p in ("pose", "face", "left_hand", "right_hand")))
        console.print(table)
    failed = [v for v in report.videos if v.status == "failed"]
    for v in failed:
        console.print(Text(f"failed: {v.video}: {v.reason}", style="red"), soft_wrap=True)
    if report.ignored:
        console.print(f"{len(report.ignored)} file{'s' * (len(report.ignored) != 1)} that are not videos left out, "
                      f"e.g. {report.ignored[0]}", markup=False, style="dim")
    console.print(
        f"{len(extracted)} extracted, {report.count('skipped')} already done, {len(failed)} failed; "
        f"{report.frames_read} frames in {report.seconds:.1f} s = {report.frames_per_second:.1f} frames/s with "
        f"{report.workers} worker{'s' * (report.workers != 1)}", markup=False,
        style="bold red" if failed else "bold")


# ---------------------------------------------------------------- signtrain train --folds


def render_fold_start(repeat: int, fold: int, folds: int, repeats: int, console: Console) -> None:
    if repeat == repeats:
        title = "final model: trained on all the data"
    else:
        title = f"fold {fold + 1} of {folds}" + (f", repeat {repeat + 1} of {repeats}" if repeats > 1 else "")
    console.rule(title)


def render_fold_result(outcome: Any, console: Console) -> None:
    console.print(f"fold {outcome.fold}" + (f" (repeat {outcome.repeat})" if outcome.repeat > 1 else "")
                  + f": accuracy {percent(outcome.accuracy)}, macro-F1 {percent(outcome.macro_f1)} on "
                  f"{outcome.test_sequences} held-out recordings ({outcome.seconds:.0f} s, run {outcome.run_id})",
                  markup=False)


def render_crossval(result: Any, console: Console) -> None:
    table = Table(title=f"{result.folds}-fold cross-validation" + (f" × {result.repeats}" if result.repeats > 1
                                                                   else "")
                  + (" (whole signers per fold)" if result.grouped else ""))
    for name, justify in (("repeat", "right"), ("fold", "right"), ("accuracy", "right"), ("macro-F1", "right"),
                          ("test", "right"), ("run", "left")):
        table.add_column(name, justify=justify)
    for r in result.results:
        table.add_row(str(r.repeat), str(r.fold), percent(r.accuracy), percent(r.macro_f1), str(r.test_sequences),
                      r.run_id)
    (acc, acc_sd), (f1, f1_sd) = result.stat("accuracy"), result.stat("macro_f1")
    table.add_row("", "mean ± std", f"{acc * 100:.1f} ± {acc_sd * 100:.1f}", f"{f1 * 100:.1f} ± {f1_sd * 100:.1f}",
                  "", "", style="bold")
    console.print(table)
    kept = ("trained on all the data" if result.final == "all"
            else f"the best fold's ({percent(result.final_accuracy)} on its own fold: an optimistic figure)")
    console.print(f"Kept model: run {result.final_run}, {kept}; quote the cross-validated "
                  f"{acc * 100:.1f} ± {acc_sd * 100:.1f} % (standard error "
                  f"{result.standard_error('accuracy') * 100:.1f}). Summary: {result.path}", markup=False)
