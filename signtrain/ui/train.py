"""What train shows: the dataset panel, the live training display, the summary, runs and cross-validation."""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from signtrain.progress import Listener, TrainBegin
from signtrain.ui.console import Phases, _loss, format_metric, percent


def render_dataset_panel(summary: Any, console: Console) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("Data", f"{summary.path} ({summary.format}"
                 f"{', from the cache' if summary.from_cache else ''})")
    signs = ", ".join(f"{name} {n}" for name, n in list(summary.per_sign.items())[:12])
    more = summary.signs - 12
    grid.add_row("Signs", f"{summary.signs}: {signs}" + (f", … {more} more" if more > 0 else ""))
    grid.add_row("Sequences", f"{summary.sequences} = train {summary.train} / validation {summary.val}"
                 f" / test {summary.test}")
    grid.add_row("Shape", f"{summary.sequence_length} frames × {summary.features} features, "
                 f"layout {summary.layout}")
    grid.add_row("Class balance", f"largest/smallest = {summary.imbalance_ratio:.2f}")
    for k, entry in enumerate(summary.account.values()):
        grid.add_row("Data account" if k == 0 else "", f"{entry['count']:,} {entry['what']}: {entry['action']}")
    if not summary.account:
        grid.add_row("Data account", "clean: no frame missing, unreadable, padded or cut")
    console.print(Panel(grid, title="Dataset", expand=False))
    for issue in summary.named:
        console.print(f"  {issue['path']}: {issue['message']}", markup=False, style="dim", soft_wrap=True)


class TrainingDisplay(Listener):
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

    def on_data(self, summary: Any) -> None:
        self._end_status()
        render_dataset_panel(summary, self.console)

    def on_train_begin(self, begin: TrainBegin) -> None:
        self._end_status()
        self.epochs, self.steps, self._start_epoch = begin.epochs, begin.steps, begin.initial_epoch
        self.monitor = begin.monitor
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


class FoldDisplay(Listener):
    """A rule before each fold of a cross-validation and its figures after it."""

    def __init__(self, console: Console, repeats: int) -> None:
        self.console, self.repeats = console, repeats

    def on_fold(self, repeat: int, fold: int, folds: int) -> None:
        render_fold_start(repeat, fold, folds, self.repeats, self.console)

    def on_fold_result(self, outcome: Any) -> None:
        render_fold_result(outcome, self.console)


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
