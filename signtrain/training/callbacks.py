"""The Keras callbacks of a training, each a class with its state in the open.

TrainState is the one account of where a training stands (the monitored metric, the best
epoch, epochs finished, why it stopped); every callback reads and writes it, the resume state
saves it, and the summary, metrics.json and the live display all report from it, so "best"
means the same thing everywhere.  Epochs in TrainState are numbered from 1, as on screen.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import keras
import numpy as np


@dataclass
class TrainState:
    monitor: str
    mode: str                         # max | min
    best: Optional[float] = None
    best_epoch: int = 0               # 0 = none yet
    epochs_done: int = 0              # epochs finished (a cut-short epoch does not count)
    cut_short: bool = False           # the running epoch was stopped mid-way by Ctrl-C
    diverged: Optional[str] = None    # where the loss became NaN/inf
    save_error: Optional[str] = None  # a per-epoch checkpoint that could not be written

    def improves(self, value: float) -> bool:
        return self.best is None or (value > self.best if self.mode == "max" else value < self.best)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "TrainState":
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**{**known, "cut_short": False, "diverged": None, "save_error": None})


def _finite(value: Any) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Progress(keras.callbacks.Callback):
    """Forwards progress to the listener; stops after the current batch on Ctrl-C or a NaN loss."""

    def __init__(self, state: TrainState, listener: Any, interrupt: Any) -> None:
        super().__init__()
        self.state, self.listener, self.interrupt = state, listener, interrupt
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._epoch = epoch
        self.listener.on_epoch_begin(epoch)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.state.diverged = f"the loss became {float(loss)} at epoch {self._epoch + 1}, batch {batch + 1}"
            self.model.stop_training = True
            return
        self.listener.on_batch_end(batch, logs)
        if self.interrupt.requested:
            self.state.cut_short = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = dict(logs or {})
        for key in ("loss", "val_loss"):
            if key in logs and not math.isfinite(float(logs[key])) and not self.state.diverged:
                self.state.diverged = f"the {key.replace('_', ' ')} became {float(logs[key])} at epoch {epoch + 1}"
                self.model.stop_training = True
        if self.state.cut_short or self.state.diverged:
            return
        self.state.epochs_done = epoch + 1
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.listener.on_epoch_end(epoch, logs, self.state)


def _counts(state: TrainState) -> bool:
    """Whether the epoch that just ended is a real one (not cut short, not diverged)."""
    return not state.cut_short and not state.diverged


class BestTracker(keras.callbacks.Callback):
    """The best epoch by the monitored metric: its value, its weights (kept in memory when the run
    ends on them) and the checkpoint file.  Runs before Progress, so the display sees it updated."""

    def __init__(self, state: TrainState, save: Callable[[Any], None], keep_weights: bool,
                 warn: Callable[[str], None], best_weights: Optional[list] = None) -> None:
        super().__init__()
        self.state, self.save, self.keep_weights, self.warn = state, save, keep_weights, warn
        self.best_weights = best_weights

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        value = _finite((logs or {}).get(self.state.monitor))
        if not _counts(self.state) or value is None or not self.state.improves(value):
            return
        self.state.best, self.state.best_epoch = value, epoch + 1
        if self.keep_weights:
            self.best_weights = self.model.get_weights()
        guarded_save(self.state, lambda: self.save(self.model), "the best checkpoint", self.warn)


def guarded_save(state: TrainState, save: Callable[[], None], what: str, warn: Callable[[str], None]) -> None:
    """A per-epoch write that fails (disk full, folder made read-only) is said once; training goes on."""
    try:
        save()
    except OSError as exc:
        if state.save_error is None:
            warn(f"could not write {what} ({exc.strerror or exc}); training goes on, and the final save will be "
                 f"tried at the end (the previous run stays as it is until then)")
        state.save_error = f"{what}: {exc.strerror or exc}"


class _Resumable:
    """A Keras callback whose counters (FIELDS) are carried over from a resumed run: restored after
    Keras resets them in on_train_begin, and snapshot for the resume state."""

    FIELDS: tuple[str, ...] = ()

    def __init__(self, *args: Any, restored: Optional[dict] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.restored = restored

    def on_train_begin(self, logs: Any = None) -> None:
        super().on_train_begin(logs)
        for name, value in (self.restored or {}).items():
            if name in self.FIELDS and value is not None:
                setattr(self, name, value)

    def snapshot(self) -> dict:
        return {name: _finite(getattr(self, name)) if name == "best" else getattr(self, name) for name in self.FIELDS}


class ResumableEarlyStopping(_Resumable, keras.callbacks.EarlyStopping):
    FIELDS = ("wait", "best", "best_epoch")


class ResumableReduceLR(_Resumable, keras.callbacks.ReduceLROnPlateau):
    FIELDS = ("wait", "best", "cooldown_counter")


class ResumeState(keras.callbacks.Callback):
    """After every real epoch: the model with its optimizer, and every counter needed to go on."""

    def __init__(self, state: TrainState, save_model: Callable[[Any], None], save_json: Callable[[dict], None],
                 counters: dict[str, Any], extra: dict, warn: Callable[[str], None]) -> None:
        super().__init__()
        self.state, self.save_model, self.save_json = state, save_model, save_json
        self.counters, self.extra, self.warn = counters, extra, warn

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if not _counts(self.state):
            return

        def save() -> None:
            self.save_model(self.model)
            self.save_json({"epoch": epoch, "train_state": self.state.to_dict(), **self.extra,
                            **{name: c.snapshot() for name, c in self.counters.items()}})

        guarded_save(self.state, save, "the resume state", self.warn)


class HistoryWriter(keras.callbacks.Callback):
    """history.csv: one row per finished epoch, numbered from 1 as on screen, with the learning rate."""

    def __init__(self, state: TrainState, path: Path, append: bool, warn: Callable[[str], None]) -> None:
        super().__init__()
        self.state, self.path, self.append, self.warn = state, path, append, warn
        self.columns: Optional[list[str]] = None

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if not _counts(self.state):
            return
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.columns is None:
            self.columns = _header(self.path) if self.append else None
            self.columns = self.columns or list(row)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore")
        fresh = not (self.append and self.path.is_file() and self.path.stat().st_size)
        if fresh:
            writer.writeheader()
            self.append = True
        writer.writerow(row)

        def save() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "w" if fresh else "a", encoding="utf-8", newline="") as fh:
                fh.write(buffer.getvalue())

        guarded_save(self.state, save, "logs/history.csv", self.warn)


def _header(path: Path) -> Optional[list[str]]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return next(csv.reader(fh), None)
    except OSError:
        return None
