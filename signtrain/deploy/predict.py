"""Running a model on one recording: top-k signs, or the signs of a long one, said as they come
(deploy.live: one Recognizer for a recording, a video and a camera)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from signtrain.data.account import refusal_of
from signtrain.data.assemble import IssueLog, apply_frame_policies, fit_length, to_length, vector_length_histogram
from signtrain.data.dataset import DEFECT_KINDS
from signtrain.data.mpdata import SequenceEntry, read_entries
from signtrain.deploy.live import Emission, LiveSettings, Recognizer, recognise
from signtrain.deploy.predictor import Predictor
from signtrain.errors import DataError
from signtrain.layouts import Layout, describe


@dataclass
class StreamResult:
    frames: int
    steps: int                  # windows classified
    fps: Optional[float] = None  # the source's frame rate, where known
    emissions: list[Emission] = field(default_factory=list)
    processed_fps: Optional[float] = None  # live: frames landmarked and recognised per second of wall time

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
    window = to_length(frames, predictor.sequence_length, data.resample, data.truncate)
    probs = predictor.predict_proba(window[None])[0]
    order = np.argsort(-probs)[:k]
    return [(predictor.labels[i], float(probs[i])) for i in order]


def windows(frames: np.ndarray, length: int) -> np.ndarray:
    """Every window of `length` consecutive frames, [steps, length, F] (one, padded, when shorter)."""
    if len(frames) < length:
        return fit_length(frames, length, "keep_start")[0][None]
    view = np.lib.stride_tricks.sliding_window_view(frames, length, axis=0)  # [steps, F, length]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def stream(predictor: Predictor, frames: np.ndarray, settings: LiveSettings,
           fps: Optional[float] = None) -> StreamResult:
    """The signs of a long recording, frame by frame as a camera would deliver them."""
    recognizer = recognise(predictor.predict_proba, predictor.labels, settings, frames)
    return StreamResult(frames=len(frames), steps=recognizer.decisions, fps=fps,
                        emissions=[e.timed(fps) for e in recognizer.emissions])


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


def live(predictor: Predictor, source: Any, asset: Path, settings_for: Callable[[Optional[float]], LiveSettings],
         on_emission: Callable[[Emission], None]) -> StreamResult:
    """Signs from a camera (a device number) or any video source as it plays: each frame's landmarks go
    to the same Recognizer as a recording's.  Stops at the end of the source or on Ctrl-C, returning
    what was said.  settings_for(fps) gives the windowing for the source's frame rate."""
    from signtrain.extract import video
    from signtrain.extract.holistic import Landmarker, quiet, selection

    chosen = selection(model_layout(predictor))
    fps = video.frame_rate(source) if not isinstance(source, int) else None
    stamps: list[int] = []

    def said(emission: Emission) -> None:
        emission.start_s, emission.end_s = stamps[emission.start_frame] / 1000.0, stamps[-1] / 1000.0
        on_emission(emission)

    recognizer = Recognizer(predictor.predict_proba, predictor.labels, settings_for(fps), said)
    started = time.perf_counter()
    try:
        with quiet(), Landmarker(asset) as task:
            for index, stamp, rgb in video.frames(source):
                vector, _ = task.detect(rgb, stamp)
                stamps.append(stamp)
                recognizer.push(vector[chosen])
            recognizer.finish()
    except KeyboardInterrupt:
        pass
    seconds = time.perf_counter() - started
    # a camera keeps only its newest frames: those that arrive while one is processed are dropped by its
    # buffer, so processed_fps below the camera's rate means frames were skipped (windows span time, not count)
    return StreamResult(frames=recognizer.frames, steps=recognizer.decisions, fps=fps,
                        emissions=recognizer.emissions,
                        processed_fps=round(recognizer.frames / seconds, 1) if seconds > 0 else None)
