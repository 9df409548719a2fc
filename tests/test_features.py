"""Preprocessing and augmentation functions on small inputs with known answers."""

import math

import numpy as np
import pytest

from signtrain.config import load_config
from signtrain.errors import ConfigError
from signtrain.layouts import detect_layout
from signtrain.training.pipeline import class_weights
from signtrain.transforms.features import FeatureSpec, transform_numpy

tf = pytest.importorskip("tensorflow")
from signtrain.transforms import augment  # noqa: E402

HANDS = detect_layout(126)


def spec(*overrides, length=126):
    return FeatureSpec.from_config(load_config("base", list(overrides)).preprocess, length)


def hand(centre=(0.3, 0.6), size=0.1, angle=0.0, seed=0):
    """21 landmarks: wrist at centre, middle knuckle (9) `size` away; others at fixed offsets."""
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-1, 1, (21, 2))
    offsets[0] = 0
    offsets[9] = [0, -1]
    offsets *= size
    c, s = math.cos(angle), math.sin(angle)
    rotated = offsets @ np.array([[c, s], [-s, c]])
    xyz = np.zeros((21, 3))
    xyz[:, :2] = rotated + centre
    xyz[:, 2] = 0.01
    return xyz


def frames(left=None, right=None, T=1):
    x = np.zeros((1, T, 126), np.float32)
    if left is not None:
        x[0, :, :63] = left.reshape(-1)
    if right is not None:
        x[0, :, 63:] = right.reshape(-1)
    return x


def test_a_rotated_scaled_moved_hand_normalises_to_the_same_shape():
    s = spec("preprocess.hand_normalization=true")
    a = transform_numpy(frames(hand()), s)[0, 0, :63].reshape(21, 3)
    b = transform_numpy(frames(hand(centre=(0.7, 0.4), size=0.05)), s)[0, 0, :63].reshape(21, 3)
    np.testing.assert_allclose(a[1:, :2], b[1:, :2], atol=1e-5)  # shape: same after centring and scaling
    np.testing.assert_allclose(a[0], [0.3, 0.6, 0.01], atol=1e-6)  # the wrist row keeps the position
    np.testing.assert_allclose(a[9, :2], [0, -1], atol=1e-4)         # middle knuckle at unit distance
    r = transform_numpy(frames(hand(angle=0.3)), s)[0, 0, :63].reshape(21, 3)
    assert np.linalg.norm(r[9, :2]) == pytest.approx(1.0, abs=1e-4)


def test_hands_are_sorted_left_to_right_and_a_lone_hand_by_its_side():
    s = spec("preprocess.sort_hands=true")
    left, right = hand(centre=(0.2, 0.5)), hand(centre=(0.8, 0.5), seed=1)
    swapped = transform_numpy(frames(right, left), s)[0, 0]
    np.testing.assert_allclose(swapped[:63], left.reshape(-1), atol=1e-6)
    np.testing.assert_allclose(swapped[63:], right.reshape(-1), atol=1e-6)
    lone = transform_numpy(frames(hand(centre=(0.8, 0.5))), s)[0, 0]
    assert not lone[:63].any() and lone[63:].any()


def test_presence_flags_velocity_and_zero_frames_stay_zero():
    s = spec("preprocess.presence=true", "preprocess.velocity=true")
    x = frames(hand(), None, T=3)
    x[0, 1, :63] += 0.01
    x[0, 2] = 0  # padding / nothing detected
    out = transform_numpy(x, s)[0]
    assert s.output_length == 126 * 2 + 2 == out.shape[-1]
    assert out[0, -2:].tolist() == [1.0, 0.0]            # left hand present, right absent
    np.testing.assert_allclose(out[1, 126:126 + 63], 0.01, atol=1e-6)  # velocity of frame 1
    assert not out[0, 126:252].any()                       # first frame: no velocity
    assert not out[2].any()                                # an all-zero frame stays all zero


