"""The custom layers signtrain's models use, registered with Keras so saved models load them back."""

from __future__ import annotations

from typing import Any

_MASKED_CONV: Any = None


def masked_conv_layer() -> Any:
    """Conv1D that keeps the padding mask for the recurrent layers after it and writes zeros on
    masked frames (Keras' Conv1D drops the mask).  A strided one keeps an output frame when any of
    the `stride` input frames it stands for is kept.  Registered, so saved models load it back."""
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
                    out = out * keras.ops.expand_dims(keras.ops.cast(self.compute_mask(inputs, mask), out.dtype), -1)
                return out

            def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
                stride = self.strides[0]
                if mask is None or stride == 1:
                    return mask
                kept = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
                return keras.ops.max_pool(kept, stride, stride, padding="same")[..., 0] > 0

        _MASKED_CONV = MaskedConv1D
    return _MASKED_CONV


_FRAME_MASK: Any = None


def frame_mask_layer() -> Any:
    """Keras' Masking for a mask value of 0, without its copy of the input: a frame whose values are all
    zero is masked, and it is already zeros, so the input passes through unchanged (the copy was a select
    over every value of every frame, each step).  Registered, so saved models load it back."""
    global _FRAME_MASK
    if _FRAME_MASK is None:
        import keras

        @keras.saving.register_keras_serializable(package="signtrain")
        class FrameMask(keras.layers.Masking):
            """Masking's own mask (Keras computes it from compute_mask); only the copy is left out."""

            def call(self, inputs: Any) -> Any:
                return inputs

        _FRAME_MASK = FrameMask
    return _FRAME_MASK


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
    from signtrain.models.unrolled import unrolled_layer

    masked_conv_layer()
    frame_mask_layer()
    transformer_block_layer()
    unrolled_layer("gru")
