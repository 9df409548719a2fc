"""Normalisation as the recipes do it: (X - mean) / (std + epsilon), fitted on the training split.

Statistics are computed over real frames only (padding would drag the mean
towards zero), and padded frames stay exactly zero afterwards so that the
model's Masking layer can find them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signtrain.config import PreprocessConfig


@dataclass(frozen=True)
class Normalizer:
    mode: str            # global | per_feature | none
    mean: np.ndarray     # shape () for global, (F,) per feature
    std: np.ndarray
    epsilon: float

    @classmethod
    def fit(cls, X: np.ndarray, lengths: np.ndarray, cfg: PreprocessConfig) -> "Normalizer":
        frames = X[valid_mask(lengths, X.shape[1])]
        if cfg.normalization == "none" or len(frames) == 0:
            return cls("none", np.float32(0.0), np.float32(1.0), 0.0)
        axis = None if cfg.normalization == "global" else 0
        mean = frames.mean(axis=axis, dtype=np.float64).astype(np.float32)
        std = frames.std(axis=axis, dtype=np.float64).astype(np.float32)
        return cls(cfg.normalization, mean, std, cfg.epsilon)

    def apply(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Normalised copy of X with padded frames left at exactly 0."""
        if self.mode == "none":
            out = X.astype(np.float32, copy=True)
        else:
            out = ((X - self.mean) / (self.std + np.float32(self.epsilon))).astype(np.float32)
        out[~valid_mask(lengths, X.shape[1])] = 0.0
        return out

    def to_dict(self) -> dict:
        return {"mode": self.mode, "epsilon": self.epsilon,
                "mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(d["mode"], np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32), float(d["epsilon"]))


def valid_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """[N, T] True where a frame is real, False where it is padding."""
    return np.arange(T)[None, :] < np.minimum(lengths, T)[:, None]
