"""Training augmentation on features computed once, instead of on raw landmarks batch by batch.

The landmark transform (sorting, normalising, selecting: transforms.features) works frame by frame,
so it commutes with choosing frames: the training split is transformed once (`precompute`), and a
batch is then a gather of precomputed frames (crop, frame dropout, resampling: `frame_indices`)
followed by the cheap, frame-crossing step (velocity, flags: `features.finish`).  Without
augmentation this gives exactly `transform(raw)`.

Spatial augmentation acts on the precomputed coordinates with the same parameters the landmark path
draws (rotation, scale, shift about the image centre, noise in image units) as they come out of the
normalisation: body-relative points only turn (a shoulder-width frame turns and scales with the
body), a face-point-relative one turns and scales, hand points relative to their wrist only turn,
and points still in image coordinates (no body reference in that frame, or none asked for) get the
whole affine move.  Noise is drawn in image units and divided by the unit each point is measured in
(shoulder width, hand size, or 1).  Mirroring is not offered here (it re-sorts the hands).

Precomputed frame = [features before velocity | presence flag per kept part | frame present |
body reference present | body scale | one size per hand of the layout].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from signtrain.config import AugmentConfig
from signtrain.transforms.augment import draw_move, draw_rest, noise
from signtrain.transforms.features import FeatureSpec, finish, frame_parts


def supported(spec: FeatureSpec, cfg: AugmentConfig) -> Optional[str]:
    """None when augmentation can run on precomputed features, else why not (in words)."""
    if spec.layout is None:
        return "the data's layout is unknown"
    if cfg.mirror:
        return "augment.mirror re-sorts the hands"
    return None


@dataclass(frozen=True)
class Columns:
    """How a precomputed frame is laid out."""

    width: int    # features before velocity
    parts: int    # presence flags (kept parts)
    hands: int    # hand sizes stored (the layout's hands)

    @property
    def frame_column(self) -> int:
        return self.width + self.parts

    @property
    def total(self) -> int:
        return self.frame_column + 3 + self.hands


def columns(spec: FeatureSpec) -> Columns:
    kept = spec.kept_parts()
    return Columns(sum(spec.width(p) for p in kept), len(kept), len(spec.layout.hands))

def precompute(X: np.ndarray, spec: FeatureSpec, chunk: int = 512) -> np.ndarray:
    """Raw sequences [N, T, F] -> precomputed frames [N, T, columns(spec).total]."""
    import tensorflow as tf

    out = np.empty(X.shape[:-1] + (columns(spec).total,), np.float32)
    for start in range(0, len(X), chunk):
        features, flags, present, geometry = frame_parts(np.asarray(X[start:start + chunk], np.float32), spec)
        out[start:start + chunk] = tf.concat([features, flags, present, geometry], axis=-1).numpy()
    return out


def features(frames: Any, spec: FeatureSpec) -> Any:
    """Precomputed frames [..., T, C] -> the model's features, as transform() gives them."""
    cols = columns(spec)
    return finish(frames[..., :cols.width], frames[..., cols.width:cols.frame_column],
                  frames[..., cols.frame_column:cols.frame_column + 1], spec)


def frame_indices(lengths: Any, T: int, cfg: AugmentConfig, refill: bool) -> tuple[Any, Any]:
    """For a batch of sequences with `lengths` real frames: which frame each of the T output frames
    shows ([B, T] int32), whether it shows one ([B, T] float32; 0 = padding), and how many of them
    are the stillness rest holds before the sign ([B] int32).  The draws of
    augment.temporal, for a whole batch at once: a random window (crop) of at least 1 - crop of the
    frames, a speed change, frame dropout (never the first frame), then nearest-frame resampling
    back to T frames (refill) or to the new length, padded; and rest held before and after (_rest)."""
    import tensorflow as tf

    n = tf.clip_by_value(tf.cast(lengths, tf.int32), 1, T)
    B = tf.shape(n)[0]
    nf = tf.cast(n, tf.float32)
    size, start = n, tf.zeros_like(n)
    if cfg.crop:
        keep = 1.0 - tf.random.uniform([B]) * cfg.crop
        size = tf.clip_by_value(tf.cast(tf.round(nf * keep), tf.int32), 1, n)
        start = tf.cast(tf.floor(tf.random.uniform([B]) * tf.cast(n - size + 1, tf.float32)), tf.int32)
        start = tf.minimum(start, n - size)
    positions = tf.range(T)[None, :]
    kept = positions < size[:, None]
    if cfg.frame_dropout:
        kept = kept & ((tf.random.uniform([B, T]) >= cfg.frame_dropout) | (positions == 0))
    count = tf.reduce_sum(tf.cast(kept, tf.int32), axis=1)
    out_len = tf.fill([B], T) if refill else count
    if cfg.speed and not refill:
        factor = 1.0 + tf.random.uniform([B], -1.0, 1.0) * cfg.speed
        out_len = tf.clip_by_value(tf.cast(tf.round(tf.cast(count, tf.float32) * factor), tf.int32), 1, 4 * T)
    # output frame t shows the kept frame of rank round(t * (count - 1) / (out_len - 1)), as _nearest does
    t = tf.cast(positions, tf.float32)
    span = tf.cast(tf.maximum(out_len - 1, 1), tf.float32)[:, None]
    rank = tf.cast(tf.floor(t * tf.cast(count - 1, tf.float32)[:, None] / span + 0.5), tf.int32)
    rank = tf.where(out_len[:, None] > 1, rank, 0)
    running = tf.cumsum(tf.cast(kept, tf.int32), axis=1)
    chosen = tf.searchsorted(running, rank + 1, side="left")
    index = tf.minimum(start[:, None] + chosen, T - 1)
    shown = tf.minimum(out_len, T)
    left = tf.zeros_like(shown)
    if cfg.rest:
        index, shown, left = _rest(index, shown, T, cfg.rest, refill)
    valid = tf.cast(positions < shown[:, None], tf.float32)
    return index * tf.cast(valid, tf.int32), valid, left


