"""signtrain train --folds K: honest figures for small data.

Every fold is a run of its own (models/runs/<id>, its held-out fold as the test split, so
`signtrain evaluate` works on it); the summary (per fold and mean +- std of accuracy and
macro-F1) is written to <output>/crossval/<id>.json.  The model the user keeps is then either
trained on all the data (final="all": its validation share still guides nothing but the
display; the figures to quote are the cross-validated ones) or the best fold's (final="best").
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from signtrain import store
from signtrain.choices import CV_FINALS as FINALS
from signtrain.config import Config
from signtrain.data import load_dataset
from signtrain.data.split import Split, fold_splits
from signtrain.errors import ConfigError, Interrupted
from signtrain.progress import Listener
from signtrain.store import runs
from signtrain.training.request import TrainRequest


@dataclass
class FoldResult:
    repeat: int
    fold: int
    run_id: str
    accuracy: float
    macro_f1: float
    test_sequences: int
    seconds: float


@dataclass
class CrossValResult:
    folds: int
    repeats: int
    grouped: bool
    final: str
    results: list[FoldResult] = field(default_factory=list)
    final_run: Optional[str] = None
    final_accuracy: Optional[float] = None  # the final model's own test split (final="best": its fold)
    path: Optional[Path] = None

    def stat(self, key: str) -> tuple[float, float]:
        """mean and standard deviation over every fold of every repeat."""
        values = np.array([getattr(r, key) for r in self.results], dtype=float)
        return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def standard_error(self, key: str) -> float:
        """Of the mean, from the repeat means (folds of one repeat are not independent); per fold
        when there is one repeat."""
        if self.repeats > 1:
            means = [np.mean([getattr(r, key) for r in self.results if r.repeat == k + 1]) for k in range(self.repeats)]
            return float(np.std(means, ddof=1) / np.sqrt(len(means)))
        return self.stat(key)[1] / np.sqrt(max(len(self.results), 1))

    def to_dict(self) -> dict:
        accuracy, f1 = self.stat("accuracy"), self.stat("macro_f1")
        return {"folds": self.folds, "repeats": self.repeats, "grouped_by_signer": self.grouped, "final": self.final,
                "accuracy_mean": accuracy[0], "accuracy_std": accuracy[1],
                "accuracy_standard_error": self.standard_error("accuracy"),
                "macro_f1_mean": f1[0], "macro_f1_std": f1[1], "final_run": self.final_run,
                "results": [asdict(r) for r in self.results]}


def all_data_split(y: np.ndarray, config: Config, groups: Optional[list[str]]) -> Split:
    """The final model's split: no test part; the validation share as configured."""
    from signtrain.data.split import split_dataset

    whole = split_dataset(y, replace(config.split, test_fraction=0.0), config.train.seed, groups)
    return Split(whole.train, whole.val, whole.test[:0])


def cross_validate(config: Config, folds: int, repeats: int = 1, final: str = "all",
                   train_fold: Optional[Callable[[TrainRequest], Any]] = None, name: Optional[str] = None,
                   listener: Optional[Listener] = None) -> CrossValResult:
    """K-fold cross-validation, `repeats` times with different fold assignments, then the final
    model.  train_fold(request) trains and commits one run (signtrain.training.run.train with the
    caller's listener); the listener hears on_fold before each fold and on_fold_result after it."""
    if final not in FINALS:
        raise ConfigError(f"--final {final}: choose one of {', '.join(FINALS)}")
    if folds < 2:
        raise ConfigError(f"--folds {folds}: cross-validation needs at least 2 folds")
    if train_fold is None:
        from signtrain.training.run import train as train_fold
    listener = listener or Listener()
    ds = load_dataset(config.data)
    grouped = config.split.group_by == "participant"
    plans = [fold_splits(ds.y, config.split, folds, config.train.seed + 1000 * r, ds.groups) for r in range(repeats)]
    cv_id = time.strftime("%Y%m%d-%H%M%S")
    result = CrossValResult(folds, repeats, grouped, final)
    best: Optional[tuple[float, Any]] = None
    out = Path(config.output.dir)
    for r, splits in enumerate(plans):
        for k, split in enumerate(splits):
            listener.on_fold(r, k, folds)
            label = f"fold{k + 1}" + (f"-r{r + 1}" if repeats > 1 else "")
            fold = train_fold(TrainRequest(config, split=split, name=f"{name}-{label}" if name else None,
                                           record={"crossval": {"id": cv_id, "repeat": r + 1, "fold": k + 1,
                                                                "folds": folds}}, current=False))
            outcome = FoldResult(r + 1, k + 1, fold.run_id, float(fold.test_accuracy or 0.0),
                                 float(fold.metrics.get("test_macro_f1") or 0.0), len(split.test),
                                 round(fold.train_seconds, 2))
            result.results.append(outcome)
            if fold.interrupted:
                raise Interrupted(f"stopped by Ctrl-C in fold {k + 1} of {folds}: the folds trained so far are runs "
                                  f"(signtrain runs lists them), none of them made current: {out} shows the model "
                                  f"it showed before; no cross-validation summary was written")
            listener.on_fold_result(outcome)
            if best is None or outcome.accuracy > best[0]:
                best = (outcome.accuracy, fold)
    if final == "best":
        chosen = best[1]
        lock = runs.Lock(out, chosen.run_id)
        lock.acquire()
        try:
            runs.make_current(out, chosen.run_dir, tuple(dict.fromkeys((*chosen.paths.names(),
                                                                        chosen.saved_path.name))))
        finally:
            lock.release()
        result.final_run, result.final_accuracy = chosen.run_id, chosen.test_accuracy
    else:
        listener.on_fold(repeats, 0, folds)  # the final model
        summary = result.to_dict()
        del summary["results"]
        whole = train_fold(TrainRequest(config, split=all_data_split(ds.y, config, ds.groups), name=name,
                                        record={"crossval": {"id": cv_id, "final": True, **summary}}))
        result.final_run = whole.run_id
    result.path = out / "crossval" / f"{cv_id}.json"
    store.write_json(result.path, result.to_dict())
    return result
