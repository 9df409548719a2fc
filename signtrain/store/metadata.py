"""The metadata that travels with a model: read once, checked, typed.

`lstm_model.meta.json` (and `<file>.meta.json` beside each exported file) names the run, the
labels, the layout, the normalisation, the resolved config and where the data was; it also
records the checksum of the model file (and of preprocess_params.npz) it belongs with, and a
checksum of its own content.  Every command that opens a model goes through `load`, which
refuses a set whose pieces do not belong together, naming the files.  Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from signtrain import paths, store
from signtrain.config import Config, build_config
from signtrain.errors import ConfigError, ModelError
from signtrain.registry import export_only_suffixes
from signtrain.store import publish, runs
from signtrain.transforms.normalize import Normalizer

FORMAT_VERSION = 2
SUFFIX = ".meta.json"


def export_sidecar(path: Path) -> Path:
    """An exported file's own sidecar: <its name>.meta.json."""
    return path.parent / (path.name + SUFFIX)


def sidecar_path(model_path: Path) -> Path:
    """An exported file -> its own <name>.meta.json; a run's model (lstm_model.h5) -> lstm_model.meta.json."""
    model_path = Path(model_path)
    own = export_sidecar(model_path)
    if own.is_file() or model_path.suffix in export_only_suffixes():
        return own
    return model_path.parent / (store.model_stem(model_path) + SUFFIX)


