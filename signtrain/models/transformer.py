"""Transformer kind: convolutions over time, then one encoder block per entry of model.units (its
width), then the mean over the unmasked frames."""

from __future__ import annotations

from signtrain.config import ModelConfig, per_layer
from signtrain.models.layers import masked_conv_layer, transformer_block_layer


def body(cfg: ModelConfig, stack: list, unroll: bool) -> None:
    from keras import layers

    block = transformer_block_layer()
    dropouts = per_layer(cfg.dropout, len(cfg.units))
    for i, width in enumerate(cfg.units):
        if i == 0 or width != cfg.units[i - 1]:
            stack.append(masked_conv_layer()(width, 1, name=f"width_{i + 1}"))  # to the block's width
        stack.append(block(width, dropout=dropouts[i] or 0.0, name=f"transformer_{i + 1}"))
    stack.append(layers.GlobalAveragePooling1D(name="mean_over_frames"))
