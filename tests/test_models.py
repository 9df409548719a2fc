"""Model building: the strided convolution (model.conv_stride) and the padding mask it carries."""

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
def test_the_last_convolution_strides_over_time(frames, stride, steps):
    model = build_model(model_config("model.conv_filters=[4, 4]", f"model.conv_stride={stride}"), frames, 6, 3)
    assert model.get_layer("conv_1").output.shape[1] == frames    # only the last one strides
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
