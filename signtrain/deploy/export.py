"""export(model, formats) -> ExportReport: deployable files that provably match the Keras model.

One table of formats.  Each export is written to a temporary path, reloaded in
its own runtime, compared with the Keras model on real held-out sequences
(max |probability difference| and top-1 agreement, with a threshold per
quantisation mode), timed at batch 1, and only then moved into place: a file
that fails its check never appears under its final name.

TFLite: Keras 3 LSTMs with a dynamic batch do not convert to built-in ops, so an
inference twin with a fixed [1, T, F] input carries the trained weights; its
variables are frozen to constants and the result uses built-in ops only (no
Flex), so it runs in the plain LiteRT runtime on a phone.  The TFLite,
SavedModel and ONNX graphs take raw landmarks: normalisation (and the rule that
all-zero frames are masked) is baked in.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from signtrain import store
from signtrain.choices import QUANTIZE
from signtrain.data.assemble import FLOAT32_TINY
from signtrain.deploy import runners
from signtrain.deploy.heldout import held_out
from signtrain.deploy.predictor import Predictor, load_predictor
from signtrain.errors import ConfigError, ModelError
from signtrain.runtime import missing_modules, quiet_tensorflow
from signtrain.store import metadata
from signtrain.transforms.features import transform

# (max |probability difference|, minimum top-1 agreement) a file must meet, per mode
THRESHOLDS = {"none": (1e-5, 1.0), "float16": (1e-2, 0.99), "dynamic": (5e-2, 0.95), "int8": (0.15, 0.90)}
PARITY_SEQUENCES = 256
CALIBRATION_SEQUENCES = 200
LATENCY_RUNS = 200


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    baked: bool          # normalisation inside the graph
    extra: str           # pip extra that brings its packages
    modules: tuple[str, ...]


FORMATS = {f.name: f for f in (
    Format("tflite", ".tflite", True, "tflite", ("ai_edge_litert",)),
    Format("saved_model", ".saved_model", True, "", ()),
    Format("keras", ".keras", False, "", ()),
    Format("onnx", ".onnx", True, "onnx", ("tf2onnx", "onnxruntime")),
)}


@dataclass
class ExportEntry:
    format: str
    path: str
    quantize: str
    size_bytes: int = 0
    max_abs_diff: float = float("nan")
    top1_agreement: float = float("nan")
    threshold: tuple = ()
    passed: bool = False
    latency_median_ms: float = float("nan")
    latency_p95_ms: float = float("nan")
    ops: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class ExportReport:
    model: str
    output: str
    parity_sequences: int
    parity_split: str
    entries: list[ExportEntry]

    @property
    def failed(self) -> list[ExportEntry]:
        return [e for e in self.entries if not e.passed and not e.note.startswith("skipped")]

    def to_dict(self) -> dict:
        return {"model": self.model, "output": self.output, "parity_sequences": self.parity_sequences,
                "parity_split": self.parity_split, "formats": [asdict(e) for e in self.entries]}


# ---------------------------------------------------------------- graphs


def serving_function(predictor: Predictor, batch: Optional[int], unroll: bool = False) -> Any:
    """tf.function raw landmarks [batch, T, F] -> {'probabilities'}; batch=1 builds the fixed-shape twin."""
    import tensorflow as tf

    from signtrain.models.build import build_model

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


def _convert_tflite(predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
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


def _write_saved_model(predictor: Predictor, path: Path) -> None:
    import tensorflow as tf

    serve = serving_function(predictor, None)
    module = tf.Module()
    module.serve = serve
    module.model = serve.keras_model
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve.get_concrete_function()})


def _write_onnx(predictor: Predictor, path: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    serve = serving_function(predictor, None)
    spec = (tf.TensorSpec([None, predictor.sequence_length, predictor.feature_length], tf.float32, name="landmarks"),)
    tf2onnx.convert.from_function(serve, input_signature=spec, opset=17, output_path=str(path))


def _write(fmt: str, predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
    if fmt == "tflite":
        _convert_tflite(predictor, quantize, calibration, path)
    elif fmt == "saved_model":
        _write_saved_model(predictor, path)
    elif fmt == "keras":
        predictor.model.save(path)
    else:
        _write_onnx(predictor, path)


# ---------------------------------------------------------------- runtimes


def batch1_runner(fmt: str, path: Path, predictor: Predictor) -> runners.Runner:
    """A function running ONE raw window [1, T, F] through the file in its own runtime."""
    if fmt != "keras":
        return runners.open_runner(fmt, path)
    import keras

    # the .keras file has no normalisation inside: the trained model's preprocessing runs first
    reloaded = dataclasses.replace(predictor, run=runners.keras_runner(keras.models.load_model(path, compile=False)))
    return reloaded.predict_proba


def _latency(run: runners.Runner, window: np.ndarray) -> tuple[float, float]:
    for _ in range(5):
        run(window)
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        run(window)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000), float(np.percentile(times, 95) * 1000)


# ---------------------------------------------------------------- the command


def _missing_modules(fmt: Format) -> list[str]:
    return missing_modules(*fmt.modules)


def _place(tmp: Path, final: Path) -> None:
    """Move a checked export into place, replacing an older one."""
    if final.is_dir():
        shutil.rmtree(final)
    elif final.exists():
        final.unlink()
    tmp.rename(final)


def _nothing(text: str) -> None:
    pass


def export(model_path: Path, formats: list[str], quantize: str = "none", output: Optional[Path] = None,
           data: Optional[str] = None, on_phase: Callable[[str], None] = _nothing) -> ExportReport:
    """on_phase(text) hears each step (loading, converting, checking) as it starts."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"--format {unknown[0]}: choose one of {', '.join(FORMATS)} or all")
    if quantize not in QUANTIZE:
        raise ConfigError(f"--quantize {quantize}: choose one of {', '.join(QUANTIZE)}")
    if quantize != "none" and "tflite" not in formats:
        raise ConfigError(f"--quantize {quantize} applies to TFLite; add --format tflite")
    on_phase("loading the model")
    predictor = load_predictor(model_path)
    if predictor.kind != "keras" or predictor.model is None:
        raise ModelError(f"{model_path}: export starts from the trained Keras model (.h5 or .keras)")
    output = store.ensure_dir(Path(output) if output else predictor.path.parent / "export")

    on_phase("reading real held-out sequences for the parity checks")
    reference, split = held_out(predictor.meta, data, PARITY_SEQUENCES)
    calibration = held_out(predictor.meta, data, CALIBRATION_SEQUENCES, prefer="train")[0].X if quantize == "int8" \
        else reference.X[:0]
    expected = predictor.predict_proba(reference.X)
    stem = store.model_stem(predictor.path)
    entries = []
    for name in formats:
        fmt = FORMATS[name]
        mode = quantize if name == "tflite" else "none"
        final = output / f"{stem}{'' if mode == 'none' else '_' + mode}{fmt.suffix}"
        entry = ExportEntry(name, str(final), mode, threshold=THRESHOLDS[mode])
        entries.append(entry)
        missing = _missing_modules(fmt)
        if missing:
            entry.note = (f"skipped: needs {', '.join(missing)} (pip install 'signtrain[{fmt.extra}]')")
            continue
        workdir = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=output))
        try:
            tmp = workdir / final.name
            on_phase(f"converting to {name}" + ("" if mode == "none" else f" ({mode})"))
            with quiet_tensorflow():
                _write(name, predictor, mode, calibration, tmp)
            on_phase(f"checking the {name} file against the Keras model")
            with quiet_tensorflow():
                _check(entry, name, tmp, predictor, reference.X, expected)
            if entry.passed:
                _write_export_metadata(predictor, tmp, final, fmt, mode)
                _place(tmp, final)
        except Exception as exc:  # noqa: BLE001 - a converter failure fails this format, not the command
            entry.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return ExportReport(str(model_path), str(output), len(reference), split, entries)


