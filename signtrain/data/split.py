"""Stratified, seeded train / validation / test split of a SequenceDataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from signtrain.config import SplitConfig
from signtrain.errors import DataError


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # indices into the dataset
    val: np.ndarray
    test: np.ndarray


def _cut(index: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed: int,
         what: str, groups: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    if fraction <= 0:
        return index, index[:0]
    if groups is not None:
        signers = len(np.unique(groups[index]))
        if signers < 2:
            raise DataError(f"split.group_by: participant needs at least 2 signers to hold out {what} "
                            f"sequences; found {signers}")
        # one fold of k holds out about 1/k of the signers (never fewer than one whole signer)
        folds = min(max(2, round(1 / fraction)), signers)
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        keep, cut = next(splitter.split(index, y[index], groups[index]))
        return np.sort(index[keep]), np.sort(index[cut])
    try:
        keep, cut = train_test_split(index, test_size=fraction, random_state=seed,
                                     stratify=y[index] if stratify else None)
    except ValueError as exc:
        raise DataError(
            f"cannot split off {what} ({exc}); record more sequences for the smallest signs, lower "
            f"split.{what}_fraction, or set split.stratify: false") from None
    return np.sort(keep), np.sort(cut)


def _signers(cfg: SplitConfig, groups: Optional[list[str]]) -> Optional[np.ndarray]:
    """Who signed each recording, when split.group_by asks to keep signers whole; else None."""
    if cfg.group_by != "participant":
        return None
    if groups is None:
        raise DataError("split.group_by: participant needs participant ids, which only the ISLR parquet "
                        "format (train.csv participant_id) carries; set split.group_by: none")
    return np.asarray(groups)


def split_dataset(y: np.ndarray, cfg: SplitConfig, seed: int, groups: Optional[list[str]] = None) -> Split:
    """Test first (fraction of all), then validation (fraction of the rest), as the original recipe did.
    With split.group_by: participant, no signer appears in two splits."""
    index = np.arange(len(y))
    grouped = _signers(cfg, groups)
    rest, test = _cut(index, y, cfg.test_fraction, cfg.stratify, seed, "test", grouped)
    train, val = _cut(rest, y, cfg.validation_fraction, cfg.stratify, seed + 1, "validation", grouped)
    return Split(train, val, test)


def fold_splits(y: np.ndarray, cfg: SplitConfig, folds: int, seed: int,
                groups: Optional[list[str]] = None) -> list[Split]:
    """Stratified K-fold: each recording is tested exactly once; the rest of each fold gives its
    validation share (split.validation_fraction) and its training set.  With split.group_by:
    participant, whole signers are held out together (StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    index = np.arange(len(y))
    grouped = _signers(cfg, groups)
    if grouped is not None:
        signers = len(np.unique(grouped))
        if signers < folds:
            raise DataError(f"--folds {folds} with split.group_by: participant needs at least {folds} signers; the "
                            f"data has {signers}: use --folds {signers} or fewer")
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        smallest = int(np.bincount(y).min())
        if smallest < 2:
            raise DataError(f"--folds {folds}: the smallest sign has {smallest} recording, and cross-validation needs "
                            f"at least 2 of every sign (one to train on, one to test); record more of it, or leave it "
                            f"out with data.signs")
        if smallest < folds:
            raise DataError(f"--folds {folds}: the smallest sign has {smallest} recordings, so it cannot appear in "
                            f"every fold's test part; use --folds {smallest} or record more of it")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    result = []
    for rest, test in splitter.split(index, y, grouped):
        train, val = _cut(index[rest], y, cfg.validation_fraction, cfg.stratify, seed + 1, "validation", grouped)
        result.append(Split(train, val, np.sort(index[test])))
    return result
