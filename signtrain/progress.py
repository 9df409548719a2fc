"""The one listener protocol: what a long command (train, extract, evaluate, export, cross-validation)
tells whoever shows it.  Library code calls these methods and never prints; the renderers in ui/
override the ones they show.  Every method is a no-op here, so `Listener()` is the silent listener."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainBegin:
    """What a training run is about to do, told before its first epoch."""

    epochs: int
    steps: int          # optimizer steps per epoch
    initial_epoch: int  # > 0 when a run resumes
    monitor: str


class Listener:
    # every command
    def on_phase(self, text: str) -> None:
        """A step of the command starts (loading, reading the data, converting, ...)."""

    def on_message(self, text: str) -> None:
        """A note for the user (a warning, what a setting chose)."""

    def on_close(self) -> None:
        """The command is over, however it ended: nothing it shows may outlive it."""

    # train
    def on_data(self, summary: Any) -> None:
        """The dataset as training sees it (a training.prepare.DatasetSummary)."""

    def on_train_begin(self, begin: TrainBegin) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict, state: Any = None) -> None: ...

    def on_train_end(self) -> None: ...

    # train --folds
    def on_fold(self, repeat: int, fold: int, folds: int) -> None:
        """A fold starts (fold 0 of repeat `repeats`: the final model)."""

    def on_fold_result(self, outcome: Any) -> None: ...

    # extract
    def on_start(self, jobs: list, skipped: list) -> None: ...

    def on_frames(self, frames: int) -> None: ...

    def on_video(self, report: Any) -> None: ...
