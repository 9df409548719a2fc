"""Raw sequences -> one fixed-shape array, applying the configured policy to every defect and
recording each one with the frame file and the reason: nothing is dropped or zero-filled
without being counted and named."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import Optional

import numpy as np

from signtrain.config import DataConfig
from signtrain.data.dataset import DEFECT_KINDS, Issue, RawSequence, SequenceDataset
from signtrain.errors import ConfigError

_COL = {kind: i for i, kind in enumerate(DEFECT_KINDS)}
EXAMPLES_KEPT = 200  # issues kept per kind, to name files; the counts stay exact
FLOAT32_TINY = np.finfo(np.float32).tiny
MEMORY_SHARE = 0.8   # of the memory available, at most, for the assembled array


class IssueLog:
    """Issues with an exact count per kind and the first EXAMPLES_KEPT of each kept with their paths."""

    def __init__(self, issues: Optional[list[Issue]] = None) -> None:
        self.items: list[Issue] = []
        self.counts: Counter = Counter()
        for issue in issues or []:
            self.add(issue.level, issue.kind, issue.path, issue.message)

    def add(self, level: str, kind: str, path: str, message: str) -> None:
        if self.counts[kind] < EXAMPLES_KEPT:
            self.items.append(Issue(level, kind, path, message))
        self.counts[kind] += 1


def vector_length_histogram(raws: list[RawSequence]) -> Counter:
    counts: Counter = Counter()
    for raw in raws:
        if raw.block is not None:
            counts[raw.block.shape[1]] += len(raw.block)
        else:
            counts.update(len(v) for v in raw.vectors if v is not None)
    return counts


def flush_subnormals(frames: np.ndarray) -> np.ndarray:
    """Subnormal values (|x| < 1.2e-38, e.g. 3e-39 where a tracker left memory uninitialised) become 0.
    Runtimes disagree on them (TFLite's kernels flush them, others do not), so a hand made of them
    would be present in one runtime and absent in another; no real coordinate is that small."""
    tiny = (np.abs(frames) < FLOAT32_TINY) & (frames != 0)
    return np.where(tiny, np.float32(0), frames).astype(np.float32, copy=False) if tiny.any() else frames


def frame_slots(indices: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Where each present frame goes in time: frame numbers give the ORDER, never an array size.
    -> (slot per frame, the absent frame numbers, sparse).  Gaps up to `limit` frames in all are
    missing frames (filled or skipped by data.missing_frame); a numbering far sparser than that
    (millisecond timestamps, a stray 99999999.npy) keeps the frames in order, unfilled."""
    n = len(indices)
    none = np.zeros(0, np.int64)
    if n == 0:
        return indices, none, False
    start = 0 if indices[0] <= limit else int(indices[0])
    if int(indices[-1]) - start + 1 - n > limit:
        return np.arange(n), none, True
    # at most n + limit numbers from where the numbering starts: never from 0 under a large offset
    return indices - start, np.setdiff1d(np.arange(start, int(indices[-1]) + 1), indices), False


def apply_frame_policies(raw: RawSequence, width: int, cfg: DataConfig, counts: np.ndarray,
                         log: Optional[IssueLog] = None) -> Optional[np.ndarray]:
    """One sequence's frames in time order after the frame policies; None = drop the sequence.
    Every unreadable, wrong-length and non-finite frame is counted and (with a log) named."""
    log = log if log is not None else IssueLog()
    n = len(raw.indices)
    slots, absent, sparse = frame_slots(raw.indices, max(n, cfg.sequence_length))
    holes = len(absent)
    if sparse:
        log.add("warning", "sparse_numbering", raw.source,
                f"frame numbers run from {raw.indices[0]} to {raw.indices[-1]} for {n} frames (timestamps?); the "
                f"frames are kept in their order, the gaps are not filled")
    fill = cfg.missing_frame == "zero"
    bad_level = "error" if cfg.bad_frame == "error" else "warning"
    if raw.block is not None and raw.block.shape[1] == width and (holes == 0 or not fill):
        frames = raw.block
        present = np.ones(n, bool)
        bad = np.zeros(n, bool)
        slots = np.arange(n)
    else:
        slots = slots if fill else np.arange(n)
        total = int(slots[-1]) + 1 if n else 0
        frames = np.zeros((total, width), dtype=np.float32)
        present = np.zeros(total, dtype=bool)
        bad = np.zeros(total, dtype=bool)
        vectors = raw.block if raw.block is not None else raw.vectors
        for k, (slot, vector) in enumerate(zip(slots, vectors)):
            present[slot] = True
            if vector is None:
                counts[_COL["corrupt_frames"]] += 1
                bad[slot] = True
                log.add(bad_level, "unreadable_frame", raw.label(k), raw.problems.get(k, "unreadable"))
            elif len(vector) != width:
                counts[_COL["bad_length_frames"]] += 1
                bad[slot] = True
                log.add(bad_level, "wrong_length", raw.label(k), f"{len(vector)} values, the other frames have {width}")
            else:
                frames[slot] = vector
    counts[_COL["missing_frames"]] = holes
    if holes:
        log.add("warning", "missing_frames", raw.source,
                f"{holes} frame number(s) absent ({', '.join(map(str, absent[:5]))}{', …' if holes > 5 else ''}); "
                + ("zero-filled (data.missing_frame: zero)" if fill else "closed up (data.missing_frame: skip)"))
    if bad.any() and cfg.bad_frame == "drop_sequence":
        return None
    keep = np.ones(len(frames), dtype=bool)
    if cfg.missing_frame == "skip":
        keep &= present
    if cfg.bad_frame == "skip":
        keep &= ~bad
    valid = present & ~bad
    frames = flush_subnormals(frames)
    counts[_COL["nan_missing_frames"]] = raw.nan_missing_frames
    counts[_COL["padded_vectors"]] = raw.padded_vectors
    counts[_COL["dropped_rows"]] = raw.dropped_rows
    nonfinite = ~np.isfinite(frames).all(axis=1) & valid
    counts[_COL["nonfinite_frames"]] = int(nonfinite.sum())
    if nonfinite.any():
        level, action = ("warning", "; replaced by 0 (data.nan_to_zero)") if cfg.nan_to_zero else ("error", "")
        for slot in np.flatnonzero(nonfinite):
            k = int(np.searchsorted(slots, slot))
            reason = ("a value beyond the float32 range (|x| > 3.4e38), e.g. 1e300" if k in raw.beyond_float32
                      else "NaN or infinite values")
            log.add(level, "nonfinite", raw.label(k), reason + action)
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


def to_length(frames: np.ndarray, length: int, resample_frames: bool, truncate: str) -> np.ndarray:
    """One recording at the model's length, as training brought it there (resampled, or padded/cut)."""
    return resample(frames, length) if resample_frames else fit_length(frames, length, truncate)[0]


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_memory(sequences: int, length: int, width: int, longest: int, copies: int = 1) -> None:
    """Refuse, with the figure, an array that cannot fit, before allocating it."""
    need = sequences * length * width * 4 * copies
    have = available_memory()
    if need > MEMORY_SHARE * have:
        raise ConfigError(f"data.sequence_length={length} makes the data {sequences} sequences x {length} frames x "
                          f"{width} values = {need / 2**30:.1f} GiB, more than the {have / 2**30:.1f} GiB of memory "
                          f"available; lower data.sequence_length (the longest recording has {longest} frames) or "
                          f"set data.resample: true")


def sequence_frames(raw: RawSequence, source: str, width: int, cfg: DataConfig,
                    log: IssueLog) -> tuple[Optional[np.ndarray], np.ndarray]:
    """One recording through the frame policies -> (its frames, or None when it is left out with the
    reason logged; its defect counts).  Shared by assemble (train, evaluate) and convert."""
    counts = np.zeros(len(DEFECT_KINDS), dtype=np.int32)
    if raw.error:
        action = "" if cfg.bad_frame == "error" else f"; recording left out (data.bad_frame: {cfg.bad_frame})"
        log.add("error" if cfg.bad_frame == "error" else "warning", "unreadable_file", source, raw.error + action)
        return None, counts
    raw.source = raw.source or source
    frames = apply_frame_policies(raw, width, cfg, counts, log)
    if frames is None:
        log.add("warning", "dropped_sequence", source,
                "holds an unreadable or wrong-length frame; left out (data.bad_frame: drop_sequence)")
        return None, counts
    if len(frames) == 0:
        log.add("warning", "empty_sequence", source, "no usable frame left after the frame policies; left out")
        return None, counts
    return frames, counts


def assemble(raws: list[RawSequence], signs: list[int], sources: list[str], labels: list[str],
             width: int, cfg: DataConfig, issues: list[Issue], groups: Optional[list[str]] = None) -> SequenceDataset:
    """Apply policies and padding to every raw sequence -> SequenceDataset (issue_counts exact)."""
    T = cfg.sequence_length
    log = IssueLog(issues)
    kept = []
    for k, (raw, sign, source) in enumerate(zip(raws, signs, sources)):
        frames, counts = sequence_frames(raw, source, width, cfg, log)
        if frames is not None:
            kept.append((frames, sign, source, counts, raw.digest, groups[k] if groups else None))

    check_memory(len(kept), T, width, max((len(item[0]) for item in kept), default=0))
    n = len(kept)
    X = np.zeros((n, T, width), dtype=np.float32)
    lengths = np.zeros(n, dtype=np.int32)
    for i, (frames, _, _, counts, _, _) in enumerate(kept):
        fixed, padded, truncated = (resample(frames, T), 0, 0) if cfg.resample else fit_length(frames, T, cfg.truncate)
        X[i] = fixed
        lengths[i] = len(frames)
        counts[_COL["padded_frames"]] = padded
        counts[_COL["truncated_frames"]] = truncated
    present = sorted({item[1] for item in kept})
    remap = {old: new for new, old in enumerate(present)}
    for lost in sorted(set(range(len(labels))) - set(present)):
        log.add("warning", "empty_sign", labels[lost], "no usable sequence left; sign left out")
    digests = [item[4] for item in kept]
    _log_duplicates(digests, [item[2] for item in kept], log)
    return SequenceDataset(
        X=X, lengths=lengths,
        y=np.array([remap[item[1]] for item in kept], dtype=np.int32),
        labels=[labels[i] for i in present],
        sources=[item[2] for item in kept],
        feature_length=width,
        defects=np.stack([item[3] for item in kept]) if kept else np.zeros((0, len(DEFECT_KINDS)), np.int32),
        digests=digests,
        issues=log.items,
        issue_counts=dict(log.counts),
        groups=[item[5] for item in kept] if groups else None,
    )


def _log_duplicates(digests: list[str], sources: list[str], log: IssueLog) -> None:
    """Byte-identical recordings: they would leak between the train and test splits."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, digest in enumerate(digests):
        groups[digest].append(i)
    for members in groups.values():
        for other in members[1:]:
            log.add("warning", "duplicate", sources[other],
                    f"byte-identical to {sources[members[0]]}; it would leak between train and test")
