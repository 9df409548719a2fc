"""Stratified, seeded train / validation / test split of a SequenceDataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signtrain.config import SplitConfig
from signtrain.errors import DataError


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # indices into the dataset
    val: np.ndarray
    test: np.ndarray


def _cut(index: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed: int,
         what: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    if fraction <= 0:
        return index, index[:0]
    try:
        keep, cut = train_test_split(index, test_size=fraction, random_state=seed,
                                     stratify=y[index] if stratify else None)
    except ValueError as exc:
        raise DataError(
            f"cannot split off {what} ({exc}); record more sequences for the smallest signs, lower "
            f"split.{what}_fraction, or set split.stratify: false") from None
    return np.sort(keep), np.sort(cut)


def split_dataset(y: np.ndarray, cfg: SplitConfig, seed: int) -> Split:
    """Test first (fraction of all), then validation (fraction of the rest), as the original recipe did."""
    index = np.arange(len(y))
    rest, test = _cut(index, y, cfg.test_fraction, cfg.stratify, seed, "test")
    train, val = _cut(rest, y, cfg.validation_fraction, cfg.stratify, seed + 1, "validation")
    return Split(train, val, test)
