"""Running a model file in its own runtime: one function per format, below both export (parity
checks) and predict.  TFLite runs in LiteRT and ONNX in onnxruntime, neither of which needs
TensorFlow; only Keras and SavedModel files import it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from signtrain.errors import ModelError

PREDICT_BATCH = 256  # train and evaluate predict in the same batches, so their figures agree to the last digit
Runner = Callable[[np.ndarray], np.ndarray]
EXTRA = {"tflite": "tflite", "onnx": "onnx", "saved_model": ""}


def model_kind(path: Path) -> str:
    """keras | saved_model | tflite | onnx, from the path."""
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return "saved_model"
    if path.is_dir():
        raise ModelError(f"{path}: a folder without saved_model.pb; give a model file or a SavedModel folder")
    name = path.name.lower()
    if name.endswith((".h5", ".keras")):
        return "keras"
    if name.endswith((".tflite", ".onnx")):
        return name.rsplit(".", 1)[1]
    raise ModelError(f"{path}: not a model file signtrain reads (.h5, .keras, .tflite, .onnx or a SavedModel folder)")


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


def _tflite(path: Path) -> Runner:
    from ai_edge_litert.interpreter import Interpreter

    from signtrain.runtime import muted_stderr

    with muted_stderr():  # LiteRT announces its XNNPACK delegate on stderr
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp, x)
        interpreter.invoke()
        return interpreter.get_tensor(out).copy()

    return run


def _saved_model(path: Path) -> Runner:
    from signtrain.runtime import import_tensorflow

    import_tensorflow()
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    return lambda x: signature(landmarks=tf.constant(x))["probabilities"].numpy()


def _onnx(path: Path) -> Runner:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


OPENERS: dict[str, Callable[[Path], Runner]] = {"tflite": _tflite, "saved_model": _saved_model, "onnx": _onnx}


def open_runner(kind: str, path: Path) -> Runner:
    """A function running ONE raw window [1, T, F] through an exported file (normalisation inside)."""
    try:
        return OPENERS[kind](path)
    except ImportError as exc:
        extra = EXTRA.get(kind) or kind
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


def tflite_ops(path: Path) -> list[str]:
    """The operators stored in a .tflite file (without the runtime's delegate nodes)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})  # noqa: SLF001
