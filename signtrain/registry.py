"""The extension points, one table each: export formats, data formats (readers) and model kinds.

Each entry holds the light facts every layer may need (names, suffixes, extras, choices for the
config and the command line) and the dotted name of the module that does the work, imported only
when that entry is used: so `--help` stays fast and the config can check its choices without
importing TensorFlow.  Adding one is one new module plus one line here (and a pyproject extra
where it needs new packages):

- an export format: a module with `write(predictor, quantize, calibration, path)` and
  `open_runner(path)` (see signtrain/deploy/formats/onnx.py);
- a data format: a module with `detect(root) -> bool` and `read(root, data_config) -> RawTree`
  (see signtrain/data/npzfile.py); entries are tried in table order, the last is the fallback;
- a model kind: a module with `body(config, stack, unroll)` that appends its layers to the
  Sequential stack (see signtrain/models/transformer.py).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType

PARITY = (1e-5, 1.0)  # (max |probability difference|, minimum top-1 agreement) of an unquantised file


@dataclass(frozen=True)
class _Entry:
    name: str
    module: str  # dotted name of the module that implements it

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


@dataclass(frozen=True)
class ExportFormat(_Entry):
    suffix: str                   # of the file (or folder) written
    baked: bool                   # normalisation inside the graph
    extra: str = ""               # pip extra that brings its packages ('' = the base install)
    modules: tuple[str, ...] = ()  # packages it needs, checked before converting
    reads: tuple[str, ...] = ()   # other suffixes its runner opens (a trained .h5 is a Keras model)
    fixed_batch: bool = False     # its input is one window [1, T, F]
    folder: bool = False          # written as a folder (its marker file inside)
    marker: str = ""
    options: tuple[str, ...] = ()  # keyword options its write() takes from the command line
    in_all: bool = True           # written by --format all (the web page is an app, asked for by name)
    # parity a file must meet against the Keras model, per quantisation mode it supports
    thresholds: dict[str, tuple[float, float]] = field(default_factory=lambda: {"none": PARITY})


@dataclass(frozen=True)
class Reader(_Entry):
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelKind(_Entry):
    units: str  # what model.units means for this kind


def _table(*entries: _Entry) -> dict:
    return {e.name: e for e in entries}


EXPORT_FORMATS: dict[str, ExportFormat] = _table(
    ExportFormat("tflite", "signtrain.deploy.formats.tflite", ".tflite", baked=True, extra="tflite",
                 modules=("ai_edge_litert",), fixed_batch=True,
                 thresholds={"none": PARITY, "float16": (1e-2, 0.99), "dynamic": (5e-2, 0.95), "int8": (0.15, 0.90)}),
    ExportFormat("saved_model", "signtrain.deploy.formats.saved_model", ".saved_model", baked=True, folder=True,
                 marker="saved_model.pb"),
    ExportFormat("keras", "signtrain.deploy.formats.keras", ".keras", baked=False, reads=(".h5",)),
    ExportFormat("onnx", "signtrain.deploy.formats.onnx", ".onnx", baked=True, extra="onnx",
                 modules=("tf2onnx", "onnxruntime")),
    ExportFormat("web", "signtrain.deploy.formats.web", ".web", baked=True, extra="onnx",
                 modules=("tf2onnx", "onnxruntime"), folder=True, marker="index.html",
                 options=("web_assets", "model_asset", "on_download"), in_all=False),
)

READERS: dict[str, Reader] = _table(
    Reader("npz", "signtrain.data.npzfile", "one .npz array file (signtrain convert)"),
    Reader("islr_parquet", "signtrain.data.parquet", "Kaggle ISLR: train.csv and one parquet file per recording"),
    Reader("csv", "signtrain.data.csvfiles", "ROOT/<sign>/<recording>.csv, one frame per row"),
    Reader("mp_data", "signtrain.data.mpdata", "ROOT/<sign>/<recording>/<frame>.npy or ROOT/<sign>/<id>.npy",
           aliases=("npy",)),
)

MODEL_KINDS: dict[str, ModelKind] = _table(
    ModelKind("lstm", "signtrain.models.recurrent", "units of each recurrent layer"),
    ModelKind("gru", "signtrain.models.recurrent", "units of each recurrent layer"),
    ModelKind("bilstm", "signtrain.models.recurrent", "units of each recurrent layer (each direction)"),
    ModelKind("transformer", "signtrain.models.transformer", "width of each transformer block"),
)


def export_format_names() -> tuple[str, ...]:
    return tuple(EXPORT_FORMATS)


def all_export_format_names() -> tuple[str, ...]:
    """What --format all writes."""
    return tuple(name for name, f in EXPORT_FORMATS.items() if f.in_all)


def quantize_modes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(mode for f in EXPORT_FORMATS.values() for mode in f.thresholds))


def data_format_choices() -> tuple[str, ...]:
    return ("auto", *READERS, *(alias for r in READERS.values() for alias in r.aliases))


def reader_named(name: str) -> Reader:
    """A data.format value (or alias) -> its reader."""
    for reader in READERS.values():
        if name == reader.name or name in reader.aliases:
            return reader
    raise KeyError(name)


def model_kind_names() -> tuple[str, ...]:
    return tuple(MODEL_KINDS)


def export_only_suffixes() -> tuple[str, ...]:
    """Suffixes only an export writes (a trained model is .h5 or .keras): such a file has its own sidecar."""
    trained = {".h5", ".keras"}
    return tuple(f.suffix for f in EXPORT_FORMATS.values() if f.suffix not in trained)


def model_suffixes() -> tuple[str, ...]:
    """Every suffix a model file of signtrain's can have, longest first (so .weights.h5 wins over .h5)."""
    suffixes = {".weights.h5", ".h5", ".keras", *(f.suffix for f in EXPORT_FORMATS.values())}
    return tuple(sorted(suffixes, key=len, reverse=True))
