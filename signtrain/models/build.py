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


_TRANSFORMER: Any = None


def transformer_block_layer() -> Any:
    """One pre-norm transformer encoder block (self-attention + feed-forward) that respects the
    padding mask, of the kind that won the Kaggle ISLR competition.  Registered for loading."""
    global _TRANSFORMER
    if _TRANSFORMER is None:
        import keras
        from keras import layers, ops

        @keras.saving.register_keras_serializable(package="signtrain")
        class TransformerBlock(layers.Layer):
            def __init__(self, width: int, heads: int = 4, dropout: float = 0.1, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.width, self.heads, self.rate = width, heads, dropout
                self.supports_masking = True
                self.norm1 = layers.LayerNormalization(epsilon=1e-5)
                self.attention = layers.MultiHeadAttention(heads, max(width // heads, 1), dropout=dropout)
                self.norm2 = layers.LayerNormalization(epsilon=1e-5)
                self.expand = layers.Dense(2 * width, activation="gelu")
                self.project = layers.Dense(width)
                self.drop = layers.Dropout(dropout)

            def build(self, input_shape: Any) -> None:
                self.norm1.build(input_shape)
                self.attention.build(input_shape, input_shape)
                self.norm2.build(input_shape)
                self.expand.build(input_shape)
                self.project.build(tuple(input_shape[:-1]) + (2 * self.width,))
                super().build(input_shape)

            def call(self, x: Any, mask: Any = None, training: Any = None) -> Any:
                keep = None if mask is None else ops.cast(mask, x.dtype)[:, :, None]
                attention_mask = None if mask is None else ops.logical_and(mask[:, None, :], mask[:, :, None])
                h = self.norm1(x)
                x = x + self.drop(self.attention(h, h, attention_mask=attention_mask, training=training),
                                  training=training)
                x = x + self.drop(self.project(self.expand(self.norm2(x))), training=training)
                return x if keep is None else x * keep

            def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
                return mask

            def get_config(self) -> dict:
                return {**super().get_config(), "width": self.width, "heads": self.heads, "dropout": self.rate}

        _TRANSFORMER = TransformerBlock
    return _TRANSFORMER


def register_custom_layers() -> None:
    """Make the custom layers known before a saved model is loaded."""
    masked_conv_layer()
    transformer_block_layer()


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
    cell = {"lstm": layers.LSTM, "gru": layers.GRU, "bilstm": layers.LSTM, "transformer": None}[cfg.kind]

    # Sequential, as the original recipe: a functional model records the Masking layer's
    # mask ops as graph nodes that Keras 3 cannot read back from a legacy .h5 file.
    stack = [keras.Input(shape=(sequence_length, features), batch_size=batch_size, name="landmarks")]
    if cfg.mask_padding:
        stack.append(layers.Masking(mask_value=0.0, name="padding_mask"))
    for i, filters in enumerate(cfg.conv_filters):
        stack.append(masked_conv_layer()(filters, cfg.conv_kernel, padding="same", activation="relu",
                                         name=f"conv_{i + 1}"))
    if cfg.kind == "transformer":
        return _transformer(cfg, stack, n, dropouts, classes, name)
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


def _transformer(cfg: ModelConfig, stack: list, n: int, dropouts: tuple, classes: int, name: str) -> Any:
    """Convolutions over time, then one transformer block per entry of model.units (its width),
    then the mean over the unmasked frames."""
    import keras
    from keras import layers

    block = transformer_block_layer()
    for i, width in enumerate(cfg.units):
        if i == 0 or width != cfg.units[i - 1]:
            stack.append(masked_conv_layer()(width, 1, name=f"width_{i + 1}"))  # to the block's width
        stack.append(block(width, dropout=dropouts[i] or 0.0, name=f"transformer_{i + 1}"))
    stack.append(layers.GlobalAveragePooling1D(name="mean_over_frames"))
    for i, units in enumerate(cfg.dense_units):
        stack.append(layers.Dense(units, activation=cfg.dense_activation, name=f"dense_{i + 1}"))
    stack.append(layers.Dense(classes, activation="softmax", name="sign_probabilities", dtype="float32"))
    return keras.Sequential(stack, name=name)
