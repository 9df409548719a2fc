"""Landmark-aware features, written once in TensorFlow ops so that training, evaluation,
prediction and the exported graphs compute exactly the same numbers.

raw frames [N, T, F] -> optional, in this order:
  sort_hands          the two hand slots ordered left/right by wrist x (a lone hand goes by the
                      side of the image it is on), as detectors fill slots in detection order
  hand_normalization  each hand centred on its wrist and scaled by wrist-to-middle-knuckle length;
                      the wrist row keeps the hand's position
  body_normalization  every part (the hands' wrist rows included) centred between the shoulders
                      and scaled by shoulder width; without a pose, centred on the face point
  parts               keep only these body parts (e.g. drop the 1404 face values of 1662)
  face: key           keep 76 of the 468 face mesh points: lips, nose, eyes (what moves in signing)
  presence            one 0/1 flag per part: an undetected part is all zero and flagged absent,
                      never fed as fake coordinates
  velocity            frame-to-frame differences appended
A frame that is all zero on input (padding, nothing detected) stays all zero, so the model's
Masking layer still skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from signtrain.config import PreprocessConfig
from signtrain.errors import ConfigError
from signtrain.layouts import KNOWN_LENGTHS, BodyPart, Layout, detect_layout

WRIST, MIDDLE_KNUCKLE = 0, 9
# MediaPipe face mesh indices: lips (outer and inner contour), nose, left and right eye contours
FACE_KEY = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375,
            78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308,
            1, 2, 98, 327,
            263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
            33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
EPS = 1e-6


@dataclass(frozen=True)
class FeatureSpec:
    raw_length: int
    layout: Optional[Layout]
    sort_hands: bool = False
    hand_normalization: bool = False
    body_normalization: bool = False
    parts: Optional[tuple[str, ...]] = None
    presence: bool = False
    velocity: bool = False
    face_key: bool = False

    @classmethod
    def from_config(cls, cfg: PreprocessConfig, raw_length: int) -> "FeatureSpec":
        layout = detect_layout(raw_length)
        # auto: what the layout allows, so one recipe runs on any data (an unknown layout gets none)
        body = cfg.body_normalization
        if body == "auto":
            body = layout is not None and bool(layout.part("pose") or layout.part("face_point"))
        sort_hands = cfg.sort_hands if cfg.sort_hands != "auto" else layout is not None and len(layout.hands) == 2
        hands = cfg.hand_normalization if cfg.hand_normalization != "auto" else layout is not None and \
            bool(layout.hands)
        presence = cfg.presence if cfg.presence != "auto" else layout is not None
        face = cfg.face
        if face == "auto":
            face = "key" if layout is not None and layout.part("face") and (not cfg.parts or "face" in cfg.parts) \
                else "all"
        spec = cls(raw_length, layout, sort_hands, hands, body, cfg.parts, presence, cfg.velocity, face == "key")
        needs_layout = [k for k in ("sort_hands", "hand_normalization", "body_normalization", "parts", "presence",
                                    "face_key") if getattr(spec, k)]
        if needs_layout and layout is None:
            raise ConfigError(f"preprocess.{needs_layout[0]} needs a known layout ({KNOWN_LENGTHS}); "
                              f"the data has {raw_length} values per frame")
        if spec.parts:
            unknown = [p for p in spec.parts if layout.part(p) is None]
            if unknown:
                raise ConfigError(f"preprocess.parts: '{unknown[0]}' is not in the {layout.name} layout "
                                  f"({', '.join(p.name for p in layout.parts)})")
        if spec.face_key and not layout.part("face"):
            raise ConfigError(f"preprocess.face: key needs a layout with the face mesh (holistic, 1662); the "
                              f"{layout.name} layout has none")
        if spec.sort_hands and len(layout.hands) != 2:
            raise ConfigError("preprocess.sort_hands needs a layout with two hands")
        if spec.body_normalization and not (layout.part("pose") or layout.part("face_point")):
            raise ConfigError("preprocess.body_normalization needs a layout with a pose or a face point")
        return spec

    @property
    def active(self) -> bool:
        return any((self.sort_hands, self.hand_normalization, self.body_normalization, self.parts, self.presence,
                    self.velocity, self.face_key))

    def kept_parts(self) -> list[BodyPart]:
        return [p for p in self.layout.parts if not self.parts or p.name in self.parts] if self.layout else []

    def width(self, part: BodyPart) -> int:
        """Values a kept part contributes (the face: only its key points with face: key)."""
        if self.face_key and part.name == "face":
            return len(FACE_KEY) * part.dims
        return part.stop - part.start

    @property
    def output_length(self) -> int:
        if not self.active:
            return self.raw_length
        width = sum(self.width(p) for p in self.kept_parts()) if self.layout else self.raw_length
        flags = len(self.kept_parts()) if self.presence else 0
        return width * (2 if self.velocity else 1) + flags


def _part(x: Any, part: BodyPart) -> Any:
    import tensorflow as tf

    shape = tf.shape(x)
    return tf.reshape(x[..., part.start:part.stop], tf.concat([shape[:-1], [part.landmarks, part.dims]], 0))


def _present(points: Any) -> Any:
    """[.., L, D] -> [.., 1, 1] 1.0 where the part was detected (any non-zero value)."""
    import tensorflow as tf

    return tf.cast(tf.reduce_any(tf.not_equal(points, 0.0), axis=[-2, -1], keepdims=True), points.dtype)


def _sort_hands(parts: dict, left: str, right: str) -> None:
    import tensorflow as tf

    a, b = parts[left], parts[right]
    has_a, has_b = _present(a), _present(b)
    xa, xb = a[..., WRIST:WRIST + 1, 0:1], b[..., WRIST:WRIST + 1, 0:1]
    both = has_a * has_b
    # both hands: order by wrist x; one hand: its side of the image decides its slot
    swap = both * tf.cast(xa > xb, a.dtype) + has_a * (1 - has_b) * tf.cast(xa > 0.5, a.dtype) \
        + has_b * (1 - has_a) * tf.cast(xb <= 0.5, a.dtype)
    parts[left], parts[right] = swap * b + (1 - swap) * a, swap * a + (1 - swap) * b


def _hand_size(points: Any) -> Any:
    """[.., 21, D] -> [.., 1, 1] wrist-to-middle-knuckle length in x, y."""
    import tensorflow as tf

    return tf.norm(points[..., MIDDLE_KNUCKLE:MIDDLE_KNUCKLE + 1, :2] - points[..., WRIST:WRIST + 1, :2], axis=-1,
                   keepdims=True)


def _normalise_hand(points: Any) -> Any:
    import tensorflow as tf

    present = _present(points)
    xyz = points[..., :3]
    wrist = xyz[..., WRIST:WRIST + 1, :]
    size = _hand_size(points)
    centred = (xyz - wrist) / (size + EPS)
    # the wrist's own row (always 0 once centred) keeps where the hand is instead
    centred = tf.concat([wrist, centred[..., 1:, :]], axis=-2)
    return tf.concat([centred, points[..., 3:]], axis=-1) * present


def _body_frame(parts: dict) -> tuple[Any, Any, Any]:
    """(centre, scale, present) of the body reference: the shoulders, else the face point."""
    import tensorflow as tf

    if "pose" not in parts:
        point = parts["face_point"]
        return tf.pad(point, [[0, 0]] * (len(point.shape) - 1) + [[0, 1]]), 1.0, _present(point)
    pose = parts["pose"]
    left, right = pose[..., LEFT_SHOULDER:LEFT_SHOULDER + 1, :3], pose[..., RIGHT_SHOULDER:RIGHT_SHOULDER + 1, :3]
    centre = (left + right) / 2
    width = tf.norm(left[..., :2] - right[..., :2], axis=-1, keepdims=True)
    return centre, width, _present(pose)


def transform(x: Any, spec: FeatureSpec) -> Any:
    """TensorFlow ops: raw frames [..., T, F] -> features [..., T, spec.output_length]."""
    import tensorflow as tf

    if not spec.active:
        return x
    x = tf.convert_to_tensor(x, tf.float32)
    frame_present = tf.cast(tf.reduce_any(tf.not_equal(x, 0.0), axis=-1, keepdims=True), tf.float32)
    features, flags = (x, None) if spec.layout is None else _landmark_features(x, spec)[:2]
    return finish(features, flags, frame_present, spec)


def frame_parts(x: Any, spec: FeatureSpec) -> tuple[Any, Any, Any, Any]:
    """The per-frame part of the transform of a known layout, which commutes with choosing frames:
    raw [..., T, F] -> (features before velocity, one presence flag per kept part, frame present,
    geometry: [body reference present, its scale, each hand's size] in raw image units)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x, tf.float32)
    frame_present = tf.cast(tf.reduce_any(tf.not_equal(x, 0.0), axis=-1, keepdims=True), tf.float32)
    features, flags, geometry = _landmark_features(x, spec, geometry=True)
    return features, flags, frame_present, geometry


def finish(features: Any, flags: Any, frame_present: Any, spec: FeatureSpec) -> Any:
    """Velocity and presence flags appended to per-frame features; frames with nothing detected zero."""
    import tensorflow as tf

    if spec.velocity:
        previous = tf.concat([features[..., :1, :], features[..., :-1, :]], axis=-2)
        previous_present = tf.concat([frame_present[..., :1, :], frame_present[..., :-1, :]], axis=-2)
        features = tf.concat([features, (features - previous) * previous_present], axis=-1)
    if spec.presence:
        features = tf.concat([features, flags], axis=-1)
    return features * frame_present


def _landmark_features(x: Any, spec: FeatureSpec, geometry: bool = False) -> tuple[Any, Any, Any]:
    """The per-part steps of a known layout (selecting, sorting, normalising) -> (features, one 0/1
    presence flag per kept part, geometry as frame_parts gives it, or None unless asked)."""
    import tensorflow as tf

    parts = {p.name: _part(x, p) for p in spec.layout.parts}
    if spec.face_key:
        parts["face"] = tf.gather(parts["face"], FACE_KEY, axis=-2)
    if spec.sort_hands:
        _sort_hands(parts, spec.layout.hands[0].name, spec.layout.hands[1].name)
    presence = {name: _present(points) for name, points in parts.items()}
    shape = tf.shape(x)
    frame = tf.concat([shape[:-1], [1]], 0)
    sizes = [tf.reshape(_hand_size(parts[h.name]), frame) for h in spec.layout.hands] if geometry else []
    body = [tf.zeros(frame), tf.ones(frame)] if geometry else []
    if spec.body_normalization:
        # hands too: hand normalisation below only reads their wrists' positions, now body-relative
        centre, width, ok = _body_frame(parts)
        if geometry:
            body = [tf.reshape(ok, frame), tf.reshape(width * tf.ones_like(ok), frame)]
        for name, points in parts.items():
            xyz = min(points.shape[-1], 3)
            moved = (points[..., :xyz] - centre[..., :xyz]) / (width + EPS)
            parts[name] = tf.concat([moved, points[..., xyz:]], axis=-1) * presence[name] * ok + \
                points * (1 - ok)
    if spec.hand_normalization:
        for hand in spec.layout.hands:
            parts[hand.name] = _normalise_hand(parts[hand.name])
    kept = spec.kept_parts()
    flat = [tf.reshape(parts[p.name], tf.concat([shape[:-1], [spec.width(p)]], 0)) for p in kept]
    flags = [tf.reshape(presence[p.name], tf.concat([shape[:-1], [1]], 0)) for p in kept]
    return (tf.concat(flat, axis=-1), tf.concat(flags, axis=-1),
            tf.concat(body + sizes, axis=-1) if geometry else None)


def transform_numpy(X: np.ndarray, spec: FeatureSpec, chunk: int = 512) -> np.ndarray:
    """The same transform, eagerly, on an array (or memory map) in chunks."""
    if not spec.active:
        return X
    out = np.empty(X.shape[:-1] + (spec.output_length,), np.float32)
    for start in range(0, len(X), chunk):
        out[start:start + chunk] = transform(np.asarray(X[start:start + chunk], np.float32), spec).numpy()
    return out