def _check(entry: ExportEntry, fmt: str, path: Path, predictor: Predictor, X: np.ndarray,
           expected: np.ndarray) -> None:
    run = batch1_runner(fmt, path, predictor)
    got = runners.one_at_a_time(run, X)
    entry.max_abs_diff = float(np.max(np.abs(got - expected))) if len(X) else float("nan")
    entry.top1_agreement = float(np.mean(got.argmax(axis=1) == expected.argmax(axis=1)))
    entry.size_bytes = sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
    if fmt == "tflite":
        entry.ops = runners.tflite_ops(path)
        flex = [op for op in entry.ops if op.lower().startswith("flex")]
        if flex:
            entry.note = f"holds Flex ops {flex}: would not run in the plain LiteRT runtime"
            return
    max_diff, agreement = entry.threshold
    entry.passed = entry.max_abs_diff <= max_diff and entry.top1_agreement >= agreement
    if not entry.passed:
        entry.note = (f"parity check failed: max |diff| {entry.max_abs_diff:.2e} (allowed {max_diff:.0e}), "
                      f"top-1 agreement {entry.top1_agreement:.1%} (needed {agreement:.0%}); nothing written")
        return
    entry.latency_median_ms, entry.latency_p95_ms = _latency(run, X[:1].astype(np.float32))


def _write_export_metadata(predictor: Predictor, checked: Path, final: Path, fmt: Format, mode: str) -> None:
    """Each exported file gets its own sidecar: the run's metadata, how this file was made, and the
    checksums that tie it to its run's model."""
    meta = {k: v for k, v in predictor.meta.raw.items() if k not in ("digest", "files")}
    meta["files"] = {final.name: store.file_digest(checked)}
    meta["export"] = {
        "format": fmt.name, "file": final.name, "quantize": mode,
        "normalization_in_graph": fmt.baked,
        "source": {"run_id": predictor.meta.run_id, "model_file": predictor.path.name,
                   # checked against the model file when the metadata was loaded: no second read of it
                   "model_sha256": (predictor.meta.raw.get("files") or {}).get(predictor.path.name)
                   or store.file_digest(predictor.path)},
        "input": {"name": "landmarks", "shape": [1 if fmt.name == "tflite" else None,
                                                 predictor.sequence_length, predictor.feature_length],
                  "dtype": "float32", "meaning": "raw landmark frames; all-zero frames count as missing"},
        "output": {"name": "probabilities", "labels": predictor.labels},
    }
    metadata.write(metadata.export_sidecar(final), meta)
    labels = final.parent / "labels.txt"
    store.write_text(labels, "\n".join(predictor.labels) + "\n")


def parse_formats(text: str) -> list[str]:
    return list(FORMATS) if text == "all" else [f.strip() for f in text.split(",") if f.strip()]
