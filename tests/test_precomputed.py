"""Augmentation on precomputed features (augment.precomputed) gives the features the per-batch
landmark path gives: exactly without augmentation and for the same frames chosen, to float rounding
for the same rotation/scale/shift, on every layout; the batched frame choice keeps augment.temporal's
rules; training falls back to the landmark path where the features path cannot run."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from signtrain.config import load_config, replace
from signtrain.layouts import LAYOUTS
from signtrain.transforms.features import FeatureSpec, transform

tf = pytest.importorskip("tensorflow")
from signtrain.transforms import augment, precomputed  # noqa: E402

LENGTHS = sorted(LAYOUTS)


def landmarks(length: int, seed: int, n: int = 4, T: int = 10) -> np.ndarray:
    """Plausible frames of a layout: each part a cloud of points around its own centre, sizes of
    real hands and shoulders; some parts, frames and a whole sequence undetected."""
    rng = np.random.default_rng(seed)
    layout = LAYOUTS[length]
    x = np.zeros((n, T, length), np.float32)
    for part in layout.parts:
        centre = rng.uniform(0.3, 0.7, (n, 1, 1, 2))
        points = np.zeros((n, T, part.landmarks, part.dims), np.float32)
        spread = 0.08 if "hand" in part.name else 0.2
        points[..., :2] = centre + rng.normal(0, spread, (n, T, part.landmarks, 2))
        if part.dims >= 3:
            points[..., 2] = rng.normal(0, 0.05, (n, T, part.landmarks))
        if part.dims == 4:
            points[..., 3] = rng.uniform(0.5, 1, (n, T, part.landmarks))
        if part.name == "pose":  # shoulders apart, so the body frame is well defined
            points[:, :, 11, :2] = centre[:, :, 0] + [0.1, 0.0]
            points[:, :, 12, :2] = centre[:, :, 0] - [0.1, 0.0]
        if "hand" in part.name:  # hands on either side: the left/right order never ties
            points[..., 0] += 0.5 if part.name == "right_hand" else 0.0
            points[:, 2, ...] = 0  # a hand lost for a frame
        x[..., part.start:part.stop] = points.reshape(n, T, -1)
    x[1] = 0          # nothing detected in a whole sequence
    x[2, 4:6] = 0     # nor in two frames
    x[3, -3:] = 0     # padding
    return x


def spec_of(length: int, *overrides: str) -> FeatureSpec:
    return FeatureSpec.from_config(load_config(None, list(overrides)).preprocess, length)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("options", [(), ("preprocess.velocity=false",), ("preprocess.presence=false",),
                                     ("preprocess.body_normalization=false",)])
def test_without_augmentation_the_features_are_exactly_the_transforms(length, options):
    spec = spec_of(length, *options)
    x = landmarks(length, seed=length)
    frames = precomputed.precompute(x, spec)
    np.testing.assert_array_equal(precomputed.features(tf.constant(frames), spec).numpy(), transform(x, spec).numpy())


@pytest.mark.parametrize("length", LENGTHS)
def test_choosing_precomputed_frames_equals_transforming_the_chosen_landmarks(length):
    spec = spec_of(length)
    x = landmarks(length, seed=1)
    rng = np.random.default_rng(length)
    index = np.sort(rng.integers(0, x.shape[1], x.shape[:2]), axis=1).astype(np.int32)
    valid = np.ones(index.shape, np.float32)
    valid[:, 7:] = 0
    chosen = precomputed.choose_frames(tf.constant(precomputed.precompute(x, spec)), index, valid)
    raw = np.take_along_axis(x, index[..., None], axis=1) * valid[..., None]
    np.testing.assert_array_equal(precomputed.features(chosen, spec).numpy(), transform(raw, spec).numpy())


MOVES = [{"rotation": 15.0}, {"scale": 0.2}, {"shift": 0.1}, {"rotation": 10.0, "scale": 0.1, "shift": 0.05}]


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("move", MOVES, ids=lambda m: "+".join(m))
@pytest.mark.parametrize("body", ["auto", "false"])
def test_moving_precomputed_features_equals_moving_the_landmarks(length, move, body):
    # sort_hands off: moved landmarks are re-sorted, precomputed hands keep the signer's own order
    spec = spec_of(length, "preprocess.sort_hands=false", f"preprocess.body_normalization={body}")
    cfg = replace(load_config("base"), augment=move).augment
    x = landmarks(length, seed=7)
    draw = augment.draw_move(len(x), cfg)
    expected = transform(augment.spatial(tf.constant(x), cfg, spec.layout, draw), spec).numpy()
    moved = precomputed.spatial(tf.constant(precomputed.precompute(x, spec)), cfg, spec, draw)
    got = precomputed.features(moved, spec).numpy()
    # float rounding, magnified where a point is divided by a hand's size
    np.testing.assert_allclose(got, expected, atol=2e-4, rtol=1e-4)
    if "rotation" in move:  # a turn shows in any layout (scale and shift vanish in body-relative ones)
        still = precomputed.features(tf.constant(precomputed.precompute(x, spec)), spec).numpy()
        assert np.abs(got - still).max() > 1e-3


@pytest.mark.parametrize("length", LENGTHS)
def test_noise_moves_only_detected_points_by_about_its_size(length):
    spec = spec_of(length)
    cfg = replace(load_config("base"), augment={"noise": 0.01}).augment
    x = landmarks(length, seed=3)
    frames = tf.constant(precomputed.precompute(x, spec))
    clean = precomputed.features(frames, spec).numpy()
    noisy = precomputed.features(precomputed.spatial(frames, cfg, spec), spec).numpy()
    assert not noisy[1].any() and not noisy[2, 4:6].any() and not noisy[3, -3:].any()
    start = 0
    for part in spec.kept_parts():  # a hand lost in frame 2 stays lost
        if "hand" in part.name:
            assert not noisy[:, 2, start:start + spec.width(part)].any()
        start += spec.width(part)
    assert 0 < np.abs(noisy - clean).max() < 10
    if spec.layout.part("face_point") is not None and spec.body_normalization:
        # the face point body normalisation centres on is 0 in every frame, on landmarks too (it moves
        # along with its noise): normalised by that zero spread, any noise on it would be a huge input
        assert not noisy[..., :2].any() and not clean[..., :2].any()


@pytest.mark.parametrize("refill", [True, False])
@pytest.mark.parametrize("options", [("augment.crop=0.5",), ("augment.frame_dropout=0.5",), ("augment.speed=0.5",),
                                     ("augment.rest=0.5",),
                                     ("augment.crop=0.3", "augment.frame_dropout=0.2", "augment.speed=0.3",
                                      "augment.rest=0.3")])
def test_batched_frame_choice_keeps_the_temporal_rules(refill, options):
    cfg = load_config("base", list(options)).augment
    T = 20
    lengths = np.array([20, 10, 5, 1, 13] * 8)
    index, valid, _ = (v.numpy() for v in precomputed.frame_indices(lengths, T, cfg, refill))
    assert index.shape == valid.shape == (len(lengths), T)
    for n, idx, ok in zip(lengths, index, valid):
        shown = idx[ok > 0]
        assert len(shown) >= 1 and (np.diff(shown) >= 0).all()     # in time order
        assert shown.max() < n                                     # never past the recording
        assert ok[:len(shown)].all() and not ok[len(shown):].any()  # padding only at the end
        if refill:
            assert len(shown) == T                                 # stretched back to every frame
        if "augment.crop=0.5" in options:
            assert shown.max() - shown.min() + 1 <= n              # one window of the recording
        if not any("speed" in o or "rest" in o for o in options) and not refill:
            assert len(shown) <= n
        if options == ("augment.frame_dropout=0.5",) and not refill:
            assert shown[0] == 0                                   # the first frame is never dropped


def held(shown: np.ndarray) -> int:
    """How many more times than once the first and the last frame are shown: the stillness around a sign."""
    return int(np.sum(shown == shown[0]) - 1 + np.sum(shown == shown[-1]) - 1)


@pytest.mark.parametrize("refill", [True, False])
@pytest.mark.parametrize("rest", [0.2, 0.5, 0.9])
def test_rest_holds_the_edge_frames_still_around_the_whole_sign(refill, rest):
    # the live window shows a sign shorter than itself with the signer still around it: training may too
    T = 24
    lengths = np.array([T] * 200 if refill else [24, 18, 12, 9] * 50)   # data.resample: every sequence fills T
    with_rest, plain = (load_config("base", options).augment for options in ([f"augment.rest={rest}"], []))
    index, valid, _ = (v.numpy() for v in precomputed.frame_indices(lengths, T, with_rest, refill))
    index0, valid0, _ = (v.numpy() for v in precomputed.frame_indices(lengths, T, plain, refill))
    gained = []
    for n, idx, ok, idx0, ok0 in zip(lengths, index, valid, index0, valid0):
        shown, before = idx[ok > 0], idx0[ok0 > 0]
        assert (np.diff(shown) >= 0).all() and shown[0] == 0 and shown[-1] == n - 1  # the whole sign, in order
        assert ok[:len(shown)].all() and not ok[len(shown):].any()                  # padding only at the end
        still = round(rest * (T if refill else n))
        if refill:
            assert len(shown) == T and len(np.unique(shown)) >= T - still - 1  # the sign squeezed, not cut
        else:
            assert held(shown) <= min(still, T - n) and len(shown) == n + held(shown)  # at most `rest` more, in view
        gained.append(held(shown) - held(before))
    room = T if refill else np.minimum(rest * lengths, T - lengths).mean()
    assert np.mean(gained) >= 0.3 * rest * room if refill else np.mean(gained) >= 0.3 * room  # about half the most


def test_without_temporal_augmentation_every_frame_is_shown_in_order():
    cfg = load_config("base").augment
    index, valid, _ = (v.numpy() for v in precomputed.frame_indices(np.array([6, 3]), 6, cfg, refill=False))
    np.testing.assert_array_equal(index, [[0, 1, 2, 3, 4, 5], [0, 1, 2, 0, 0, 0]])
    np.testing.assert_array_equal(valid, [[1] * 6, [1, 1, 1, 0, 0, 0]])


@pytest.mark.parametrize("overrides, reason", [(["augment.mirror=true"], "mirror"),
                                               (["data.stream=true"], "data.stream")])
def test_training_falls_back_to_landmarks_where_features_cannot_be_moved(tmp_path, tree, overrides, reason):
    from signtrain.progress import Listener
    from signtrain.training.run import TrainRequest, train

    heard = []

    class Ear(Listener):
        def on_message(self, text):
            heard.append(text)

    config = tiny_config(tree(sequences=10), tmp_path / "models", "augment.precomputed=true", "augment.rotation=5",
                         *overrides, features=225)
    result = train(TrainRequest(config), Ear())
    assert any("augment.precomputed" in h and reason in h for h in heard)
    assert "precomputed: false" in (result.run_dir / "config.yaml").read_text()


def test_training_on_precomputed_features(tmp_path, tree):
    from signtrain.training.run import TrainRequest, train

    config = tiny_config(tree(sequences=10), tmp_path / "models", "augment.precomputed=true", "augment.rotation=5",
                         "augment.noise=0.01", "augment.crop=0.2", "augment.frame_dropout=0.1",
                         "preprocess.velocity=true", "preprocess.hand_normalization=true", features=225)
    result = train(TrainRequest(config))
    assert result.epochs_run >= 1 and 0.0 <= result.test_accuracy <= 1.0
    assert "precomputed: true" in (result.run_dir / "config.yaml").read_text()


@pytest.mark.parametrize("length", [126, 128, 258])
@pytest.mark.parametrize("size", [1e-4, 1e-3])
def test_noise_on_a_tiny_hand_stays_a_small_move(length, size):
    """A bad detection can squeeze a hand to almost nothing; noise in image units divided by that
    size would move its points by thousands of hand sizes (dgs30_csv has such frames, and training on
    them collapsed to chance).  On landmarks the noise widens the hand it is divided by; here the unit
    never drops below the noise's own scale."""
    spec = spec_of(length)
    x = landmarks(length, seed=5)
    hand = next(p for p in LAYOUTS[length].parts if "hand" in p.name)
    points = x[..., hand.start:hand.stop].reshape(*x.shape[:2], 21, 3)
    points[..., :2] = points[..., :1, :2] + (points[..., :2] - points[..., :1, :2]) * size / 0.08
    x[..., hand.start:hand.stop] = points.reshape(*x.shape[:2], -1) * (x[..., hand.start:hand.stop] != 0)
    cfg = replace(load_config("base"), augment={"noise": 0.003}).augment
    frames = tf.constant(precomputed.precompute(x, spec))
    clean = precomputed.features(frames, spec).numpy()
    noisy = precomputed.features(precomputed.spatial(frames, cfg, spec), spec).numpy()
    assert np.abs(noisy - clean).max() < 5.0


