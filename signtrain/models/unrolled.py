"""GRU and LSTM layers whose unrolled recurrence projects every frame's input at once.

Keras' unrolled recurrence runs the whole cell per frame: one input matmul per frame, three
slices of the recurrent product (each slice's gradient writes a full-width zero tensor) and a
tiled mask.  Here the input projection of all frames is one matmul before the loop, the
recurrent product is split, not sliced, and the mask broadcasts: the same weights, the same maths
(to float rounding), the same outputs on masked frames, and the default recipe's model step ~0.7x
(benchmarks/profile.py).  One deliberate difference: Keras' unrolled loop zeroes a backward
layer's masked outputs by the unreversed mask; here, as in Keras' loop that is not unrolled (the one
exported graphs use), each output by its own frame's mask.  Not unrolled, or with what the fast
path does not cover (recurrent or input dropout, reset_after=False), the layer is Keras' own, so a
GPU still gets cuDNN.  Registered, so saved models load them back.
"""

from __future__ import annotations

from typing import Any

_CLASSES: dict = {}


def unrolled_layer(kind: str) -> Any:
    """The class for `gru` or `lstm` (created and registered on first use)."""
    if not _CLASSES:
        _CLASSES.update(_define())
    return _CLASSES[kind]


def _define() -> dict:
    import keras
    from keras import ops

    def fast(layer: Any) -> bool:
        cell = layer.cell
        return layer.unroll and not cell.dropout and not cell.recurrent_dropout and getattr(cell, "reset_after", True)

    def run(layer: Any, sequences: Any, initial_state: list, mask: Any, step: Any, bias: Any) -> tuple:
        """backend.rnn's unrolled loop with the input projection taken out of it: (last output,
        outputs [B, T or 1, units], states), masked frames carrying the previous output and states."""
        projected = ops.matmul(sequences, layer.cell.kernel)
        if bias is not None:
            projected = projected + bias
        frames = ops.unstack(projected, axis=1)
        keeps = ops.unstack(ops.expand_dims(mask, -1), axis=1) if mask is not None else [None] * len(frames)
        if layer.go_backwards:
            frames, keeps = frames[::-1], keeps[::-1]
        states, outputs = list(initial_state), []
        for frame, keep in zip(frames, keeps):
            output, new_states = step(frame, states)
            if keep is not None:
                output = ops.where(keep, output, outputs[-1] if outputs else ops.zeros_like(output))
                new_states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]
            states = new_states
            outputs.append(output)
        last = outputs[-1]
        if layer.zero_output_for_mask and mask is not None:
            last = ops.where(keeps[-1], last, ops.zeros_like(last))
            outputs = [ops.where(keep, out, ops.zeros_like(out)) for keep, out in zip(keeps, outputs)]
        stacked = ops.stack(outputs, axis=1) if layer.return_sequences else ops.expand_dims(last, 1)
        return last, stacked, states

    @keras.saving.register_keras_serializable(package="signtrain")
    class UnrolledGRU(keras.layers.GRU):
        def inner_loop(self, sequences: Any, initial_state: Any, mask: Any, training: bool = False) -> Any:
            if not fast(self):
                return super().inner_loop(sequences, initial_state, mask, training)
            cell, units = self.cell, self.units
            input_bias = recurrent_bias = None
            if cell.use_bias:
                input_bias, recurrent_bias = cell.bias[0], cell.bias[1]

            def step(x: Any, states: list) -> tuple:
                h = states[0]
                inner = ops.matmul(h, cell.recurrent_kernel)
                if recurrent_bias is not None:
                    inner = inner + recurrent_bias
                x_zr, x_h = ops.split(x, [2 * units], axis=-1)
                inner_zr, inner_h = ops.split(inner, [2 * units], axis=-1)
                z, r = ops.split(cell.recurrent_activation(x_zr + inner_zr), 2, axis=-1)
                hh = cell.activation(x_h + r * inner_h)
                h = z * h + (1 - z) * hh
                return h, [h]

            states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
            return run(self, sequences, list(states), _mask(mask), step, input_bias)

    @keras.saving.register_keras_serializable(package="signtrain")
    class UnrolledLSTM(keras.layers.LSTM):
        def inner_loop(self, sequences: Any, initial_state: Any, mask: Any, training: bool = False) -> Any:
            if not fast(self):
                return super().inner_loop(sequences, initial_state, mask, training)
            cell = self.cell

            def step(x: Any, states: list) -> tuple:
                h, c = states
                i, f, g, o = ops.split(x + ops.matmul(h, cell.recurrent_kernel), 4, axis=-1)
                c = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
                h = cell.recurrent_activation(o) * cell.activation(c)
                return h, [h, c]

            return run(self, sequences, list(initial_state), _mask(mask), step, cell.bias if cell.use_bias else None)

    def _mask(mask: Any) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        return None if mask is None else ops.cast(mask, "bool")

    return {"gru": UnrolledGRU, "lstm": UnrolledLSTM}
