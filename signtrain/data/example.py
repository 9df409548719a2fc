"""A small synthetic MP_Data tree that looks like a webcam recording run through MediaPipe.

Each sign is a hand shape moving along its own path in front of a still body,
with per-recording changes of speed, size and position, sensor noise, a few
frames never written (dropped) and a few all-zero frames (nothing detected).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from signtrain import paths
from signtrain.errors import ConfigError, DataError
from signtrain.layouts import LAYOUTS, Layout, detect_layout

SIGN_NAMES = ("hello", "thanks", "yes", "no", "please", "sorry", "help", "more", "eat", "drink",
              "water", "home", "friend", "family", "school", "work", "good", "bad", "love", "stop")


@dataclass(frozen=True)
class ExampleSummary:
    root: str
    signs: list[str]
    sequences: int
    frames_written: int
    frames_dropped: int
    zero_frames: int


def _hand(rng: np.random.Generator, curl: np.ndarray, spread: float) -> np.ndarray:
    """21 landmarks relative to the wrist: 5 fingers of 4 joints, curled and spread per sign."""
    points = [np.zeros(3)]
    for finger in range(5):
        angle = (finger - 2) * spread - np.pi / 2
        for joint in range(1, 5):
            bend = angle + curl[finger] * joint * 0.35
            reach = 0.025 * joint * (1 - 0.15 * curl[finger])
            points.append([reach * np.cos(bend), reach * np.sin(bend), -0.01 * joint * curl[finger]])
    return np.asarray(points) + rng.normal(0, 0.002, (21, 3))


def _pose(rng: np.random.Generator) -> np.ndarray:
    base = np.zeros((33, 3))
    base[:11] = [0.5, 0.25, -0.3] + rng.normal(0, 0.01, (11, 3))           # face points
    base[11:13] = [[0.38, 0.45, -0.1], [0.62, 0.45, -0.1]]                   # shoulders
    base[13:23] = [0.5, 0.6, -0.1] + rng.normal(0, 0.05, (10, 3))            # arms
    base[23:] = [0.5, 0.95, 0.0] + rng.normal(0, 0.05, (10, 3))              # hips, legs
    return base


def _sign_style(rng: np.random.Generator) -> dict:
    return {
        "curl": rng.uniform(0, 1.5, 5),
        "spread": rng.uniform(0.1, 0.4),
        "radius": rng.uniform(0.04, 0.12, 2),
        "freq": rng.uniform(0.5, 2.0, 2),
        "phase": rng.uniform(0, 2 * np.pi),
        "centre": np.array([rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.6)]),
        "two_handed": bool(rng.random() < 0.5),
    }


def _frame(layout: Layout, pose: np.ndarray, wrists: list[np.ndarray], hands: list[np.ndarray],
           rng: np.random.Generator) -> np.ndarray:
    vector = np.zeros(layout.length)
    for part in layout.parts:
        if part.name == "pose":
            values = pose + rng.normal(0, 0.003, pose.shape)
            if part.dims == 4:
                values = np.hstack([values, np.full((33, 1), 0.99)])
        elif part.name == "face":
            values = pose[0] + rng.normal(0, 0.04, (468, 3)) * [1, 1.3, 0.3]
        elif part.name == "face_point":
            values = pose[0, :2] + rng.normal(0, 0.003, 2)
        else:
            slot = 0 if part.name in ("right_hand", "hand") else 1
            if hands[slot] is None:
                continue
            values = hands[slot] + np.append(wrists[slot], 0) + rng.normal(0, 0.002, (21, 3))
        vector[part.start:part.stop] = values.reshape(-1)
    return vector


MAX_FRAME_FILES = 1_000_000  # an example, not a corpus: about 1-7 GB at the largest layout


def write_example(root: Path, signs: int = 3, sequences: int = 30, frames: int = 30,
                  features: int = 225, seed: int = 0, defect_rate: float = 0.02,
                  on_progress: Optional[Callable[[int, int], None]] = None) -> ExampleSummary:
    """Write ROOT/<sign>/<seq>/<frame>.npy; returns what was written, defects included.
    on_progress(recordings written, recordings in all) hears each recording."""
    total = signs * sequences * frames
    if total > MAX_FRAME_FILES:
        raise ConfigError(f"--signs {signs} --sequences {sequences} --frames {frames} would write {total:,} frame "
                          f"files; an example holds at most {MAX_FRAME_FILES:,}: lower them")
    paths.writable_place(root, "FOLDER", ConfigError, "choose a new folder you can write")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"FOLDER {root}: a file is there, not a folder; choose a new folder")
    layout = detect_layout(features)
    if layout is None or not layout.hands:
        raise ConfigError(f"--features {features}: choose a known layout with hands "
                          f"({', '.join(str(n) for n, lay in LAYOUTS.items() if lay.hands)})")
    if root.exists() and any(root.iterdir()):
        raise DataError(f"{root} already holds files; choose an empty or new folder")
    rng = np.random.default_rng(seed)
    names = [SIGN_NAMES[i] if i < len(SIGN_NAMES) else f"sign_{i + 1}" for i in range(signs)]
    written = dropped = zeros = 0
    for k, name in enumerate(names):
        style = _sign_style(rng)
        for seq in range(sequences):
            folder = root / name / str(seq)
            folder.mkdir(parents=True)
            if on_progress:
                on_progress(k * sequences + seq, signs * sequences)
            pose = _pose(rng)
            speed = rng.uniform(0.8, 1.25)
            scale = rng.uniform(0.85, 1.15)
            offset = rng.normal(0, 0.02, 2)
            shape = _hand(rng, style["curl"] + rng.normal(0, 0.05, 5), style["spread"])
            for t in range(frames):
                if rng.random() < defect_rate:
                    dropped += 1  # the recorder skipped this frame
                    continue
                phase = 2 * np.pi * speed * t / frames
                path = style["radius"] * scale * np.array(
                    [np.cos(style["freq"][0] * phase + style["phase"]), np.sin(style["freq"][1] * phase)])
                right = style["centre"] + offset + path
                left = np.array([1 - right[0], right[1]])
                hands = [shape, shape * [-1, 1, 1] if style["two_handed"] else None]
                if rng.random() < defect_rate:
                    vector = np.zeros(layout.length)  # MediaPipe found nothing
                    zeros += 1
                else:
                    vector = _frame(layout, pose, [right, left], hands, rng)
                np.save(folder / f"{t}.npy", vector)
                written += 1
    return ExampleSummary(str(root), names, signs * sequences, written, dropped, zeros)
