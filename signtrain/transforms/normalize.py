"""Normalisation as the recipes do it: (X - mean) / (std + epsilon), fitted on the training split.

Statistics are computed over real frames only (padding would drag the mean
towards zero).  When the model masks (model.mask_padding), every frame that is
all zero on disk - padding, a zero-filled missing frame, a frame where nothing
was detected - stays exactly zero after normalisation, so the Masking layer
skips it.  The exported graphs apply the same rule to the raw input, so a
deployed model and the Keras model see identical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from signtrain.config import PreprocessConfig


@dataclass(frozen=True)
class Normalizer:
    mode: str            # global | per_feature | none
    mean: np.ndarray     # shape () for global, (F,) per feature
    std: np.ndarray
    epsilon: float
    mask_zero_frames: bool = True

    @classmethod
    def fit(cls, X: np.ndarray, lengths: np.ndarray, index: np.ndarray, cfg: PreprocessConfig,
            mask_zero_frames: bool, chunk: int = 1024, transform: Optional[Callable] = None) -> "Normalizer":
        """Statistics of the rows `index` of X, read in chunks (X may be a memory map larger than RAM),
        each chunk passed through `transform` first when given."""
        total = square = None
        count = 0
        for start in range(0, len(index), chunk):
            rows = np.sort(index[start:start + chunk])
            block = np.asarray(X[rows])
            if transform is not None:
                block = transform(block)
            if total is None:
                total, square = np.zeros(block.shape[-1]), np.zeros(block.shape[-1])
            # all-zero frames are masked (or, without masking, padding is what lies past each length)
            real = block.any(axis=-1) if mask_zero_frames else valid_mask(lengths[rows], X.shape[1])
            frames = block[real].astype(np.float64)
            total += frames.sum(axis=0)
            square += np.square(frames).sum(axis=0)
            count += len(frames)
        if cfg.normalization == "none" or count == 0:
            return cls("none", np.float32(0.0), np.float32(1.0), 0.0, mask_zero_frames)
        F = len(total)
        if cfg.normalization == "global":
            total, square, count = total.sum(), square.sum(), count * F
        mean = total / count
        std = np.sqrt(np.maximum(square / count - mean ** 2, 0.0))
        return cls(cfg.normalization, np.float32(mean) if np.ndim(mean) == 0 else mean.astype(np.float32),
                   np.float32(std) if np.ndim(std) == 0 else std.astype(np.float32), cfg.epsilon, mask_zero_frames)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Normalised float32 copy of raw frames X [..., T, F]."""
        if self.mode == "none":
            out = X.astype(np.float32, copy=True)
        else:
            out = ((X - self.mean) / (self.std + np.float32(self.epsilon))).astype(np.float32)
        if self.mask_zero_frames:
            out[~X.any(axis=-1)] = 0.0
        return out

    def apply_tf(self, z: Any) -> Any:
        """The same, in TensorFlow ops (tf.data pipelines and exported graphs)."""
        import tensorflow as tf

        out = z if self.mode == "none" else (z - np.asarray(self.mean, np.float32)) / (
            np.asarray(self.std, np.float32) + np.float32(self.epsilon))
        if self.mask_zero_frames:
            out = out * tf.cast(tf.reduce_any(tf.not_equal(z, 0.0), axis=-1, keepdims=True), tf.float32)
        return out

    def to_dict(self) -> dict:
        return {"mode": self.mode, "epsilon": self.epsilon, "mask_zero_frames": self.mask_zero_frames,
                "mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(d["mode"], np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32),
                   float(d["epsilon"]), bool(d.get("mask_zero_frames", True)))


def valid_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """[N, T] True where a frame is real, False where it is padding."""
    return np.arange(T)[None, :] < np.minimum(lengths, T)[:, None]
