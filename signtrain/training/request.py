"""What one training is asked to do, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from signtrain.config import Config
from signtrain.data.split import Split
from signtrain.store.files import RunPaths
from signtrain.store.metadata import RunMetadata
from signtrain.store.runs import RunInfo


@dataclass(frozen=True)
class TrainRequest:
    """One training: the config and how the run relates to others.

    resume: a run found by runs.find_run, whose config (see training.resume) `config` must be.
    init: the RunMetadata of a model to start from (config from training.finetune.config_for).
    split: the train/validation/test indices to use instead of drawing them (a cross-validation fold).
    record: extra facts saved in the run's metrics.json (a fold says which).
    callbacks: extra Keras callbacks.
    current: whether the committed run becomes the one the output folder shows (a fold of a
    cross-validation does not)."""

    config: Config
    resume: Optional[RunInfo] = None
    name: Optional[str] = None
    overwrite: bool = False
    init: Optional[RunMetadata] = None
    split: Optional[Split] = None
    record: dict = field(default_factory=dict)
    callbacks: tuple = ()
    current: bool = True


@dataclass
class TrainResult:
    paths: RunPaths                 # the files as the output folder shows them (models/lstm_model.h5, ...)
    state: Any                      # callbacks.TrainState: monitor, best epoch, epochs done
    test_accuracy: Optional[float]
    test_loss: Optional[float]
    epochs_run: int
    train_seconds: float
    interrupted: bool
    weights: str                    # 'best' | 'last': which epoch's weights the saved model holds
    saved_as: str = "full"          # 'full' | 'weights'
    save_error: Optional[str] = None
    saved_path: Optional[Path] = None  # the model file written (the .weights.h5 after a fallback)
    run_id: str = ""
    run_dir: Optional[Path] = None  # the committed run folder (models/runs/<id>)
    metrics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    is_chief: bool = True           # False on the other workers of a multi-worker run (nothing kept)

    @property
    def best_epoch(self) -> int:
        return self.state.best_epoch
