"""The serving graph every baked export holds: raw landmarks -> features -> normalisation -> model.

TFLite: Keras 3 LSTMs with a dynamic batch do not convert to built-in ops, so an inference twin
with a fixed [1, T, F] input carries the trained weights (batch=1 here)."""

from __future__ import annotations

from typing import Any, Optional

from signtrain.data.assemble import FLOAT32_TINY
from signtrain.deploy.predictor import Predictor
from signtrain.transforms.features import transform


def serving_function(predictor: Predictor, batch: Optional[int], unroll: bool = False) -> Any:
    """tf.function raw landmarks [batch, T, F] -> {'probabilities'}; batch=1 builds the fixed-shape twin."""
    import tensorflow as tf

    from signtrain.models import build_model

    T, F = predictor.sequence_length, predictor.feature_length
    spec = predictor.spec
    model = predictor.model
    if batch is not None:
        model = build_model(predictor.meta.config.model, T, spec.output_length, len(predictor.labels),
                            batch_size=batch, unroll=unroll)
        model.set_weights(predictor.model.get_weights())
    norm = predictor.normalizer

    @tf.function(input_signature=[tf.TensorSpec([batch, T, F], tf.float32, name="landmarks")])
    def serve(landmarks: Any) -> dict:
        # the normaliser writes its statistics as numpy constants inside the graph (a captured
        # tf.constant would become a missing input for tf2onnx)
        # subnormal inputs as 0 in every runtime, as signtrain's readers do (data.assemble.flush_subnormals)
        landmarks = tf.where(tf.abs(landmarks) < FLOAT32_TINY, tf.zeros_like(landmarks), landmarks)
        z = norm.apply_tf(transform(landmarks, spec))
        return {"probabilities": model(z, training=False)}

    serve.keras_model = model  # keeps the variables alive with the function
    return serve
