"""build_model(model config, input shape, classes) -> an uncompiled keras.Model."""

from __future__ import annotations

from typing import Any, Optional, Union

from signtrain.config import ModelConfig, per_layer


UNROLL_MAX_FRAMES = 100
UNROLL_MIN_WORK = 20_000  # sequences x epochs below which the extra compile time is not won back


def should_unroll(setting: Union[bool, str], sequence_length: Optional[int], work: int) -> bool:
    """Unrolled recurrences run 1.5-2x faster per epoch on a CPU (no while-loop per step, measured
    in benchmarks/train.py) but compile about 8 s longer, need a fixed length, grow with it, and
    keep a GPU off its fused cuDNN kernel.  work = training sequences x epochs."""
    if setting != "auto":
        return bool(setting)
    if sequence_length is None or sequence_length > UNROLL_MAX_FRAMES or work < UNROLL_MIN_WORK:
        return False
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


_MASKED_CONV: Any = None


def masked_conv_layer() -> Any:
    """Conv1D that keeps the padding mask for the recurrent layers after it and writes zeros on
    masked frames (Keras' Conv1D drops the mask).  Registered, so saved models load it back."""
    global _MASKED_CONV
    if _MASKED_CONV is None:
        import keras

        @keras.saving.register_keras_serializable(package="signtrain")
        class MaskedConv1D(keras.layers.Conv1D):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.supports_masking = True

            def call(self, inputs: Any, mask: Any = None) -> Any:
                out = super().call(inputs)
                if mask is not None:
                    out = out * keras.ops.expand_dims(keras.ops.cast(mask, out.dtype), -1)
                return out

            def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
                return mask

        _MASKED_CONV = MaskedConv1D
    return _MASKED_CONV


def build_model(cfg: ModelConfig, sequence_length: Optional[int], features: int, classes: int,
                batch_size: Optional[int] = None, unroll: bool = False, name: str = "signtrain") -> Any:
    """The recurrent stack of the config.  batch_size fixes the batch dimension (the TFLite twin)."""
    import keras
    from keras import layers, regularizers

    n = len(cfg.units)
    returns = per_layer(cfg.return_sequences, n)
    dropouts = per_layer(cfg.dropout, n)
    l2s = per_layer(cfg.l2, n)
    norms = per_layer(cfg.batch_norm, n)
    cell = {"lstm": layers.LSTM, "gru": layers.GRU, "bilstm": layers.LSTM}[cfg.kind]

    # Sequential, as the original recipe: a functional model records the Masking layer's
    # mask ops as graph nodes that Keras 3 cannot read back from a legacy .h5 file.
    stack = [keras.Input(shape=(sequence_length, features), batch_size=batch_size, name="landmarks")]
    if cfg.mask_padding:
        stack.append(layers.Masking(mask_value=0.0, name="padding_mask"))
    for i, filters in enumerate(cfg.conv_filters):
        stack.append(masked_conv_layer()(filters, cfg.conv_kernel, padding="same", activation="relu",
                                         name=f"conv_{i + 1}"))
    for i, units in enumerate(cfg.units):
        recurrent = cell(units, return_sequences=returns[i], activation=cfg.activation,
                         recurrent_activation=cfg.recurrent_activation, recurrent_dropout=cfg.recurrent_dropout,
                         unroll=unroll, kernel_regularizer=regularizers.l2(l2s[i]) if l2s[i] else None,
                         name=f"{cfg.kind}_{i + 1}")
        if cfg.kind == "bilstm":
            recurrent = layers.Bidirectional(recurrent, name=f"bidirectional_{i + 1}")
        stack.append(recurrent)
        if norms[i]:
            stack.append(layers.BatchNormalization(name=f"batch_norm_{i + 1}"))
        if dropouts[i]:
            stack.append(layers.Dropout(dropouts[i], name=f"dropout_{i + 1}"))
    if returns[-1]:
        stack.append(layers.GlobalAveragePooling1D(name="mean_over_frames"))
    for i, units in enumerate(cfg.dense_units):
        stack.append(layers.Dense(units, activation=cfg.dense_activation, name=f"dense_{i + 1}"))
    stack.append(layers.Dense(classes, activation="softmax", name="sign_probabilities", dtype="float32"))
    return keras.Sequential(stack, name=name)
