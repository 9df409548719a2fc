"""Model kinds behind one registry (signtrain.registry.MODEL_KINDS): build_model(config, shape, classes)
-> an uncompiled keras.Model.  Every kind shares the input, the padding mask, the convolutions over
time and the dense head; its own module appends the layers between them."""

from __future__ import annotations

from typing import Any, Optional

from signtrain.config import ModelConfig
from signtrain.models.layers import frame_mask_layer, masked_conv_layer, register_custom_layers
from signtrain.registry import MODEL_KINDS

__all__ = ["build_model", "register_custom_layers"]


def build_model(cfg: ModelConfig, sequence_length: Optional[int], features: int, classes: int,
                batch_size: Optional[int] = None, unroll: bool = False, name: str = "signtrain") -> Any:
    """The model of the config.  batch_size fixes the batch dimension (the TFLite twin)."""
    import keras
    from keras import layers

    # Sequential, as the original recipe: a functional model records the Masking layer's
    # mask ops as graph nodes that Keras 3 cannot read back from a legacy .h5 file.
    stack = [keras.Input(shape=(sequence_length, features), batch_size=batch_size, name="landmarks")]
    if cfg.mask_padding:
        stack.append(frame_mask_layer()(name="padding_mask"))
    for i, filters in enumerate(cfg.conv_filters):
        stride = cfg.conv_stride if i == 0 else 1  # the later layers, the recurrent ones too, step fewer frames
        stack.append(masked_conv_layer()(filters, cfg.conv_kernel, strides=stride, padding="same", activation="relu",
                                         name=f"conv_{i + 1}"))
    MODEL_KINDS[cfg.kind].load().body(cfg, stack, unroll)
    for i, units in enumerate(cfg.dense_units):
        stack.append(layers.Dense(units, activation=cfg.dense_activation, name=f"dense_{i + 1}"))
    stack.append(layers.Dense(classes, activation="softmax", name="sign_probabilities", dtype="float32"))
    return keras.Sequential(stack, name=name)
