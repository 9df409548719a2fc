"""Training-split augmentation inside tf.data, on raw landmark coordinates (x, y in [0, 1]).

Spatial (a batch at a time, fresh parameters per sequence): small rotation, scale and shift
about the image centre, noise on x and y, and left-right mirroring that swaps the hands (and
the pose's left/right points) - optional, as it changes some signs' meaning.  Temporal (one
sequence at a time): a random window (crop), a speed change (the sequence resampled to a longer
or shorter length), frame dropout, and rest: the signer still before and after the sign (its edge
frames held), as the live path's window shows a sign that is shorter than the window; and context
(a batch at a time): in a share of those, the stillness before the sign first shows the end of
another recording of the batch, as a sentence's live window shows the sign signed before.
Undetected (all-zero) parts stay exactly zero.
"""

from __future__ import annotations

import math
from typing import Any

from signtrain.config import AugmentConfig
from signtrain.layouts import Layout

# MediaPipe pose landmarks that trade places in a mirror image
POSE_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20),
              (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32))


def spatial_enabled(cfg: AugmentConfig) -> bool:
    return any((cfg.rotation, cfg.scale, cfg.shift, cfg.noise, cfg.mirror))


def temporal_enabled(cfg: AugmentConfig) -> bool:
    return any((cfg.crop, cfg.speed, cfg.frame_dropout, cfg.rest))


def enabled(cfg: AugmentConfig) -> bool:
    return spatial_enabled(cfg) or temporal_enabled(cfg)


def _parts(x: Any, layout: Layout) -> dict:
    import tensorflow as tf

    shape = tf.shape(x)
    return {p.name: tf.reshape(x[..., p.start:p.stop], tf.concat([shape[:-1], [p.landmarks, p.dims]], 0))
            for p in layout.parts}


def _join(parts: dict, x: Any, layout: Layout) -> Any:
    import tensorflow as tf

    shape = tf.shape(x)
    return tf.concat([tf.reshape(parts[p.name], tf.concat([shape[:-1], [p.stop - p.start]], 0))
                      for p in layout.parts], axis=-1)


def _present(points: Any) -> Any:
    import tensorflow as tf

    return tf.cast(tf.reduce_any(tf.not_equal(points, 0.0), axis=[-2, -1], keepdims=True), points.dtype)


def mirror(x: Any, layout: Layout) -> Any:
    """x -> 1 - x for detected landmarks, hands swapped, pose left/right points swapped."""
    import tensorflow as tf

    parts = _parts(x, layout)
    flipped = {}
    for name, points in parts.items():
        mask = _present(points)
        xs = (1.0 - points[..., 0:1]) * mask
        points = tf.concat([xs, points[..., 1:]], axis=-1)
        if name == "pose":
            order = list(range(points.shape[-2]))
            for a, b in POSE_PAIRS:
                order[a], order[b] = b, a
            points = tf.gather(points, order, axis=-2)
        flipped[name] = points
    if len(layout.hands) == 2:
        left, right = layout.hands[0].name, layout.hands[1].name
        flipped[left], flipped[right] = flipped[right], flipped[left]
    return _join(flipped, x, layout)


def draw_move(batch: Any, cfg: AugmentConfig) -> tuple[Any, Any, Any]:
    """Per sequence of a batch: (angle [B, 1, 1] in radians, scale [B, 1, 1], shift [B, 1, 1, 2])."""
    import tensorflow as tf

    angle = tf.random.uniform([batch, 1, 1], -1.0, 1.0) * (cfg.rotation * math.pi / 180.0)
    scale = 1.0 + tf.random.uniform([batch, 1, 1], -1.0, 1.0) * cfg.scale
    shift = tf.random.uniform([batch, 1, 1, 2], -1.0, 1.0) * cfg.shift
    return angle, scale, shift


def draw_rest(frames: Any, room: Any, rest: float, shape: Any) -> tuple[Any, Any]:
    """Per sequence: (still frames around the sign - up to `rest` of `frames`, at most `room`, so the whole
    sign stays in view - and how many of them come before it)."""
    import tensorflow as tf

    still = tf.cast(tf.round(tf.random.uniform(shape) * rest * tf.cast(frames, tf.float32)), tf.int32)
    still = tf.clip_by_value(still, 0, room)
    left = tf.cast(tf.round(tf.random.uniform(shape) * tf.cast(still, tf.float32)), tf.int32)
    return still, left


def noise(shape: Any, std: float, seed: Any = None) -> Any:
    """Noise of standard deviation `std`, uniform: a third of the cost of a normal draw (measured: 3.5
    vs 9.4 ms a batch of 64 x 48 x 519 on one thread), and no worse to train with (benchmarks/accuracy.py,
    repeated CV on dgs_mpdata and traduttore_6x30).  Stateless (reproducible from `seed`) when given one."""
    import tensorflow as tf

    half = math.sqrt(3.0)  # uniform on [-a, a] has standard deviation a / sqrt(3)
    if seed is None:
        return tf.random.uniform(shape, -half, half) * std
    return tf.random.stateless_uniform(shape, seed, -half, half) * std