def test_body_normalization_puts_shoulders_at_plus_minus_half():
    layout = detect_layout(225)
    x = np.zeros((1, 1, 225), np.float32)
    pose = np.full((33, 3), 0.5)
    pose[11] = [0.3, 0.4, 0.0]
    pose[12] = [0.7, 0.4, 0.0]
    x[0, 0, :99] = pose.reshape(-1)
    out = transform_numpy(x, spec("preprocess.body_normalization=true", length=225))[0, 0, :99].reshape(33, 3)
    np.testing.assert_allclose(out[11, :2], [-0.5, 0.0], atol=1e-5)
    np.testing.assert_allclose(out[12, :2], [0.5, 0.0], atol=1e-5)
    assert layout.part("pose").dims == 3


def test_body_normalization_puts_the_wrists_in_the_body_frame():
    x = np.zeros((1, 1, 225), np.float32)
    pose = np.full((33, 3), 0.5)
    pose[11], pose[12] = [0.3, 0.4, 0.0], [0.7, 0.4, 0.0]  # centre (0.5, 0.4), width 0.4
    x[0, 0, :99] = pose.reshape(-1)
    x[0, 0, 99:162] = hand(centre=(0.3, 0.6)).reshape(-1)
    s = spec("preprocess.body_normalization=true", "preprocess.hand_normalization=true", length=225)
    out = transform_numpy(x, s)[0, 0, 99:162].reshape(21, 3)
    np.testing.assert_allclose(out[0, :2], [-0.5, 0.5], atol=1e-5)   # wrist: (0.3-0.5)/0.4, (0.6-0.4)/0.4
    np.testing.assert_allclose(out[9, :2], [0, -1], atol=1e-4)       # the shape is still wrist-relative


def test_the_face_point_layout_centres_the_hands_on_the_face():
    layout = detect_layout(128)
    assert layout.name == "face_point_hands" and layout.part("face_point").stop == 2
    x = np.zeros((1, 1, 128), np.float32)
    x[0, 0, :2] = [0.5, 0.3]
    x[0, 0, 2:65] = hand(centre=(0.4, 0.6)).reshape(-1)  # one hand; the other slot empty
    s = spec("preprocess.body_normalization=true", "preprocess.hand_normalization=true",
             "preprocess.presence=true", length=128)
    out = transform_numpy(x, s)[0, 0]
    np.testing.assert_allclose(out[2:5], [-0.1, 0.3, 0.01], atol=1e-5)  # the wrist relative to the face
    assert not out[65:128].any() and out[-3:].tolist() == [1.0, 1.0, 0.0]
    assert spec("preprocess.body_normalization=auto", length=128).body_normalization
    assert not spec("preprocess.body_normalization=auto", length=126).body_normalization  # hands only

def test_parts_subset_drops_the_face():
    s = spec("preprocess.parts=[left_hand, right_hand]", length=1662)
    assert s.output_length == 126
    x = np.zeros((1, 1, 1662), np.float32)
    x[0, 0, 1536:] = 1.0
    x[0, 0, 132:1536] = 5.0
    assert transform_numpy(x, s)[0, 0].tolist() == [1.0] * 126


def test_layout_dependent_options_need_a_known_layout():
    with pytest.raises(ConfigError, match="needs a known layout"):
        spec("preprocess.hand_normalization=true", length=129)
    with pytest.raises(ConfigError, match="'face' is not in the hands layout"):
        spec("preprocess.parts=[face]")


def test_mirroring_twice_is_the_identity_and_swaps_the_hands():
    x = tf.constant(frames(hand(centre=(0.2, 0.5)), hand(centre=(0.7, 0.5), seed=2)))
    once = augment.mirror(x, HANDS).numpy()
    np.testing.assert_allclose(once[0, 0, 0], 1 - 0.7, atol=1e-6)   # the left slot holds the flipped right hand
    np.testing.assert_allclose(once[0, 0, 63], 1 - 0.2, atol=1e-6)  # and the right slot the flipped left one
    np.testing.assert_allclose(augment.mirror(augment.mirror(x, HANDS), HANDS).numpy(), x.numpy(), atol=1e-6)
    lone = augment.mirror(tf.constant(frames(hand(), None)), HANDS).numpy()
    assert not lone[0, 0, :63].any() and lone[0, 0, 63:].any()      # an absent hand stays absent


