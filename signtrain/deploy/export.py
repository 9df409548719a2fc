"""export(model, formats) -> ExportReport: deployable files that provably match the Keras model.

The formats are the registry's table (signtrain.registry.EXPORT_FORMATS; one module each under
deploy/formats/).  Each export is written to a temporary path, reloaded in its own runtime,
compared with the Keras model on real held-out sequences (max |probability difference| and top-1
agreement, with a threshold per quantisation mode), timed at batch 1, and only then moved into
place: a file that fails its check never appears under its final name.  The TFLite, SavedModel
and ONNX graphs take raw landmarks: normalisation (and the rule that all-zero frames are masked)
is baked in.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from signtrain import store
from signtrain.choices import QUANTIZE
from signtrain.deploy import runners
from signtrain.deploy.heldout import held_out
from signtrain.deploy.predictor import Predictor, load_predictor
from signtrain.errors import ConfigError, ModelError
from signtrain.progress import Listener
from signtrain.registry import EXPORT_FORMATS, ExportFormat
from signtrain.runtime import missing_modules, quiet_tensorflow
from signtrain.store import metadata, publish
from signtrain.store.locks import FolderLock

PARITY_SEQUENCES = 256
CALIBRATION_SEQUENCES = 200
LATENCY_RUNS = 200


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
    notes: list[str] = field(default_factory=list)  # leftovers of an earlier, killed export: what was done

    @property
    def failed(self) -> list[ExportEntry]:
        return [e for e in self.entries if not e.passed and not e.note.startswith("skipped")]

    def to_dict(self) -> dict:
        return {"model": self.model, "output": self.output, "parity_sequences": self.parity_sequences,
                "parity_split": self.parity_split, "formats": [asdict(e) for e in self.entries],
                "notes": self.notes}


# ---------------------------------------------------------------- runtimes


def batch1_runner(fmt: str, path: Path, predictor: Predictor) -> runners.Runner:
    """A function running ONE raw window [1, T, F] through the file in its own runtime."""
    if EXPORT_FORMATS[fmt].baked:
        return runners.open_runner(fmt, path)
    # no normalisation inside the file: the trained model's preprocessing runs first
    reloaded = dataclasses.replace(predictor, run=EXPORT_FORMATS[fmt].load().open_runner(path))
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


def _missing_modules(fmt: ExportFormat) -> list[str]:
    return missing_modules(*fmt.modules)


def export(model_path: Path, formats: list[str], quantize: str = "none", output: Optional[Path] = None,
           data: Optional[str] = None, listener: Optional[Listener] = None, **options: Any) -> ExportReport:
    """The listener hears each step (loading, converting, checking) as it starts.  options: what a
    format's write() takes besides the model (the registry's `options`, e.g. web_assets)."""
    listener = listener or Listener()
    on_phase = listener.on_phase
    options = {"on_download": listener.on_message, **{k: v for k, v in options.items() if v is not None}}
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise ConfigError(f"--format {unknown[0]}: choose one of {', '.join(EXPORT_FORMATS)} or all")
    if quantize not in QUANTIZE:
        raise ConfigError(f"--quantize {quantize}: choose one of {', '.join(QUANTIZE)}")
    quantizing = [f for f in formats if quantize in EXPORT_FORMATS[f].thresholds]
    if quantize != "none" and not quantizing:
        able = [f.name for f in EXPORT_FORMATS.values() if quantize in f.thresholds]
        raise ConfigError(f"--quantize {quantize} applies to {', '.join(able)}; add --format {able[0]}")
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
    with FolderLock(output, f"{output} is being written by another signtrain export"):
        notes = publish.clean(output)  # what an export killed here before left: finished or removed
        for name in formats:
            wanted = {k: v for k, v in options.items() if k in EXPORT_FORMATS[name].options}
            entries.append(_export_one(name, predictor, mode_for(name, quantize), output, stem, reference.X,
                                       expected, calibration, on_phase, wanted))
    return ExportReport(str(model_path), str(output), len(reference), split, entries, notes)


def mode_for(name: str, quantize: str) -> str:
    """The quantisation a format is written with: the one asked for where it supports it."""
    return quantize if quantize in EXPORT_FORMATS[name].thresholds else "none"


def _export_one(name: str, predictor: Predictor, mode: str, output: Path, stem: str, X: np.ndarray,
                expected: np.ndarray, calibration: np.ndarray, on_phase: Callable[[str], None],
                options: dict) -> ExportEntry:
    """Convert, check, and publish one format with its sidecar and labels as one unit (or nothing)."""
    fmt = EXPORT_FORMATS[name]
    final = output / f"{stem}{'' if mode == 'none' else '_' + mode}{fmt.suffix}"
    entry = ExportEntry(name, str(final), mode, threshold=fmt.thresholds[mode])
    missing = _missing_modules(fmt)
    if missing:
        entry.note = f"skipped: needs {', '.join(missing)} (pip install 'signtrain[{fmt.extra}]')"
        return entry
    unit = publish.Unit(output, final.name)
    try:
        staged = unit.stage(final.name)
        on_phase(f"converting to {name}" + ("" if mode == "none" else f" ({mode})"))
        with quiet_tensorflow():
            fmt.load().write(predictor, mode, calibration, staged, **options)
        on_phase(f"checking the {name} file against the Keras model")
        with quiet_tensorflow():
            _check(entry, name, staged, predictor, X, expected)
        if entry.passed:
            metadata.write(unit.stage(metadata.export_sidecar(final).name), _export_metadata(predictor, staged,
                                                                                             final, fmt, mode))
            store.write_text(unit.stage("labels.txt"), "\n".join(predictor.labels) + "\n")
            unit.publish()
    except Exception as exc:  # noqa: BLE001 - a converter failure fails this format, not the command
        entry.passed = False
        entry.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        unit.discard()  # whatever was not published
    return entry


def _check(entry: ExportEntry, fmt: str, path: Path, predictor: Predictor, X: np.ndarray,
           expected: np.ndarray) -> None:
    run = batch1_runner(fmt, path, predictor)
    got = runners.one_at_a_time(run, X)
    entry.max_abs_diff = float(np.max(np.abs(got - expected))) if len(X) else float("nan")
    entry.top1_agreement = float(np.mean(got.argmax(axis=1) == expected.argmax(axis=1)))
    entry.size_bytes = sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
    problems = getattr(EXPORT_FORMATS[fmt].load(), "problems", None)
    if problems is not None:  # a format may hold what its plain runtime cannot run
        entry.ops, entry.note = problems(path)
        if entry.note:
            return
    max_diff, agreement = entry.threshold
    entry.passed = entry.max_abs_diff <= max_diff and entry.top1_agreement >= agreement
    if not entry.passed:
        entry.note = (f"parity check failed: max |diff| {entry.max_abs_diff:.2e} (allowed {max_diff:.0e}), "
                      f"top-1 agreement {entry.top1_agreement:.1%} (needed {agreement:.0%}); nothing written")
        return
    entry.latency_median_ms, entry.latency_p95_ms = _latency(run, X[:1].astype(np.float32))


def _export_metadata(predictor: Predictor, checked: Path, final: Path, fmt: ExportFormat, mode: str) -> dict:
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
        "input": {"name": "landmarks", "shape": [1 if fmt.fixed_batch else None,
                                                 predictor.sequence_length, predictor.feature_length],
                  "dtype": "float32", "meaning": "raw landmark frames; all-zero frames count as missing"},
        "output": {"name": "probabilities", "labels": predictor.labels},
    }
    return meta