def spatial(x: Any, cfg: AugmentConfig, layout: Layout, move: Any = None) -> Any:
    """Batch [B, T, F] of raw frames -> the same batch, each sequence rotated/scaled/shifted/noised
    (move: draw_move's parameters, drawn here when not given)."""
    import tensorflow as tf

    batch = tf.shape(x)[0]
    angle, scale, shift = move if move is not None else draw_move(batch, cfg)
    cos, sin = tf.cos(angle)[..., None], tf.sin(angle)[..., None]
    parts = _parts(x, layout)
    moved = {}
    for name, points in parts.items():
        mask = _present(points)
        px, py = points[..., 0:1] - 0.5, points[..., 1:2] - 0.5
        rx = (cos * px - sin * py) * scale[..., None] + 0.5 + shift[..., 0:1]
        ry = (sin * px + cos * py) * scale[..., None] + 0.5 + shift[..., 1:2]
        rest = points[..., 2:3] * scale[..., None]
        out = tf.concat([rx, ry, rest, points[..., 3:]], axis=-1)
        if cfg.noise:  # x and y only: z is on another, often far smaller, scale
            draw = noise(tf.shape(out), cfg.noise)
            out = out + tf.concat([draw[..., :2], tf.zeros_like(draw[..., 2:])], axis=-1)
        moved[name] = out * mask
    y = _join(moved, x, layout)
    if cfg.mirror:
        flip = tf.cast(tf.random.uniform([batch, 1, 1]) < 0.5, x.dtype)
        y = flip * mirror(y, layout) + (1 - flip) * y
    frame = tf.cast(tf.reduce_any(tf.not_equal(x, 0.0), axis=-1, keepdims=True), x.dtype)
    return y * frame


def _nearest(frames: Any, length: Any) -> Any:
    """Nearest-frame resampling to `length` frames, as data.resample does when loading."""
    import tensorflow as tf

    n = tf.cast(tf.shape(frames)[0], tf.float32)
    return tf.gather(frames, tf.cast(tf.floor(tf.linspace(0.0, n - 1.0, length) + 0.5), tf.int32))


def temporal(frames: Any, length: Any, cfg: AugmentConfig, refill: bool = False) -> tuple[Any, Any, Any]:
    """One sequence [T, F] with `length` real frames -> a random window of it (crop), resampled at a
    random speed, frames dropped, its first and last frame held still around it (rest), padded back
    to T.  refill (data.resample: every sequence fills all T frames, in training and at inference
    alike) stretches the result back to T frames instead of padding, so that the model trains on
    full-length inputs; the speed change then has no effect and crop + dropout make the time warp.
    Returns (frames, real frames, still frames before the sign: where with_context may show another)."""
    import tensorflow as tf

    T = tf.shape(frames)[0]
    length = tf.clip_by_value(tf.cast(length, tf.int32), 1, T)
    real = frames[:length]
    if cfg.crop:
        keep = 1.0 - tf.random.uniform([]) * cfg.crop
        size = tf.clip_by_value(tf.cast(tf.round(tf.cast(length, tf.float32) * keep), tf.int32), 1, length)
        start = tf.random.uniform([], 0, length - size + 1, dtype=tf.int32)
        real = real[start:start + size]
    if cfg.speed and not refill:
        factor = 1.0 + tf.random.uniform([], -1.0, 1.0) * cfg.speed
        n = tf.shape(real)[0]
        new = tf.clip_by_value(tf.cast(tf.round(tf.cast(n, tf.float32) * factor), tf.int32), 1, 4 * T)
        real = _nearest(real, new)
    if cfg.frame_dropout:
        keep = tf.random.uniform([tf.shape(real)[0]]) >= cfg.frame_dropout
        keep = tf.tensor_scatter_nd_update(keep, [[0]], [True])  # never drop every frame
        real = tf.boolean_mask(real, keep)
    left = tf.constant(0, tf.int32)
    if cfg.rest:
        n = tf.shape(real)[0]
        still, left = draw_rest(T if refill else n, T - 2 if refill else tf.maximum(T - n, 0), cfg.rest, [])
        sign = _nearest(real, T - still) if refill else real
        real = tf.concat([tf.repeat(sign[:1], left, axis=0), sign, tf.repeat(sign[-1:], still - left, axis=0)], 0)
    if refill:
        return tf.ensure_shape(_nearest(real, T), frames.shape), T, left
    real = real[:T]
    n = tf.shape(real)[0]
    padded = tf.pad(real, [[0, T - n], [0, 0]])
    return tf.ensure_shape(padded, frames.shape), n, left


def with_context(chosen: Any, frames: Any, lengths: Any, left: Any, share: float) -> Any:
    """A `share` of the chosen sequences [B, T, C] show, in the `left` still frames before the sign, the end
    of another sequence of the batch (from `frames`, its stored frames, `lengths` real) and then its last
    frame held: a sign as the live window shows it in a sentence, the sign before it in view."""
    import tensorflow as tf

    B, T = tf.shape(chosen)[0], tf.shape(chosen)[1]
    left = tf.cast(left, tf.int32)
    other = tf.random.shuffle(tf.range(B))
    shown = tf.cast(tf.round(tf.random.uniform([B]) * tf.cast(left, tf.float32)), tf.int32)  # its frames in view
    n = tf.gather(tf.clip_by_value(tf.cast(lengths, tf.int32), 1, T), other)
    t = tf.range(T)[None, :]
    source = tf.clip_by_value(n[:, None] - shown[:, None] + t, 0, n[:, None] - 1)
    before = tf.gather(tf.gather(frames, other), source, batch_dims=1)
    use = (t < left[:, None]) & (tf.random.uniform([B, 1]) < share)
    return tf.where(use[..., None], before, chosen)
