"""Recurrent kinds (lstm, gru, bilstm): one recurrent layer per entry of model.units."""

from __future__ import annotations

from typing import Optional, Union

from signtrain.config import ModelConfig, per_layer
from signtrain.models.unrolled import unrolled_layer

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


def body(cfg: ModelConfig, stack: list, unroll: bool) -> None:
    """Append the recurrent layers (each with its batch norm and dropout), pooled when the last returns
    sequences."""
    from keras import layers, regularizers

    n = len(cfg.units)
    returns = per_layer(cfg.return_sequences, n)
    dropouts = per_layer(cfg.dropout, n)
    l2s = per_layer(cfg.l2, n)
    norms = per_layer(cfg.batch_norm, n)
    cell = unrolled_layer("gru" if cfg.kind == "gru" else "lstm")
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
