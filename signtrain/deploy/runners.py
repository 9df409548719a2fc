"""Running a model file in its own runtime (each format's module opens its own, see
signtrain.registry), below both export (parity checks) and predict.  TFLite runs in LiteRT and
ONNX in onnxruntime, neither of which needs TensorFlow; only Keras and SavedModel files import it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from signtrain.errors import ModelError
from signtrain.registry import EXPORT_FORMATS

PREDICT_BATCH = 256  # train and evaluate predict in the same batches, so their figures agree to the last digit
Runner = Callable[[np.ndarray], np.ndarray]


def model_kind(path: Path) -> str:
    """The format a model path is in (keras | saved_model | tflite | onnx | ...), from the table of formats."""
    formats = EXPORT_FORMATS.values()
    if path.is_dir():
        for fmt in formats:
            if fmt.folder and (path / fmt.marker).is_file():
                return fmt.name
        markers = ", ".join(f.marker for f in formats if f.folder)
        raise ModelError(f"{path}: a folder without {markers}; give a model file or a SavedModel folder")
    name = path.name.lower()
    for fmt in formats:
        if not fmt.folder and name.endswith((fmt.suffix, *fmt.reads)):
            return fmt.name
    known = ", ".join(s for f in formats if not f.folder for s in (*f.reads, f.suffix))
    raise ModelError(f"{path}: not a model file signtrain reads ({known} or a SavedModel folder)")


def keras_runner(model: Any) -> Runner:
    """Batched inference through one traced function: `model.predict` costs tens of ms per call."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def run(X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((0, model.output_shape[-1]), np.float32)
        return np.concatenate([forward(tf.constant(X[i:i + PREDICT_BATCH])).numpy()
                               for i in range(0, len(X), PREDICT_BATCH)])

    return run


def open_runner(kind: str, path: Path) -> Runner:
    """A function running ONE raw window [1, T, F] through an exported file (normalisation inside)."""
    fmt = EXPORT_FORMATS[kind]
    try:
        return fmt.load().open_runner(path)
    except ImportError as exc:
        extra = fmt.extra or kind
        raise ModelError(f"{path}: reading {kind} files needs the {exc.name} package "
                         f"(pip install 'signtrain[{extra}]')") from None
    except Exception as exc:  # noqa: BLE001 - any load failure is a broken or foreign file
        raise ModelError(f"{path}: cannot load the {kind} model ({type(exc).__name__}: {str(exc)[:200]}); "
                         f"export it again with signtrain export") from None


def one_at_a_time(run: Runner, X: np.ndarray) -> np.ndarray:
    """Sequences [N, T, F] through a batch-1 runner -> probabilities [N, classes]."""
    if len(X) == 0:
        return np.zeros((0, 0), np.float32)
    return np.concatenate([run(x[None].astype(np.float32)) for x in X])
