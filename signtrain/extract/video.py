"""Reading frames from video files and cameras with OpenCV (installed with the extract extra).

Frame counts come from decoding, never from the container's header (which is often wrong for
phone and webm videos), so "--frames N, evenly sampled" picks the same frames every time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import numpy as np

from signtrain.errors import SigntrainError
from signtrain.extract.holistic import INSTALL_HINT, QUIET_ENV, ExtractUnavailable

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                            ".3gp", ".ts"})
DEFAULT_FPS = 30.0  # when a stream says nothing about its rate


class VideoError(SigntrainError):
    """A video cannot be opened or holds no frames."""

    exit_code = 1


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def _cv2() -> Any:
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import cv2
    except ImportError:
        raise ExtractUnavailable(f"reading videos needs OpenCV: {INSTALL_HINT}") from None
    return cv2


def open_capture(source: Union[Path, int, str]) -> tuple[Any, float]:
    """An opened cv2.VideoCapture and its frame rate; a video file, a camera number or a stream URL."""
    cv2 = _cv2()
    if isinstance(source, Path) and not source.is_file():
        raise VideoError(f"{source}: no such video file")
    capture = cv2.VideoCapture(str(source) if isinstance(source, Path) else source)
    if not capture.isOpened():
        capture.release()
        what = f"camera {source}" if isinstance(source, int) else str(source)
        raise VideoError(f"{what}: cannot be opened as a video (OpenCV could not decode it); check the file or "
                         f"device")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    return capture, (fps if 1.0 <= fps <= 1000.0 else DEFAULT_FPS)


def frame_rate(path: Path) -> float:
    capture, fps = open_capture(path)
    capture.release()
    return fps


def header_frame_count(path: Union[Path, str]) -> int:
    """The frame count the container claims (cheap, often approximate): for an ETA; 0 when unknown."""
    try:
        capture, _ = open_capture(Path(path))
    except SigntrainError:
        return 0
    try:
        return max(int(capture.get(_cv2().CAP_PROP_FRAME_COUNT)), 0)
    finally:
        capture.release()


def count_frames(path: Path) -> int:
    """The number of frames that decode (grab() skips the colour conversion)."""
    capture, _ = open_capture(path)
    try:
        count = 0
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def even_sample(total: int, wanted: Optional[int]) -> np.ndarray:
    """Indices of `wanted` frames spread evenly over `total` (all of them when wanted is None).
    A video shorter than `wanted` repeats frames, evenly too."""
    if wanted is None:
        return np.arange(total)
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.round(np.linspace(0, total - 1, wanted)).astype(np.int64)


def frames(source: Union[Path, int, str], picks: Optional[np.ndarray] = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """(frame index, timestamp in ms, RGB image) for each frame in `picks` (all when None), in order.
    Timestamps strictly increase, as MediaPipe's video mode requires."""
    cv2 = _cv2()
    capture, fps = open_capture(source)
    wanted = None if picks is None else np.bincount(picks) if len(picks) else np.zeros(0, dtype=np.int64)
    index, last_ms = 0, -1
    try:
        while wanted is None or index < len(wanted):
            ok, bgr = capture.read()
            if not ok:
                return
            repeats = 1 if wanted is None else int(wanted[index])
            if repeats:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                for _ in range(repeats):
                    last_ms = max(last_ms + 1, int(round(index * 1000.0 / fps)))
                    yield index, last_ms, rgb
            index += 1
    finally:
        capture.release()
