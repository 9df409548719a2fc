"""Raw sequences -> one fixed-shape array, applying the configured policy to every
defect and counting each one (nothing is dropped or zero-filled silently)."""

from __future__ import annotations

from collections import Counter
from typing import Optional

import numpy as np

from signtrain.config import DataConfig
from signtrain.data.dataset import DEFECT_KINDS, Issue, RawSequence, SequenceDataset

_COL = {kind: i for i, kind in enumerate(DEFECT_KINDS)}


def vector_length_histogram(raws: list[RawSequence]) -> Counter:
    counts: Counter = Counter()
    for raw in raws:
        if raw.block is not None:
            counts[raw.block.shape[1]] += len(raw.block)
        else:
            counts.update(len(v) for v in raw.vectors if v is not None)
    return counts


FLOAT32_TINY = np.finfo(np.float32).tiny


def flush_subnormals(frames: np.ndarray) -> np.ndarray:
    """Subnormal values (|x| < 1.2e-38, e.g. 3e-39 where a tracker left memory uninitialised) become 0.
    Runtimes disagree on them (TFLite's kernels flush them, others do not), so a hand made of them
    would be present in one runtime and absent in another; no real coordinate is that small."""
    tiny = (np.abs(frames) < FLOAT32_TINY) & (frames != 0)
    return np.where(tiny, np.float32(0), frames).astype(np.float32, copy=False) if tiny.any() else frames


def apply_frame_policies(raw: RawSequence, width: int, cfg: DataConfig, counts: np.ndarray) -> Optional[np.ndarray]:
    """One sequence's frames in time order after the frame policies; None = drop the sequence."""
    if raw.block is not None and raw.block.shape[1] == width and len(raw.indices) and (
            raw.indices[-1] == len(raw.indices) - 1):
        frames = raw.block
        keep = np.ones(len(frames), dtype=bool)
        valid = keep.copy()
    else:
        n = int(raw.indices[-1]) + 1 if len(raw.indices) else 0
        frames = np.zeros((n, width), dtype=np.float32)
        present = np.zeros(n, dtype=bool)
        bad = np.zeros(n, dtype=bool)
        vectors = list(raw.block) if raw.block is not None else raw.vectors
        for index, vector in zip(raw.indices, vectors):
            present[index] = True
            if vector is None:
                counts[_COL["corrupt_frames"]] += 1
                bad[index] = True
            elif len(vector) != width:
                counts[_COL["bad_length_frames"]] += 1
                bad[index] = True
            else:
                frames[index] = vector
        counts[_COL["missing_frames"]] = int((~present).sum())
        if bad.any() and cfg.bad_frame == "drop_sequence":
            return None
        keep = np.ones(n, dtype=bool)
        if cfg.missing_frame == "skip":
            keep &= present
        if cfg.bad_frame == "skip":
            keep &= ~bad
        valid = present & ~bad
    frames = flush_subnormals(frames)
    counts[_COL["nan_missing_frames"]] = raw.nan_missing_frames
    counts[_COL["padded_vectors"]] = raw.padded_vectors
    nonfinite = ~np.isfinite(frames).all(axis=1) & valid
    counts[_COL["nonfinite_frames"]] = int(nonfinite.sum())
    zero = ~frames.any(axis=1) & valid
    counts[_COL["zero_frames"]] = int(zero.sum())
    if cfg.zero_frame == "drop":
        keep &= ~zero
    if cfg.nan_to_zero and nonfinite.any():
        frames = np.nan_to_num(frames, nan=0.0, posinf=0.0, neginf=0.0)
    counts[_COL["dropped_frames"]] = int((~keep).sum())
    return frames if keep.all() else frames[keep]


def fit_length(frames: np.ndarray, length: int, truncate: str) -> tuple[np.ndarray, int, int]:
    """Pad (at the end, with zeros) or truncate to `length` frames -> (array, padded, truncated)."""
    n = len(frames)
    if n >= length:
        start = {"keep_start": 0, "keep_end": n - length, "keep_center": (n - length) // 2}[truncate]
        return frames[start:start + length], 0, n - length
    out = np.zeros((length, frames.shape[1]), dtype=np.float32)
    out[:n] = frames
    return out, length - n, 0


def resample(frames: np.ndarray, length: int) -> np.ndarray:
    """Nearest-frame resampling to `length` frames (never blends a detected hand with a missing one)."""
    index = np.floor(np.linspace(0, len(frames) - 1, length) + 0.5).astype(int)
    return np.ascontiguousarray(frames[index], dtype=np.float32)


def assemble(raws: list[RawSequence], signs: list[int], sources: list[str], labels: list[str],
             width: int, cfg: DataConfig, issues: list[Issue], groups: Optional[list[str]] = None) -> SequenceDataset:
    """Apply policies and padding to every raw sequence -> SequenceDataset."""
    T = cfg.sequence_length
    kept = []
    for k, (raw, sign, source) in enumerate(zip(raws, signs, sources)):
        counts = np.zeros(len(DEFECT_KINDS), dtype=np.int32)
        if raw.error:
            issues.append(Issue("error", "corrupt_file", source, raw.error))
            continue
        frames = apply_frame_policies(raw, width, cfg, counts)
        if frames is None:
            issues.append(Issue("warning", "dropped_sequence", source,
                                "holds a corrupt or wrong-length frame; dropped (data.bad_frame: drop_sequence)"))
            continue
        if len(frames) == 0:
            issues.append(Issue("warning", "empty_sequence", source, "no usable frame left after the frame policies"))
            continue
        fixed, padded, truncated = (resample(frames, T), 0, 0) if cfg.resample else fit_length(frames, T, cfg.truncate)
        counts[_COL["padded_frames"]] = padded
        counts[_COL["truncated_frames"]] = truncated
        kept.append((fixed, len(frames), sign, source, counts, raw.digest, groups[k] if groups else None))

    n = len(kept)
    X = np.zeros((n, T, width), dtype=np.float32)
    for i, item in enumerate(kept):
        X[i] = item[0]
    present = sorted({item[2] for item in kept})
    remap = {old: new for new, old in enumerate(present)}
    for lost in sorted(set(range(len(labels))) - set(present)):
        issues.append(Issue("warning", "empty_sign", labels[lost], "no usable sequence left; sign left out"))
    return SequenceDataset(
        X=X,
        lengths=np.array([item[1] for item in kept], dtype=np.int32),
        y=np.array([remap[item[2]] for item in kept], dtype=np.int32),
        labels=[labels[i] for i in present],
        sources=[item[3] for item in kept],
        feature_length=width,
        defects=np.stack([item[4] for item in kept]) if kept else np.zeros((0, len(DEFECT_KINDS)), np.int32),
        digests=[item[5] for item in kept],
        issues=issues,
        groups=[item[6] for item in kept] if groups else None,
    )
