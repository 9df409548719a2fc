"""One loader for every kind of trained model file: load_predictor(path) -> Predictor.

A Predictor carries the model's checked metadata (labels, layout, sequence length,
normalisation) and turns raw landmark sequences into sign probabilities, applying the model's
own preprocessing.  Exported TFLite and ONNX files hold that preprocessing in their graphs, so
loading them never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from signtrain.deploy import runners
from signtrain.errors import ModelError
from signtrain.store import metadata
from signtrain.store.metadata import RunMetadata
from signtrain.transforms.features import FeatureSpec, transform_numpy
from signtrain.transforms.normalize import Normalizer


@dataclass
class Predictor:
    meta: RunMetadata
    kind: str                      # keras | saved_model | tflite | onnx
    normalizer: Normalizer
    run: runners.Runner            # model inputs [N, T, F'] -> probabilities [N, classes]
    model: Any = None              # the Keras model, when there is one
    spec: Optional[FeatureSpec] = None  # landmark features computed before normalising (None: in the graph)

    @property
    def path(self) -> Path:
        return self.meta.model_path

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @property
    def sequence_length(self) -> int:
        return self.meta.sequence_length

    @property
    def feature_length(self) -> int:
        return self.meta.feature_length

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Raw frames [N, T, F] (padded with zero frames) -> probabilities [N, classes]."""
        features = transform_numpy(X, self.spec) if self.spec is not None else X
        return self.run(self.normalizer.apply(features))


def load_keras_model(path: Path, meta: RunMetadata) -> Any:
    from signtrain.runtime import import_tensorflow

    import_tensorflow()
    import keras

    from signtrain.models import build_model, register_custom_layers

    register_custom_layers()  # before loading
    try:
        if meta.saved_as == "weights" or path.name.endswith(".weights.h5"):
            spec = FeatureSpec.from_config(meta.config.preprocess, meta.feature_length)
            model = build_model(meta.config.model, meta.sequence_length, spec.output_length, len(meta.labels))
            model.load_weights(path)
            return model
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any load failure is a broken or foreign file
        raise ModelError(f"{path}: cannot load the model ({type(exc).__name__}: {str(exc)[:200]}); the file may be "
                         f"truncated or not a signtrain model: retrain, or copy it again from the training output") from None


def load_predictor(path: Path) -> Predictor:
    meta = metadata.load(Path(path))
    real = meta.model_path
    kind = runners.model_kind(real)
    if kind != "keras" and meta.export is None:
        raise ModelError(f"{path}: {meta.path} describes a Keras model, not this {kind} file; "
                         f"export again with signtrain export")
    spec: Optional[FeatureSpec] = FeatureSpec.from_config(meta.config.preprocess, meta.feature_length)
    normalizer = meta.normalizer
    model = None
    if kind == "keras":
        model = load_keras_model(real, meta)
        run = runners.keras_runner(model)
    else:
        one = runners.open_runner(kind, real)
        run = lambda X: runners.one_at_a_time(one, X)  # noqa: E731
        if meta.export is not None and meta.export.normalization_in_graph:
            normalizer = Normalizer("none", np.float32(0.0), np.float32(1.0), 0.0, mask_zero_frames=False)
            spec = None
    predictor = Predictor(meta, kind, normalizer, run, model, spec)
    _check_outputs(predictor, path)
    return predictor


def _check_outputs(predictor: Predictor, given: Path) -> None:
    """The model must give one probability per label the metadata names."""
    probe = np.zeros((1, predictor.sequence_length, predictor.feature_length), np.float32)
    try:
        width = predictor.predict_proba(probe).shape[-1]
    except Exception as exc:  # noqa: BLE001 - a file of another shape
        raise ModelError(f"{given}: the model does not take {predictor.sequence_length} frames x "
                         f"{predictor.feature_length} values as {predictor.meta.path.name} says "
                         f"({type(exc).__name__}); use the files of one run together") from None
    if width != len(predictor.labels):
        raise ModelError(f"{given}: the model has {width} outputs but {predictor.meta.path.name} names "
                         f"{len(predictor.labels)} signs; use the files of one run together or retrain")
