"""`signtrain info MODEL`: what a model is, from its files alone (no TensorFlow): its signs, layout,
sequence length, recipe, data, test figures, library versions and exported siblings, after the
same checks every reader makes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from signtrain.layouts import describe
from signtrain.store import metadata, runs


def _recipe(raw_config: dict) -> dict[str, Any]:
    model, pre, data, train = (raw_config.get(k, {}) for k in ("model", "preprocess", "data", "train"))
    features = [k for k in ("sort_hands", "hand_normalization", "body_normalization", "presence", "velocity")
                if pre.get(k)]
    return {
        "architecture": f"{model.get('kind')} {model.get('units')}" + (f", conv {model.get('conv_filters')}"
                                                              if model.get("conv_filters") else ""),
        "features": ", ".join(features) or "raw landmarks",
        "normalization": pre.get("normalization"),
        "frames": f"{data.get('sequence_length')} ({'resampled' if data.get('resample') else 'padded/cut'})",
        "training": f"{train.get('epochs')} epochs max, batch {train.get('batch_size')}, lr {train.get('learning_rate')}"
                    f", {train.get('lr_schedule')}",
    }


@dataclass(frozen=True)
class ModelInfo:
    """What `signtrain info` shows and prints as JSON."""

    model: str                 # as given
    file: str                  # the model file it resolves to
    kind: str                  # keras, or the export format
    run_id: Optional[str]
    run: Optional[str]         # the run folder
    signs: list
    layout: Optional[str]
    features: str
    sequence_length: int
    recipe: dict
    data: dict
    test: dict
    created: Optional[str]
    versions: dict
    init: Optional[dict]
    exported: list             # siblings in the run's export/ folder
    verified: bool             # its checksums were checked

    def to_dict(self) -> dict:
        return asdict(self)


def model_info(path: Path) -> ModelInfo:
    meta = metadata.load(Path(path))
    run_dir = meta.run_dir
    record = runs.read_json(run_dir / runs.RECORD) if run_dir else None
    metrics = runs.read_json(run_dir / "metrics.json") if run_dir else None
    siblings = []
    if run_dir and (run_dir / "export").is_dir():
        for sidecar in sorted((run_dir / "export").glob("*.meta.json")):
            raw = runs.read_json(sidecar) or {}
            export = raw.get("export") or {}
            target = sidecar.parent / export.get("file", "")
            size = sum(p.stat().st_size for p in target.rglob("*")) if target.is_dir() else (
                target.stat().st_size if target.is_file() else 0)
            siblings.append({"format": export.get("format"), "quantize": export.get("quantize"),
                             "path": str(target), "bytes": size})
    return ModelInfo(
        model=str(path), file=str(meta.model_path), kind=meta.export.format if meta.export else "keras",
        run_id=meta.run_id, run=str(run_dir) if run_dir else None, signs=list(meta.labels), layout=meta.layout,
        features=describe(meta.feature_length), sequence_length=meta.sequence_length,
        recipe=_recipe(meta.raw.get("config", {})),
        data={"path": meta.data_path, "format": meta.data_format, "fingerprint": meta.fingerprint,
              "sequences": meta.data_sequences or None, "account": meta.data_account},
        test={k: (metrics or {}).get(k) for k in ("test_accuracy", "test_sequences", "monitor", "best_epoch",
                                                  "weights", "epochs_run", "train_seconds")},
        created=(record or {}).get("created"), versions=meta.versions, init=meta.init, exported=siblings,
        verified=meta.raw.get("format_version", 1) >= 2)