@pytest.mark.parametrize("resample, expected", [(True, [6, 6, 6]), (False, [2, 6, 9])])
def test_the_temporal_augmentation_sees_every_frame_of_a_resampled_recording(resample, expected):
    from types import SimpleNamespace

    from signtrain.training.pipeline import real_frames

    # recordings of 2, 6 and 9 raw frames stored in 6: resampled, all 6 are the recording (their raw
    # lengths would crop training to the first 2 of 6); padded or cut, the raw length says where padding begins
    stored = SimpleNamespace(X=np.zeros((3, 6, 4), np.float32), lengths=np.array([2, 6, 9], np.int32))
    assert real_frames(stored, resample).tolist() == expected


@pytest.mark.parametrize("std", [0.001, 0.003, 0.05])
@pytest.mark.parametrize("seed", [None, (1, 2)])
def test_noise_has_the_spread_asked_for(std, seed):
    from signtrain.transforms.augment import noise

    draw = noise([200, 500], std, None if seed is None else tf.constant(seed, tf.int64)).numpy()
    assert abs(draw.std() / std - 1) < 0.02 and abs(draw.mean()) < 0.02 * std
    assert np.abs(draw).max() <= 3 ** 0.5 * std * (1 + 1e-6)     # uniform: bounded, no rare huge moves
    if seed is not None:                                          # stateless: the same seed, the same draw
        np.testing.assert_array_equal(draw, noise([200, 500], std, tf.constant(seed, tf.int64)).numpy())


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("lengths", [[12] * 6, [12, 7, 3, 1, 12, 9]])
def test_context_shows_another_recordings_end_in_the_stillness_before_a_sign(share, lengths):
    # a sentence's live window shows the end of the sign before this one: a share of training windows may too
    B, T = len(lengths), 12
    tf.random.set_seed(3)
    stored = np.arange(1, B * T + 1, dtype=np.float32).reshape(B, T, 1) * (np.arange(T)[None, :, None] <
                                                                          np.array(lengths)[:, None, None])
    chosen = -np.ones((B, T, 1), np.float32)
    left = np.array([0, 2, 5, 8, 11, 4])
    ends = {int(stored[b, n - 1, 0]): (b, n) for b, n in enumerate(lengths)}  # a recording's last value
    mixed = 0
    for _ in range(30):
        out = augment.with_context(tf.constant(chosen), tf.constant(stored), tf.constant(lengths), tf.constant(left),
                                   share).numpy()[..., 0]
        np.testing.assert_array_equal(out[np.arange(T)[None, :] >= left[:, None]], -1)  # the sign itself untouched
        for b in range(B):
            before = out[b, :left[b]]
            if not len(before) or (before == -1).all():
                continue
            mixed += 1
            other, n = ends[int(before[-1])]  # another recording's last k frames, in order, then its last held still
            t = np.arange(left[b])
            assert any((before == stored[other, np.clip(n - k + t, 0, n - 1), 0]).all() for k in range(left[b] + 1))
    expected = 30 * np.count_nonzero(left) * share
    assert (mixed == 0) if share == 0 else (0.6 * expected <= mixed <= min(1.4 * expected, 30 * 5))


@pytest.mark.parametrize("value", [0.3, 1.0])
def test_context_without_rest_is_refused(value):
    from signtrain.errors import ConfigError

    with pytest.raises(ConfigError, match=f"augment.context={value} has no effect without augment.rest"):
        load_config("base", [f"augment.context={value}"])


@pytest.mark.parametrize("precomputed_features", [True, False])
def test_training_with_context(tmp_path, tree, precomputed_features):
    from signtrain.training.run import TrainRequest, train

    config = tiny_config(tree(sequences=10), tmp_path / "models", f"augment.precomputed={precomputed_features}",
                         "augment.rest=0.5", "augment.context=0.5", "augment.crop=0.2", "data.resample=true",
                         "preprocess.velocity=true", features=225)
    result = train(TrainRequest(config))
    assert result.epochs_run >= 1 and 0.0 <= result.test_accuracy <= 1.0
    assert "context: 0.5" in (result.run_dir / "config.yaml").read_text()
