"""Model building: the padding mask (as Keras' Masking, without its copy); the strided convolution
(model.conv_stride) and the padding mask it carries; the unrolled GRU/LSTM layers (the same maths
as Keras' own, outputs and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

from signtrain.config import load_config
from signtrain.errors import ConfigError

tf = pytest.importorskip("tensorflow")
from signtrain.models import build_model  # noqa: E402


def model_config(*overrides):
    return load_config("base", ["model.kind=gru", "model.units=[4]", "model.return_sequences=[false]",
                                "model.dropout=0.0", "model.l2=0.0", "model.batch_norm=false",
                                "model.dense_units=[]", *overrides]).model


@pytest.mark.parametrize("frames, stride, steps", [(48, 2, 24), (47, 2, 24), (30, 3, 10), (10, 1, 10), (5, 4, 2)])
def test_the_first_convolution_strides_over_time(frames, stride, steps):
    model = build_model(model_config("model.conv_filters=[4, 4]", f"model.conv_stride={stride}"), frames, 6, 3)
    assert model.get_layer("conv_1").output.shape[1] == steps     # only the first one strides
    assert model.get_layer("conv_2").output.shape[1] == steps


@pytest.mark.parametrize("kept, expected", [
    ([1, 1, 1, 1, 1, 1], [True, True, True]),
    ([1, 1, 1, 1, 0, 0], [True, True, False]),   # padding at the end: its strided frame is masked
    ([1, 0, 0, 1, 0, 0], [True, True, False]),   # one kept frame keeps the pair it stands in
    ([0, 0, 0, 0, 0, 0], [False, False, False]),
])
def test_a_strided_frame_is_masked_only_when_every_frame_it_stands_for_is(kept, expected):
    from signtrain.models.layers import masked_conv_layer

    conv = masked_conv_layer()(2, 3, strides=2, padding="same")
    x = tf.ones([1, len(kept), 3])
    conv.build(x.shape)
    mask = conv.compute_mask(x, tf.constant(np.array([kept], bool)))
    np.testing.assert_array_equal(mask.numpy()[0], expected)
    out = conv(x, mask=tf.constant(np.array([kept], bool))).numpy()[0]
    assert not out[~np.array(expected)].any()                     # masked frames write zeros


FRAMES = [
    [],                      # nothing masked
    [2],                     # a frame with nothing detected
    [0, 1],                  # at the start
    [4, 5],                  # padding at the end
    [0, 1, 2, 3, 4, 5],      # a whole sequence with nothing detected
]


@pytest.mark.parametrize("zeros", FRAMES)
@pytest.mark.parametrize("conv", [[], [4]])
def test_the_frame_mask_masks_and_predicts_as_keras_masking(zeros, conv):
    """The padding mask passes the input through (an all-zero frame already is zeros): the same mask,
    the same predictions as Keras' Masking layer with the same weights."""
    import keras

    from signtrain.models.layers import frame_mask_layer

    x = np.random.default_rng(3).normal(size=(2, 6, 5)).astype(np.float32)
    x[0, zeros] = 0
    x[1, 3, 1:] = 0                                               # one value left: not masked
    ours, theirs = frame_mask_layer()(), keras.layers.Masking(0.0)
    x_ = tf.constant(x)
    np.testing.assert_array_equal(ours.compute_mask(x_).numpy(), theirs.compute_mask(x_).numpy())
    np.testing.assert_array_equal(ours(x_).numpy(), theirs(x_).numpy())
    cfg = model_config(f"model.conv_filters={conv}", "model.conv_stride=1")
    model = build_model(cfg, 6, 5, 3)
    stack = [keras.Input(shape=(6, 5)), theirs, *model.layers[1:]]   # the same layers, Keras' Masking first
    assert type(model.layers[0]).__name__ == "FrameMask"
    keras_masked = keras.Sequential(stack)
    np.testing.assert_allclose(model.predict(x, verbose=0), keras_masked.predict(x, verbose=0), atol=1e-6)


def test_a_stride_needs_a_convolution():
    with pytest.raises(ConfigError, match="model.conv_stride 2 needs a convolution"):
        load_config("base", ["model.conv_stride=2"])