def test_spatial_augmentation_keeps_absent_parts_and_padding_at_zero():
    cfg = load_config("base", ["augment.rotation=15", "augment.scale=0.2", "augment.shift=0.1",
                             "augment.noise=0.01"]).augment
    x = frames(hand(), None, T=2)
    x[0, 1] = 0
    out = augment.spatial(tf.constant(x), cfg, HANDS).numpy()
    assert not out[0, 0, 63:].any() and not out[0, 1].any() and out[0, 0, :63].any()
    assert np.abs(out[0, 0, :63] - x[0, 0, :63]).max() > 0


def test_a_pure_rotation_is_undone_by_hand_normalization():
    cfg = load_config("base", ["augment.rotation=20"]).augment
    x = tf.constant(frames(hand(), None))
    s = spec("preprocess.hand_normalization=true")
    rotated = transform_numpy(augment.spatial(x, cfg, HANDS).numpy(), s)[0, 0, :63].reshape(21, 3)
    plain = transform_numpy(x.numpy(), s)[0, 0, :63].reshape(21, 3)
    # distances from the wrist are unchanged by rotation
    np.testing.assert_allclose(np.linalg.norm(rotated[1:, :2], axis=1), np.linalg.norm(plain[1:, :2], axis=1),
                               atol=1e-4)


def test_temporal_augmentation_changes_length_and_pads():
    cfg = load_config("base", ["augment.speed=0.5"]).augment
    x = np.zeros((20, 63), np.float32)
    x[:10] = np.arange(1, 11)[:, None]
    out, n, _ = augment.temporal(tf.constant(x), 10, cfg)
    n = int(n)
    assert 5 <= n <= 15 and out.shape == (20, 63)
    assert not out.numpy()[n:].any() and out.numpy()[:n].all()
    values = out.numpy()[:n, 0]
    assert (np.diff(values) >= 0).all() and values[0] == 1  # still in time order
    drop = load_config("base", ["augment.frame_dropout=0.5"]).augment
    out, n, _ = augment.temporal(tf.constant(x), 10, drop)
    assert 1 <= int(n) <= 10 and out.numpy()[0, 0] == 1  # the first frame is never dropped


def test_temporal_crop_keeps_a_contiguous_window():
    cfg = load_config("base", ["augment.crop=0.5"]).augment
    x = np.zeros((20, 63), np.float32)
    x[:10] = np.arange(1, 11)[:, None]
    for _ in range(10):
        out, n, _ = augment.temporal(tf.constant(x), 10, cfg)
        n = int(n)
        values = out.numpy()[:n, 0]
        assert 5 <= n <= 10 and not out.numpy()[n:].any()
        np.testing.assert_array_equal(values, np.arange(values[0], values[0] + n))  # consecutive frames
        assert values[-1] <= 10


@pytest.mark.parametrize("refill", [True, False])
@pytest.mark.parametrize("rest", [0.3, 0.9])
def test_temporal_rest_holds_the_whole_sign_still_at_both_ends(refill, rest):
    # one sequence at a time (tf.data), as precomputed.frame_indices does for a batch
    cfg = load_config("base", [f"augment.rest={rest}"]).augment
    T, n = 20, 20 if refill else 10
    x = np.zeros((T, 63), np.float32)
    x[:n] = np.arange(1, n + 1)[:, None]
    held = []
    for _ in range(30):
        out, length, _ = augment.temporal(tf.constant(x), n, cfg, refill=refill)
        values = out.numpy()[:int(length), 0]
        assert not out.numpy()[int(length):].any() and (np.diff(values) >= 0).all()
        assert values[0] == 1 and values[-1] == n                       # the whole sign, in order
        still = int(np.sum(values == 1) + np.sum(values == n) - 2)
        if refill:
            assert int(length) == T and len(np.unique(values)) >= T - round(rest * T) - 1
        else:
            assert still <= min(round(rest * n), T - n) and int(length) == n + still
        held.append(still)
    assert np.mean(held) >= 0.3 * rest * T if refill else np.mean(held) >= 0.3 * min(rest * n, T - n)


