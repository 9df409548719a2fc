"""Keras (.keras): the trained model itself, without the preprocessing (which the Predictor applies)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signtrain.deploy.predictor import Predictor
from signtrain.deploy.runners import Runner


def write(predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
    predictor.model.save(path)


def open_runner(path: Path) -> Runner:
    """Model inputs (features, normalised) -> probabilities, through Keras."""
    import keras

    from signtrain.deploy.runners import keras_runner
    from signtrain.models import register_custom_layers

    register_custom_layers()
    return keras_runner(keras.models.load_model(path, compile=False))
