"""Running a model on one recording: top-k signs, or a sign-to-speech style stream over a long one.

The stream slides a window of sequence_length frames over the recording, one
prediction per frame, averages the last few predictions, and emits a sign when
the averaged top sign holds above the threshold for a few steps in a row (and
not again until it has dropped below the threshold or another sign took over).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signtrain.data.account import refusal_of
from signtrain.data.assemble import IssueLog, apply_frame_policies, fit_length, resample, vector_length_histogram
from signtrain.data.dataset import DEFECT_KINDS
from signtrain.data.mpdata import SequenceEntry, read_entries
from signtrain.errors import DataError
from signtrain.layouts import describe
from signtrain.predictor import Predictor


@dataclass
class Emission:
    sign: str
    frame: int          # last frame of the window that emitted it
    start_frame: int    # first frame of that window
    probability: float


@dataclass
class StreamResult:
    frames: int
    steps: int
    emissions: list[Emission] = field(default_factory=list)

    @property
    def sentence(self) -> str:
        return " ".join(e.sign for e in self.emissions)


def read_recording(path: Path, predictor: Predictor) -> np.ndarray:
    """A .npy of shape (frames, features) or one MP_Data sequence folder -> float32 [frames, F],
    through the same readers and data.* policies the model was trained with."""
    config = predictor.meta.config.data
    if path.is_dir():
        frames = sorted((int(p.stem), str(p)) for p in path.glob("*.npy") if p.stem.isdigit() and p.stem.isascii())
        if not frames:
            raise DataError(f"{path}: no <number>.npy frame files in this folder")
        entry = SequenceEntry(0, str(path), frames=frames)
    elif path.suffix == ".npy" and path.is_file():
        entry = SequenceEntry(0, str(path), array_file=str(path))
    else:
        raise DataError(f"{path}: give a .npy file of shape (frames, features) or an MP_Data sequence folder")
    raw = read_entries([entry])[0]
    raw.source = str(path)
    if raw.error:
        raise DataError(f"{path}: {raw.error}")
    widths = vector_length_histogram([raw])
    if not widths:
        first = next(iter(raw.problems.items()), (0, "unreadable"))
        raise DataError(f"{path}: no readable frame in {len(raw.indices)} ({raw.label(first[0])}: {first[1]}); "
                        f"fix the recording")
    width = widths.most_common(1)[0][0]
    if width != predictor.feature_length:
        raise DataError(f"{path}: frames hold {describe(width)} values, the model expects "
                        f"{describe(predictor.feature_length)}")
    counts = np.zeros(len(DEFECT_KINDS), dtype=np.int32)
    log = IssueLog()
    frames_array = apply_frame_policies(raw, width, config, counts, log)
    refused = refusal_of(str(path), log.items, dict(log.counts), config)
    if refused:
        raise DataError(refused + " (the model was trained with these data.* settings)")
    if frames_array is None or len(frames_array) == 0:
        raise DataError(f"{path}: no usable frame left after the model's data.* policies "
                        f"(data.bad_frame: {config.bad_frame}); fix the recording")
    return frames_array


def top_k(predictor: Predictor, frames: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The k most likely signs of one recording, brought to the model's length as in training."""
    data = predictor.meta.config.data
    if data.resample:
        window = resample(frames, predictor.sequence_length)
    else:
        window, _, _ = fit_length(frames, predictor.sequence_length, data.truncate)
    probs = predictor.predict_proba(window[None])[0]
    order = np.argsort(-probs)[:k]
    return [(predictor.labels[i], float(probs[i])) for i in order]


def windows(frames: np.ndarray, length: int) -> np.ndarray:
    """Every window of `length` consecutive frames, [steps, length, F] (one, padded, when shorter)."""
    if len(frames) < length:
        return fit_length(frames, length, "keep_start")[0][None]
    view = np.lib.stride_tricks.sliding_window_view(frames, length, axis=0)  # [steps, F, length]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def stream(predictor: Predictor, frames: np.ndarray, threshold: float = 0.8, smooth: int = 5,
           hold: int = 3) -> StreamResult:
    T = predictor.sequence_length
    probs = predictor.predict_proba(windows(frames, T))
    result = StreamResult(frames=len(frames), steps=len(probs))
    armed, streak, candidate, last = True, 0, -1, -1
    for step in range(len(probs)):
        averaged = probs[max(0, step - smooth + 1):step + 1].mean(axis=0)
        best = int(averaged.argmax())
        if averaged[best] < threshold:
            armed, streak = True, 0
            continue
        streak = streak + 1 if best == candidate else 1
        candidate = best
        if streak >= hold and (armed or best != last):
            end = min(step + T, len(frames)) - 1
            result.emissions.append(Emission(predictor.labels[best], end, step, float(averaged[best])))
            armed, last = False, best
    return result