def test_temporal_rest_finds_no_room_when_a_slowed_sign_fills_the_window():
    # a speed change can leave more frames than T: no room for stillness, and the sign is cut to T as before
    cfg = load_config("base", ["augment.speed=0.9", "augment.rest=0.9"]).augment
    x = np.arange(1, 21, dtype=np.float32)[:, None] * np.ones((1, 63), np.float32)
    for _ in range(20):
        out, n, _ = augment.temporal(tf.constant(x), 20, cfg)
        values = out.numpy()[:int(n), 0]
        assert 1 <= int(n) <= 20 and values[0] == 1 and (np.diff(values) >= 0).all()


def test_refill_stretches_back_to_the_full_length():
    # data.resample: every sequence fills T frames, so an augmented one must too
    cfg = load_config("base", ["augment.crop=0.5", "augment.frame_dropout=0.1", "augment.speed=0.5"]).augment
    x = np.arange(1, 21, dtype=np.float32)[:, None] * np.ones((1, 63), np.float32)
    for _ in range(10):
        out, n, _ = augment.temporal(tf.constant(x), 20, cfg, refill=True)
        values = out.numpy()[:, 0]
        assert int(n) == 20 and values.all() and (np.diff(values) >= 0).all()
        assert values[-1] - values[0] >= 5  # at least half the frames' span, stretched
    plain = load_config("base", ["augment.speed=0.5"]).augment
    out, n, _ = augment.temporal(tf.constant(x), 20, plain, refill=True)
    np.testing.assert_array_equal(out.numpy(), x)  # with refill the speed change alone is undone

def test_balanced_class_weights():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    np.testing.assert_allclose(w, [4 / 9, 4 / 3, 1.0])


@pytest.mark.parametrize("face, length, key", [("key", 1662, True), ("auto", 1662, True), ("auto", 258, False),
                                               ("all", 1662, False), ("auto", 126, False)])
def test_face_key_points_keep_lips_nose_and_eyes(face, length, key):
    from signtrain.transforms.features import FACE_KEY

    s = spec(f"preprocess.face={face}", length=length)
    assert s.face_key is key
    frames = np.random.default_rng(0).uniform(0.1, 0.9, (2, 3, length)).astype(np.float32)
    out = transform_numpy(frames, s)
    if not key:
        assert out.shape[-1] == length
        return
    assert len(FACE_KEY) == 76 == len(set(FACE_KEY)) and max(FACE_KEY) < 468
    assert out.shape == (2, 3, 132 + 76 * 3 + 126) and s.output_length == 486
    face = frames[..., 132:1536].reshape(2, 3, 468, 3)
    assert np.allclose(out[..., 132:360].reshape(2, 3, 76, 3), face[..., list(FACE_KEY), :])
    assert np.allclose(out[..., :132], frames[..., :132]) and np.allclose(out[..., 360:], frames[..., 1536:])


def test_face_key_needs_a_face():
    with pytest.raises(ConfigError, match="preprocess.face: key needs a layout with the face mesh"):
        spec("preprocess.face=key", length=258)


@pytest.mark.parametrize("length, parts_steps", [(10, ()), (63, ("hand",)), (126, ("sort", "hands")),
                                                 (128, ("sort", "hands", "body")), (258, ("sort", "hands", "body")),
                                                 (1662, ("sort", "hands", "body", "face"))])
def test_the_default_recipe_fits_any_layout(length, parts_steps):
    """auto = what the layout allows: an unknown width gets velocity only, one hand no sorting..."""
    s = FeatureSpec.from_config(load_config("default").preprocess, length)
    assert s.sort_hands == ("sort" in parts_steps)
    assert s.hand_normalization == bool({"hand", "hands"} & set(parts_steps))
    assert s.body_normalization == ("body" in parts_steps) and s.face_key == ("face" in parts_steps)
    assert s.presence == (length != 10) and s.velocity
    frames = np.random.default_rng(1).uniform(0.1, 0.9, (2, 4, length)).astype(np.float32)
    frames[:, -1] = 0  # padding stays zero
    out = transform_numpy(frames, s)
    assert out.shape == (2, 4, s.output_length) and np.all(out[:, -1] == 0) and np.all(np.isfinite(out))
    if length == 10:
        assert np.allclose(out[..., :10], frames) and s.output_length == 20