def _rest(index: Any, shown: Any, T: int, rest: float, refill: bool) -> tuple[Any, Any, Any]:
    """augment.temporal's rest for a batch: up to `rest` of each sequence's frames more of its first
    and last frame held still (refill: the sign squeezed into the frames left, nearest-frame)."""
    import tensorflow as tf

    still, left = draw_rest(tf.fill(tf.shape(shown), T) if refill else shown, T - 2 if refill else T - shown, rest,
                            tf.shape(shown))
    inner = (T - still) if refill else shown               # output frames the sign itself takes
    t = tf.cast(tf.range(T)[None, :] - left[:, None], tf.float32)
    steps = tf.cast(tf.maximum(shown - 1, 0), tf.float32) / tf.cast(tf.maximum(inner - 1, 1), tf.float32)
    source = tf.clip_by_value(tf.cast(tf.floor(t * steps[:, None] + 0.5), tf.int32), 0, shown[:, None] - 1)
    return tf.gather(index, source, batch_dims=1), shown if refill else shown + still, left


def choose_frames(frames: Any, index: Any, valid: Any) -> Any:
    """[B, T, C] precomputed frames, [B, T] indices and validity -> the chosen frames (zeros where invalid)."""
    import tensorflow as tf

    return tf.gather(frames, index, batch_dims=1) * valid[..., None]


def spatial(frames: Any, cfg: AugmentConfig, spec: FeatureSpec, move: Any = None) -> Any:
    """A batch of precomputed frames [B, T, C], each sequence moved as augment.spatial moves raw
    landmarks (move: augment.draw_move's parameters, drawn here when not given)."""
    import tensorflow as tf

    cols = columns(spec)
    angle, scale, shift = move if move is not None else draw_move(tf.shape(frames)[0], cfg)
    cos, sin = tf.cos(angle)[..., None], tf.sin(angle)[..., None]      # [B, 1, 1, 1]: per point
    scale = scale[..., None]
    g = cols.frame_column + 1
    body_ok, body_scale = frames[..., g:g + 1, None], frames[..., g + 1:g + 2, None]   # [B, T, 1, 1]
    face_point = spec.layout.part("pose") is None  # a face-point reference centres without scaling
    hands = [h.name for h in spec.layout.hands]
    seed = tf.random.uniform([2], maxval=2 ** 31 - 1, dtype=tf.int64) if cfg.noise else None
    moved, start = [], 0
    for k, part in enumerate(spec.kept_parts()):
        width = spec.width(part)
        points = tf.reshape(frames[..., start:start + width], tf.concat([tf.shape(frames)[:-1], [-1, part.dims]], 0))
        present = frames[..., cols.width + k:cols.width + k + 1, None]
        interior = np.zeros((width // part.dims, 1), np.float32)
        if part.name in hands and spec.hand_normalization:
            interior[1:] = 1.0  # measured from the wrist in hand sizes: these only turn
        if spec.body_normalization:
            relative, absolute = body_ok * (1 - interior), (1 - body_ok) * (1 - interior)
        else:
            relative, absolute = 0.0, tf.constant(1 - interior)
        factor = 1.0 + (scale - 1.0) * (absolute + relative if face_point else absolute)
        centre = 0.5 * absolute
        px, py = points[..., 0:1] - centre, points[..., 1:2] - centre
        nx = factor * (cos * px - sin * py) + centre + shift[..., 0:1] * absolute
        ny = factor * (sin * px + cos * py) + centre + shift[..., 1:2] * absolute
        # noise is drawn in image units, divided by the unit each point is measured in; the face point that
        # body normalisation centres on is the reference itself (always 0, as on landmarks, where it moves along)
        if cfg.noise and not (spec.body_normalization and part.name == "face_point"):
            hand = frames[..., g + 2 + hands.index(part.name), None, None] if part.name in hands else 0.0
            # a tiny hand (a bad detection) would turn image-unit noise into a huge move; on landmarks
            # the noise widens the hand it is divided by, so a unit is never much below the noise itself
            unit = tf.maximum(absolute + relative * (1.0 if face_point else body_scale) + interior * hand,
                              3.0 * cfg.noise)
            draw = noise(tf.shape(tf.concat([nx, ny], -1)), cfg.noise, seed + k)
            nx, ny = nx + draw[..., 0:1] / unit, ny + draw[..., 1:2] / unit
        rest = [points[..., 2:3] * factor, points[..., 3:]] if part.dims >= 3 else []
        out = tf.concat([nx, ny, *rest], axis=-1) * present
        moved.append(tf.reshape(out, tf.concat([tf.shape(frames)[:-1], [width]], 0)))
        start += width
    return tf.concat([*moved, frames[..., cols.width:]], axis=-1)
