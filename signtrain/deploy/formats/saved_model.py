"""SavedModel: the serving graph with a dynamic batch, signature serving_default."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signtrain.deploy.graph import serving_function
from signtrain.deploy.predictor import Predictor
from signtrain.deploy.runners import Runner


def write(predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
    import tensorflow as tf

    serve = serving_function(predictor, None)
    module = tf.Module()
    module.serve = serve
    module.model = serve.keras_model
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve.get_concrete_function()})


def open_runner(path: Path) -> Runner:
    from signtrain.runtime import import_tensorflow

    import_tensorflow()
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    return lambda x: signature(landmarks=tf.constant(x))["probabilities"].numpy()
