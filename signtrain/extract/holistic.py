"""MediaPipe Holistic (the Tasks API, mediapipe >= 1.0) behind one small interface: frames in,
landmark vectors in the tutorial's extract_keypoints order out.

The vector of a frame is pose 33 x (x, y, z, visibility), face 468 x 3, left hand 21 x 3,
right hand 21 x 3 = 1662 values, zeros where a part was not detected, exactly as the tutorial
writes it; a known smaller layout (pose4_hands 258, pose_hands 225, hands 126) is a selection
of those values.  The Tasks face mesh has 478 points: the first 468 are the legacy mesh, the
last 10 (iris) are left out, as the tutorial never had them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from signtrain.errors import ConfigError, SigntrainError
from signtrain.layouts import LAYOUTS, Layout
from signtrain.runtime import muted_stderr

HOLISTIC = next(layout for layout in LAYOUTS.values() if layout.name == "holistic")
PARTS = ("pose", "face", "left_hand", "right_hand")
INSTALL_HINT = "pip install 'signtrain[extract]'"
# MediaPipe's and FFmpeg's C++ logging is noise to a user (SIGNTRAIN_TF_LOGS=1 shows it)
QUIET_ENV = {} if os.environ.get("SIGNTRAIN_TF_LOGS") else {
    "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3", "OPENCV_FFMPEG_LOGLEVEL": "-8", "OPENCV_LOG_LEVEL": "OFF"}


class ExtractUnavailable(SigntrainError):
    """The optional extraction dependencies are not installed."""

    exit_code = 2


def extractable_layouts() -> dict[str, Layout]:
    """Layouts whose every part is a slice of the holistic vector (by name)."""
    return {layout.name: layout for layout in LAYOUTS.values()
            if all(part.name in PARTS and part.dims <= HOLISTIC.part(part.name).dims for part in layout.parts)}


def _listed() -> str:
    return ", ".join(f"{n} = {layout.length}" for n, layout in extractable_layouts().items())


def layout_named(name: str) -> Layout:
    known = extractable_layouts()
    if name not in known:
        raise ConfigError(f"--layout {name}: extraction writes one of {_listed()}")
    return known[name]


def layout_for_width(width: int) -> Layout:
    """The extractable layout a model with `width` values per frame was trained on."""
    for layout in extractable_layouts().values():
        if layout.length == width:
            return layout
    raise ConfigError(f"the model reads {width} values per frame, which is no layout MediaPipe Holistic extraction "
                      f"writes ({_listed()}); extract the landmarks the way the training data was made and predict "
                      f"on the .npy")


def selection(layout: Layout) -> np.ndarray:
    """Indices into the 1662-value holistic vector that make up `layout`'s vector."""
    picks = []
    for part in layout.parts:
        source = HOLISTIC.part(part.name)
        for landmark in range(part.landmarks):
            base = source.start + landmark * source.dims
            picks.extend(range(base, base + part.dims))
    return np.asarray(picks, dtype=np.int64)


def quiet() -> contextlib.AbstractContextManager:
    """MediaPipe logs from its own threads while it runs: muted unless SIGNTRAIN_TF_LOGS is set."""
    return muted_stderr() if QUIET_ENV else contextlib.nullcontext()


def _import_mediapipe() -> Any:
    """mediapipe's task modules import TensorFlow (4-6 s, and its start-up chatter) only to
    borrow a no-op documentation decorator; a stand-in for that one module keeps extraction and
    TFLite prediction free of TensorFlow."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    name = "mediapipe.tasks.python.core.optional_dependencies"
    if name not in sys.modules and "tensorflow" not in sys.modules:
        stub = types.ModuleType(name)
        stub.doc_controls = types.SimpleNamespace(do_not_generate_docs=lambda x: x)
        sys.modules[name] = stub
    try:
        with muted_stderr():
            import mediapipe
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core import base_options
    except ImportError as exc:
        raise ExtractUnavailable(f"extraction needs MediaPipe ({exc.name or exc}): {INSTALL_HINT}") from None
    return mediapipe, vision, base_options


def _block(landmarks: Optional[list], count: int, with_visibility: bool) -> tuple[np.ndarray, bool]:
    width = 4 if with_visibility else 3
    if not landmarks:
        return np.zeros(count * width, dtype=np.float32), False
    rows = [(p.x, p.y, p.z, p.visibility or 0.0) if with_visibility else (p.x, p.y, p.z) for p in landmarks[:count]]
    return np.asarray(rows, dtype=np.float32).reshape(-1), True


def holistic_vector(result: Any) -> tuple[np.ndarray, tuple[bool, bool, bool, bool]]:
    """One HolisticLandmarkerResult -> (1662 float32 values, which of pose/face/left/right were seen)."""
    pose, has_pose = _block(result.pose_landmarks, 33, True)
    face, has_face = _block(result.face_landmarks, 468, False)
    left, has_left = _block(result.left_hand_landmarks, 21, False)
    right, has_right = _block(result.right_hand_landmarks, 21, False)
    return np.concatenate([pose, face, left, right]), (has_pose, has_face, has_left, has_right)


@dataclass
class Landmarker:
    """A HolisticLandmarker in VIDEO mode (tracking from frame to frame, as the tutorial's
    Holistic did); one per video, so a result never depends on the video processed before."""

    asset: Path
    _task: Any = None
    _image: Any = None

    def __enter__(self) -> "Landmarker":
        mediapipe, vision, base_options = _import_mediapipe()
        options = vision.HolisticLandmarkerOptions(
            base_options=base_options.BaseOptions(model_asset_path=str(self.asset)),
            running_mode=vision.RunningMode.VIDEO)
        try:
            with muted_stderr():
                self._task = vision.HolisticLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise SigntrainError(f"{self.asset}: MediaPipe cannot load this model bundle ({str(exc)[:160]}); give a "
                                 f"holistic_landmarker.task with --model-asset, or delete it to download it again") \
                from None
        self._image = mediapipe.Image, mediapipe.ImageFormat.SRGB
        return self

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> tuple[np.ndarray, tuple[bool, bool, bool, bool]]:
        image_type, srgb = self._image
        return holistic_vector(self._task.detect_for_video(image_type(image_format=srgb, data=rgb), timestamp_ms))

    def __exit__(self, *exc: Any) -> None:
        # an unclosed landmarker raises from its finaliser at interpreter exit
        if self._task is not None:
            with contextlib.suppress(Exception):
                self._task.close()
            self._task = None

