"""Feature layouts met in the wild: which body part occupies which values of a frame vector.

The order follows the usual MediaPipe Holistic extraction (pose, face, left hand,
right hand), flattened landmark by landmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class BodyPart:
    name: str
    start: int
    landmarks: int
    dims: int  # values per landmark: 3 = x,y,z; 4 = x,y,z,visibility

    @property
    def stop(self) -> int:
        return self.start + self.landmarks * self.dims


@dataclass(frozen=True)
class Layout:
    name: str
    length: int
    parts: tuple[BodyPart, ...]
    description: str

    def part(self, name: str) -> Optional[BodyPart]:
        return next((p for p in self.parts if p.name == name), None)

    @property
    def hands(self) -> tuple[BodyPart, ...]:
        return tuple(p for p in self.parts if "hand" in p.name)


def _layout(name: str, description: str, *parts: tuple[str, int, int]) -> Layout:
    built, start = [], 0
    for part_name, landmarks, dims in parts:
        built.append(BodyPart(part_name, start, landmarks, dims))
        start += landmarks * dims
    return Layout(name, start, tuple(built), description)


LAYOUTS: dict[int, Layout] = {
    layout.length: layout
    for layout in (
        _layout("holistic", "pose xyzv + face + both hands",
                ("pose", 33, 4), ("face", 468, 3), ("left_hand", 21, 3), ("right_hand", 21, 3)),
        _layout("pose4_hands", "pose xyzv + both hands", ("pose", 33, 4), ("left_hand", 21, 3), ("right_hand", 21, 3)),
        _layout("pose_hands", "pose xyz + both hands", ("pose", 33, 3), ("left_hand", 21, 3), ("right_hand", 21, 3)),
        _layout("hands", "two hands", ("left_hand", 21, 3), ("right_hand", 21, 3)),
        # one face point (x, y) before the hands, as in the SignLanguageRecognition (DGS) CSV files
        _layout("face_point_hands", "face point xy + both hands",
                ("face_point", 1, 2), ("left_hand", 21, 3), ("right_hand", 21, 3)),
        _layout("one_hand", "one hand", ("hand", 21, 3)),
    )
}


KNOWN_LENGTHS = ", ".join(str(n) for n in LAYOUTS)  # for messages


def detect_layout(length: int) -> Optional[Layout]:
    """The known layout with this many values per frame, or None."""
    return LAYOUTS.get(length)


def describe(length: Optional[int]) -> str:
    if length is None:
        return "unknown"
    layout = detect_layout(length)
    return f"{length} ({layout.description})" if layout else f"{length} (unknown layout)"