def test_a_strided_model_predicts_and_masks_padding():
    model = build_model(model_config("model.conv_filters=[4]", "model.conv_stride=2"), 8, 6, 3)
    x = np.random.default_rng(0).normal(size=(2, 8, 6)).astype(np.float32)
    padded = x.copy()
    padded[1, 6:] = 0                                             # padding after the sixth frame
    out = model.predict(padded, verbose=0)
    assert out.shape == (2, 3) and np.allclose(out.sum(axis=1), 1, atol=1e-5)
    shorter = model.predict(x[1:2, :6], verbose=0)                # the same frames without the padding
    np.testing.assert_allclose(out[1], shorter[0], atol=1e-5)


MASKS = {
    "none": None,
    "padding at the end": [[1] * 7, [1] * 5 + [0] * 2, [1] * 7],
    "masked start and middle": [[0, 0] + [1] * 5, [1, 1, 1, 0, 1, 1, 1], [1] * 6 + [0]],
}


def recurrent_pair(kind, return_sequences, go_backwards, bidirectional, **options):
    """Keras' own layer (not unrolled: its loop is the one exported graphs use) and signtrain's unrolled
    layer with the same weights."""
    import keras

    from signtrain.models.unrolled import unrolled_layer

    own = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[kind]
    pair = [cls(5, return_sequences=return_sequences, go_backwards=go_backwards, unroll=unroll, **options)
            for cls, unroll in ((own, False), (unrolled_layer(kind), True))]
    if bidirectional:
        pair = [keras.layers.Bidirectional(layer) for layer in pair]
    return pair


@pytest.mark.parametrize("mask", MASKS, ids=list(MASKS))
@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("direction", ["forward", "backward", "bidirectional"])
def test_the_unrolled_layers_compute_what_keras_layers_compute(kind, return_sequences, direction, mask,
                                                                monkeypatch):
    from keras.src.layers.rnn.rnn import RNN

    looped = []
    keras_loop = RNN.inner_loop
    monkeypatch.setattr(RNN, "inner_loop", lambda self, *a, **k: looped.append(type(self).__name__)
                        or keras_loop(self, *a, **k))
    x = tf.constant(np.random.default_rng(1).normal(size=(3, 7, 4)).astype(np.float32))
    m = None if MASKS[mask] is None else tf.constant(np.array(MASKS[mask], bool))
    own, ours = recurrent_pair(kind, return_sequences, direction == "backward", direction == "bidirectional")
    own(x)
    ours(x)
    ours.set_weights(own.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        outputs = [layer(x, mask=m, training=True) for layer in (own, ours)]
        losses = [tf.reduce_sum(tf.square(out) * tf.range(1.0, 1.0 + out.shape[-1])) for out in outputs]
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
    for a, b in zip(tape.gradient(losses[0], own.trainable_weights), tape.gradient(losses[1], ours.trainable_weights)):
        np.testing.assert_allclose(b, a, atol=1e-5)
    assert looped and not any(name.startswith("Unrolled") for name in looped)   # ours took the fast path


@pytest.mark.parametrize("options", [{"recurrent_dropout": 0.2}, {"dropout": 0.2}, {"reset_after": False}],
                         ids=["recurrent dropout", "input dropout", "reset before"])
def test_what_the_fast_path_does_not_cover_is_keras_own_loop(options, monkeypatch):
    from keras.src.layers.rnn.rnn import RNN

    calls = []
    monkeypatch.setattr(RNN, "inner_loop", lambda self, *a, **k: calls.append(self) or (_ for _ in ()).throw(
        RuntimeError("keras loop")))
    _, ours = recurrent_pair("gru", False, False, False, **options)
    with pytest.raises(RuntimeError, match="keras loop"):
        ours(tf.zeros([2, 3, 4]))
    assert calls == [ours]


@pytest.mark.parametrize("kind", ["gru", "lstm", "bilstm"])
def test_a_model_with_unrolled_layers_saves_and_loads_back(kind, tmp_path):
    import keras

    from signtrain.models import register_custom_layers

    cfg = model_config(f"model.kind={kind}", "model.conv_filters=[]", "model.conv_stride=1")
    model = build_model(cfg, 6, 4, 3, unroll=True)
    x = np.random.default_rng(2).normal(size=(2, 6, 4)).astype(np.float32)
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"model{suffix}"
        model.save(path)
        register_custom_layers()
        loaded = keras.models.load_model(path, compile=False)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