def content_digest(payload: dict) -> str:
    """The checksum a metadata file carries of itself (every key but 'digest')."""
    import hashlib

    body = {k: v for k, v in payload.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def write(path: Path, payload: dict) -> None:
    payload = {**payload, "format_version": FORMAT_VERSION}
    payload["digest"] = content_digest(payload)
    store.write_json(path, payload)


@dataclass(frozen=True)
class ExportInfo:
    format: str
    quantize: str
    normalization_in_graph: bool


@dataclass(frozen=True)
class RunMetadata:
    path: Path                      # the .meta.json read
    model_path: Path                # the model file it describes (resolved into its run)
    run_id: Optional[str]
    labels: tuple[str, ...]
    feature_length: int
    layout: Optional[str]
    sequence_length: int
    normalizer: Normalizer
    config: Config
    saved_as: str
    data_path: str
    data_format: str
    fingerprint: str
    test_sources: tuple[str, ...]
    val_sources: tuple[str, ...]
    export: Optional[ExportInfo]
    extraction: Optional[dict] = None  # how signtrain extract made the training data (layout, frames)
    versions: dict = field(default_factory=dict)   # library versions it was trained with
    files: dict = field(default_factory=dict)      # name -> sha256 of the files it belongs with
    normalization_file: str = ""
    data_sequences: int = 0
    data_account: dict = field(default_factory=dict)
    split_seed: int = 0
    train_sequences: int = 0
    val_sequences: int = 0
    init: Optional[dict] = None                    # the model it was fine-tuned from
    live: Optional[dict] = None                    # what its recordings were like: deploy.live.calibrate
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def run_dir(self) -> Optional[Path]:
        return runs.run_dir_of(self.model_path)

    def to_dict(self) -> dict:
        """The run's metadata as written beside its model (load reads it back into this class)."""
        return {
            "run_id": self.run_id, "model_file": self.model_path.name, "saved_as": self.saved_as,
            "labels": list(self.labels), "feature_length": self.feature_length, "layout": self.layout,
            "sequence_length": self.sequence_length,
            "normalization": {**self.normalizer.to_dict(), "file": self.normalization_file},
            "config": self.config.to_dict(), "versions": self.versions,
            "data": {"path": self.data_path, "format": self.data_format, "fingerprint": self.fingerprint,
                     "sequences": self.data_sequences, "account": self.data_account},
            "split": {"seed": self.split_seed, "train": self.train_sequences, "val": self.val_sequences,
                      "test_sources": list(self.test_sources), "val_sources": list(self.val_sources)},
            "files": self.files,
            **({"init": self.init} if self.init is not None else {}),
            **({"extraction": self.extraction} if self.extraction else {}),
            **({"live": self.live} if self.live else {}),
        }


def _damaged(path: Path, what: str) -> ModelError:
    return ModelError(f"{path}: {what}; the metadata is damaged: copy it again from the run folder "
                      f"(signtrain runs lists them) or retrain")


def _field(raw: dict, key: str, kind: type, path: Path) -> Any:
    if key not in raw:
        raise _damaged(path, f"'{key}' is missing")
    value = raw[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise _damaged(path, f"'{key}' = {value!r} is not a positive whole number")
    if kind is not int and not isinstance(value, kind):
        raise _damaged(path, f"'{key}' = {str(value)[:60]!r} is not a {kind.__name__}")
    return value


def load(model_path: Path) -> RunMetadata:
    """The metadata of a model file (given as the user wrote it), checked against the file."""
    given = Path(model_path)
    publish.settle(Path(os.path.realpath(given)).parent)  # an export cut short is finished before reading
    if not given.exists() and not given.is_symlink():
        raise ModelError(f"model not found: {given} (train one with signtrain train, or give the path of one)")
    if given.exists():
        paths.readable(given, "MODEL", ModelError, "give a model file (.h5, .keras, .tflite, .onnx) or a SavedModel "
                                                   "folder")
    real = runs.resolve(given)
    if not real.exists():
        raise ModelError(f"{given} points to {real}, which is gone; the run was removed or moved "
                         f"(signtrain runs lists what is there)")
    path = sidecar_path(real)
    if not path.is_file():
        raise ModelError(f"{path.name} not found beside {given}: the metadata that travels with {given.name} "
                         f"(labels, layout, normalisation) is missing; copy it from the training output or retrain")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(path, f"not readable JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise _damaged(path, "not a JSON object")
    version = raw.get("format_version", 1)
    if version >= 2:
        if raw.get("digest") != content_digest(raw):
            raise ModelError(f"{path}: edited after training (its content no longer matches the checksum it "
                             f"carries); restore it from the run folder or retrain")
        _check_files(raw, real, path, given)
    labels = _field(raw, "labels", list, path)
    if not labels or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
        raise _damaged(path, "'labels' must be a list of distinct sign names")
    try:
        config = build_config(_field(raw, "config", dict, path), str(path))
        normalizer = Normalizer.from_dict(_field(raw, "normalization", dict, path))
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, f"its config or normalisation is unusable ({exc})") from None
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    split = raw.get("split") if isinstance(raw.get("split"), dict) else {}
    export = raw.get("export")
    export_info = None
    if isinstance(export, dict):
        export_info = ExportInfo(str(export.get("format")), str(export.get("quantize", "none")),
                                 bool(export.get("normalization_in_graph")))
    return RunMetadata(
        path=path, model_path=real, run_id=raw.get("run_id"), labels=tuple(labels),
        feature_length=_field(raw, "feature_length", int, path), layout=raw.get("layout"),
        sequence_length=_field(raw, "sequence_length", int, path), normalizer=normalizer, config=config,
        saved_as=str(raw.get("saved_as", "full")), data_path=str(data.get("path", "")),
        data_format=str(data.get("format", "")), fingerprint=str(data.get("fingerprint", "")),
        test_sources=tuple(split.get("test_sources", ())), val_sources=tuple(split.get("val_sources", ())),
        export=export_info, extraction=raw.get("extraction") if isinstance(raw.get("extraction"), dict) else None,
        versions=_mapping(raw, "versions"), files=_mapping(raw, "files"),
        normalization_file=str(_mapping(raw, "normalization").get("file", "")),
        data_sequences=_whole(data.get("sequences")), data_account=_mapping(data, "account"),
        split_seed=_whole(split.get("seed")), train_sequences=_whole(split.get("train")),
        val_sequences=_whole(split.get("val")), init=raw.get("init") if isinstance(raw.get("init"), dict) else None,
        live=raw.get("live") if isinstance(raw.get("live"), dict) else None, raw=raw)


def _mapping(raw: dict, key: str) -> dict:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _check_files(raw: dict, real: Path, path: Path, given: Path) -> None:
    """The model file (and the normalisation file) must be the very ones the metadata was written with."""
    files = raw.get("files")
    if not isinstance(files, dict) or not files:
        raise _damaged(path, "'files' (the checksums of the files it belongs with) is missing")
    expected = files.get(real.name)
    if expected is None:
        raise ModelError(f"{given} is not the model {path.name} describes (it names {', '.join(files)}); use the "
                         f"files of one run together")
    if store.file_digest(real) != expected:
        raise ModelError(f"{given} and {path.name} come from different runs (the model file's checksum is not the "
                         f"one its metadata records); use the files of one run together (signtrain runs lists "
                         f"them) or retrain")
    for name, digest in files.items():
        other = real.parent / name
        if name != real.name and other.is_file() and store.file_digest(other) != digest:
            raise ModelError(f"{other} does not belong with {given} (its checksum is not the one {path.name} "
                             f"records); copy the run's files together (signtrain runs lists them) or retrain")
