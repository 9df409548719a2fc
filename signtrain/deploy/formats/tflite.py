"""TFLite: the fixed-batch twin, variables frozen to constants, built-in ops only (no Flex), so it
runs in the plain LiteRT runtime on a phone; quantisation float16, dynamic or int8."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from signtrain.deploy.graph import serving_function
from signtrain.deploy.predictor import Predictor
from signtrain.deploy.runners import Runner


def write(predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # int8 calibration crashes (SIGSEGV) on the WHILE loop of a rolled LSTM; the unrolled twin calibrates.
    twin = serving_function(predictor, 1, unroll=quantize == "int8")
    frozen = convert_variables_to_constants_v2(twin.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        def representative() -> Any:
            for window in calibration:
                yield [window[None].astype(np.float32)]

        converter.representative_dataset = representative
        converter.experimental_new_quantizer = True
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    path.write_bytes(converter.convert())


def open_runner(path: Path) -> Runner:
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


def problems(path: Path) -> tuple[list[str], str]:
    """(the operators stored in the file, why it would not run in the plain runtime or '')."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})  # noqa: SLF001
    flex = [op for op in ops if op.lower().startswith("flex")]
    return ops, f"holds Flex ops {flex}: would not run in the plain LiteRT runtime" if flex else ""
