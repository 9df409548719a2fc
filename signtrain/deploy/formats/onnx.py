"""ONNX: the serving graph through tf2onnx (opset 17), run in onnxruntime without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signtrain.deploy.graph import serving_function
from signtrain.deploy.predictor import Predictor
from signtrain.deploy.runners import Runner


def write(predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    serve = serving_function(predictor, None)
    spec = (tf.TensorSpec([None, predictor.sequence_length, predictor.feature_length], tf.float32, name="landmarks"),)
    tf2onnx.convert.from_function(serve, input_signature=spec, opset=17, output_path=str(path))


def open_runner(path: Path) -> Runner:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]
