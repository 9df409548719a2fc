"""One loader for every kind of trained model file: load_predictor(path) -> Predictor.

A Predictor carries the model's metadata (labels, layout, sequence length,
normalisation) and turns raw landmark sequences into sign probabilities,
applying the model's own preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from signtrain.artifacts import metadata_path, read_metadata
from signtrain.config import build_config
from signtrain.data.preprocess import Normalizer
from signtrain.errors import ModelError
from signtrain.features import FeatureSpec, transform_numpy

PREDICT_BATCH = 256  # train and evaluate predict in the same batches, so their figures agree to the last digit


@dataclass
class Predictor:
    path: Path
    kind: str                      # keras | saved_model | tflite | onnx
    metadata: dict
    normalizer: Normalizer
    run: Callable[[np.ndarray], np.ndarray]  # model inputs [N, T, F'] -> probabilities [N, classes]
    model: Any = None              # the Keras model, when there is one
    spec: Optional[FeatureSpec] = None  # landmark features computed before normalising (None: in the graph)

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    @property
    def sequence_length(self) -> int:
        return int(self.metadata["sequence_length"])

    @property
    def feature_length(self) -> int:
        return int(self.metadata["feature_length"])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Raw frames [N, T, F] (padded with zero frames) -> probabilities [N, classes]."""
        features = transform_numpy(X, self.spec) if self.spec is not None else X
        return self.run(self.normalizer.apply(features))


def _keras_predictor(path: Path, metadata: dict) -> tuple[Callable, Any]:
    import keras

    from signtrain.model import build_model, register_custom_layers

    register_custom_layers()  # before loading

    try:
        if metadata.get("saved_as") == "weights" or path.name.endswith(".weights.h5"):
            config = build_config(metadata["config"])
            spec = FeatureSpec.from_config(config.preprocess, metadata["feature_length"])
            model = build_model(config.model, metadata["sequence_length"], spec.output_length,
                                len(metadata["labels"]))
            model.load_weights(path)
        else:
            model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any load failure is a broken or foreign file
        raise ModelError(f"{path}: cannot load the model ({type(exc).__name__}: {str(exc)[:200]}); the file may be "
                         f"truncated or not a signtrain model: retrain, or copy it again from the training output") from None

    return keras_runner(model), model


def keras_runner(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Batched inference through one traced function: `model.predict` costs tens of ms per call."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def run(X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((0, model.output_shape[-1]), np.float32)
        return np.concatenate([forward(tf.constant(X[i:i + PREDICT_BATCH])).numpy()
                               for i in range(0, len(X), PREDICT_BATCH)])

    return run


def _exported_predictor(kind: str) -> Callable[[Path, dict], tuple[Callable, Any]]:
    """TFLite / SavedModel / ONNX: normalisation is in the graph, so run takes raw frames."""

    def load(path: Path, metadata: dict) -> tuple[Callable, Any]:
        from signtrain.export import batch1_runner, one_at_a_time

        try:
            one = batch1_runner(kind, path, None)
        except ImportError as exc:
            raise ModelError(f"{path}: reading {kind} files needs {exc.name} "
                             f"(pip install 'signtrain[{'tflite' if kind == 'tflite' else kind}]')") from None
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{path}: cannot load the {kind} model ({type(exc).__name__}: {str(exc)[:200]})") from None

        return lambda X: one_at_a_time(one, X), None

    return load


LOADERS: dict[str, Callable[[Path, dict], tuple[Callable, Any]]] = {
    "keras": _keras_predictor,
    "tflite": _exported_predictor("tflite"),
    "saved_model": _exported_predictor("saved_model"),
    "onnx": _exported_predictor("onnx"),
}


def model_kind(path: Path) -> str:
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return "saved_model"
    if path.is_dir():
        raise ModelError(f"{path}: a folder without saved_model.pb; give a model file or a SavedModel folder")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".keras"):
        return "keras"
    if suffix in (".tflite", ".onnx"):
        return suffix[1:]
    raise ModelError(f"{path}: not a model file signtrain reads (.h5, .keras, .tflite, .onnx or a SavedModel folder)")


def load_predictor(path: Path) -> Predictor:
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model not found: {path} (train one with signtrain train, or give the path of one)")
    kind = model_kind(path)
    metadata = read_metadata(path)
    if kind != "keras" and "export" not in metadata:
        raise ModelError(f"{path}: {metadata_path(path)} describes a Keras model, not this {kind} file; "
                         f"export again with signtrain export")
    from signtrain.runtime import import_tensorflow

    import_tensorflow()
    run, model = LOADERS[kind](path, metadata)
    normalizer = Normalizer.from_dict(metadata["normalization"])
    spec: Optional[FeatureSpec] = FeatureSpec.from_config(build_config(metadata["config"]).preprocess,
                                                          metadata["feature_length"])
    if kind != "keras" and metadata["export"]["normalization_in_graph"]:
        normalizer = Normalizer("none", np.float32(0.0), np.float32(1.0), 0.0, mask_zero_frames=False)
        spec = None
    return Predictor(path, kind, metadata, normalizer, run, model, spec)
