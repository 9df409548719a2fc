"""Running a model on one recording: top-k signs, or a sign-to-speech style stream over a long one.

The stream slides a window of sequence_length frames over the recording, one
prediction per frame, averages the last few predictions, and emits a sign when
the averaged top sign holds above the threshold for a few steps in a row (and
not again until it has dropped below the threshold or another sign took over).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from signtrain.data.account import refusal_of
from signtrain.data.assemble import IssueLog, apply_frame_policies, fit_length, resample, vector_length_histogram
from signtrain.data.dataset import DEFECT_KINDS
from signtrain.data.mpdata import SequenceEntry, read_entries
from signtrain.deploy.predictor import Predictor
from signtrain.errors import DataError
from signtrain.layouts import Layout, describe


@dataclass
class Emission:
    sign: str
    frame: int          # last frame of the window that emitted it
    start_frame: int    # first frame of that window
    probability: float
    start_s: Optional[float] = None   # seconds into a video, where the frame rate is known
    end_s: Optional[float] = None

    def timed(self, fps: Optional[float]) -> "Emission":
        if fps:
            self.start_s, self.end_s = round(self.start_frame / fps, 3), round((self.frame + 1) / fps, 3)
        return self


@dataclass
class StreamResult:
    frames: int
    steps: int
    fps: Optional[float] = None
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


class Decider:
    """The emission rule, one prediction at a time: shared by a recording read whole and by a live
    camera, so both turn the same probabilities into the same signs."""

    def __init__(self, labels: list[str], threshold: float, smooth: int, hold: int) -> None:
        self.labels, self.threshold, self.smooth, self.hold = labels, threshold, smooth, hold
        self.recent: list[np.ndarray] = []
        self.armed, self.streak, self.candidate, self.last = True, 0, -1, -1

    def step(self, probs: np.ndarray, start_frame: int, end_frame: int) -> Optional[Emission]:
        self.recent = [*self.recent[-(self.smooth - 1):], probs] if self.smooth > 1 else [probs]
        averaged = np.mean(self.recent, axis=0)
        best = int(averaged.argmax())
        if averaged[best] < self.threshold:
            self.armed, self.streak = True, 0
            return None
        self.streak = self.streak + 1 if best == self.candidate else 1
        self.candidate = best
        if self.streak >= self.hold and (self.armed or best != self.last):
            self.armed, self.last = False, best
            return Emission(self.labels[best], end_frame, start_frame, float(averaged[best]))
        return None


def stream(predictor: Predictor, frames: np.ndarray, threshold: float = 0.8, smooth: int = 5,
           hold: int = 3, fps: Optional[float] = None) -> StreamResult:
    T = predictor.sequence_length
    probs = predictor.predict_proba(windows(frames, T))
    result = StreamResult(frames=len(frames), steps=len(probs), fps=fps)
    decider = Decider(predictor.labels, threshold, smooth, hold)
    for step in range(len(probs)):
        emission = decider.step(probs[step], step, min(step + T, len(frames)) - 1)
        if emission:
            result.emissions.append(emission.timed(fps))
    return result


def read_video(path: Path, predictor: Predictor, asset: Path, whole: bool = False) -> tuple[np.ndarray, float]:
    """A video -> (landmark frames in the model's own layout, frames per second), through the same
    extraction as signtrain extract: with the model's layout, and sampled to the same number of
    frames when its training data was extracted with --frames N (unless `whole`, for streaming)."""
    from signtrain.extract import video
    from signtrain.extract.holistic import quiet
    from signtrain.extract.run import video_landmarks

    sampled = None if whole else (predictor.meta.extraction or {}).get("frames")
    with quiet():
        frames, _, _ = video_landmarks(path, asset, model_layout(predictor), int(sampled) if sampled else None)
    fps = video.frame_rate(path)
    return frames, fps


def model_layout(predictor: Predictor) -> Layout:
    """The layout the model was trained on, as extraction writes it (refused when it cannot)."""
    from signtrain.extract.holistic import extractable_layouts, layout_for_width

    name = (predictor.meta.extraction or {}).get("layout") or predictor.meta.layout
    if name and name not in extractable_layouts():
        raise DataError(f"{predictor.path}: the model was trained on the '{name}' layout, which MediaPipe Holistic "
                        f"extraction does not write; predict on recordings made the way its training data was")
    return layout_for_width(predictor.feature_length)


def live(predictor: Predictor, source: Any, asset: Path, threshold: float, smooth: int, hold: int,
         on_emission: Callable[[Emission], None]) -> StreamResult:
    """Signs from a camera (a device number) or any video source as it plays: each frame's landmarks
    join a window of the model's length, the window is predicted, and the Decider emits.  Stops at
    the end of the source or on Ctrl-C, returning what was said."""
    from signtrain.extract import video
    from signtrain.extract.holistic import Landmarker, quiet, selection

    layout = model_layout(predictor)
    chosen, T = selection(layout), predictor.sequence_length
    decider = Decider(predictor.labels, threshold, smooth, hold)
    window: list[np.ndarray] = []
    stamps: list[int] = []
    result = StreamResult(frames=0, steps=0)
    try:
        with quiet(), Landmarker(asset) as task:
            for index, stamp, rgb in video.frames(source):
                vector, _ = task.detect(rgb, stamp)
                window, stamps = [*window[-(T - 1):], vector[chosen]], [*stamps[-(T - 1):], stamp]
                result.frames = index + 1
                if len(window) < T:
                    continue
                probs = predictor.predict_proba(np.stack(window)[None])[0]
                result.steps += 1
                emission = decider.step(probs, index - T + 1, index)
                if emission:
                    emission.start_s, emission.end_s = stamps[0] / 1000.0, stamp / 1000.0
                    result.emissions.append(emission)
                    on_emission(emission)
    except KeyboardInterrupt:
        pass
    return result
