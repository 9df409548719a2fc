"""evaluate(model path, data) -> EvalReport: every figure a user needs to trust a model, per sign.

With no data given, the held-out split recorded at training time is rebuilt
exactly, so the accuracy equals the one `train` printed.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from signtrain import artifacts
from signtrain.config import build_config, replace
from signtrain.data import SequenceDataset, fingerprint, load_dataset
from signtrain.errors import ConfigError, DataError
from signtrain.layouts import describe
from signtrain.predictor import Predictor, load_predictor

SPLITS = ("test", "val", "train", "all")
WEAKEST = 3          # signs highlighted as the weakest
CONFUSED_PAIRS = 5   # most confused (true, predicted) pairs listed


@dataclass
class EvalReport:
    model: str
    data: str
    split: str
    labels: list[str]
    sequences: int
    accuracy: float
    balanced_accuracy: float
    top_k: dict[str, float]
    macro: dict[str, float]
    weighted: dict[str, float]
    per_sign: list[dict[str, Any]]
    confusion_matrix: list[list[int]]
    per_class_2x2: list[dict[str, Any]]
    confused_pairs: list[dict[str, Any]]
    sequences_per_second: float
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def normalized_confusion(self) -> list[list[float]]:
        cm = np.asarray(self.confusion_matrix, dtype=float)
        rows = cm.sum(axis=1, keepdims=True)
        return np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0).round(4).tolist()


def compute_metrics(y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """All report figures from true labels and predicted probabilities."""
    from sklearn.metrics import (accuracy_score, confusion_matrix,
                                 multilabel_confusion_matrix, precision_recall_fscore_support)

    n = len(labels)
    index = list(range(n))
    y_pred = np.argmax(probs, axis=1)
    present = np.unique(y_true)
    prf = precision_recall_fscore_support(y_true, y_pred, labels=index, zero_division=0)
    per_sign = [{"name": labels[i], "precision": float(prf[0][i]), "recall": float(prf[1][i]),
                 "f1": float(prf[2][i]), "support": int(prf[3][i])} for i in index]
    scored = sorted((row for row in per_sign if row["support"]), key=lambda r: (r["f1"], r["name"]))
    weakest = {row["name"] for row in scored[:WEAKEST]} if len(scored) > WEAKEST else set()
    for row in per_sign:
        row["weakest"] = row["name"] in weakest

    def averaged(kind: str) -> dict[str, float]:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=present, average=kind, zero_division=0)
        return {"precision": float(p), "recall": float(r), "f1": float(f)}

    ranks = np.argsort(-probs, axis=1)
    top_k = {f"top_{k}": float(np.mean([y in row[:k] for y, row in zip(y_true, ranks)]))
             for k in (3, 5) if n > k}
    cm = confusion_matrix(y_true, y_pred, labels=index)
    pairs = [(int(cm[i, j]), i, j) for i in index for j in index if i != j and cm[i, j]]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    mcm = multilabel_confusion_matrix(y_true, y_pred, labels=index)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": _balanced(y_true, y_pred),
        "top_k": top_k,
        "macro": averaged("macro"),
        "weighted": averaged("weighted"),
        "per_sign": per_sign,
        "confusion_matrix": cm.tolist(),
        "per_class_2x2": [{"name": labels[i], "matrix": mcm[i].tolist()} for i in index],
        "confused_pairs": [{"true": labels[i], "predicted": labels[j], "count": c}
                           for c, i, j in pairs[:CONFUSED_PAIRS]],
    }


def _balanced(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a data subset need not hold every sign: that is expected here
        return float(balanced_accuracy_score(y_true, y_pred))


def _training_split(predictor: Predictor, split: str, use_cache: bool = True) -> tuple[SequenceDataset, list[str]]:
    meta = predictor.metadata
    config = build_config(meta["config"])
    config = replace(config, data={"path": meta["data"]["path"], "cache": use_cache and config.data.cache})
    if not Path(meta["data"]["path"]).exists():
        raise DataError(f"the training data {meta['data']['path']} is gone; pass --data PATH to evaluate on a tree")
    ds = load_dataset(config.data)
    notes = []
    sources = ds.relative_sources()
    if fingerprint(ds, config.data) != meta["data"]["fingerprint"]:
        notes.append(f"{ds.root} changed since training: the recorded split is rebuilt from the sequences "
                     f"still there")
    if split == "all":
        return ds, notes
    where = {source: i for i, source in enumerate(sources)}
    recorded = meta["split"]
    if split == "train":
        held = set(recorded["test_sources"]) | set(recorded["val_sources"])
        wanted = [s for s in sources if s not in held]
    else:
        wanted = recorded[f"{split}_sources"]
    missing = [s for s in wanted if s not in where]
    if missing:
        raise DataError(f"{len(missing)} of the {len(wanted)} {split} sequences recorded at training are no longer "
                        f"readable under {ds.root} (first: {missing[0]}); pass --data PATH to evaluate another tree")
    if not wanted:
        raise DataError(f"the model's {split} split is empty (split.{split}_fraction was 0); use --split all")
    return ds.subset(np.array([where[s] for s in wanted])), notes


def _other_tree(predictor: Predictor, path: str, use_cache: bool = True) -> tuple[SequenceDataset, list[str]]:
    """A tree given with --data: check it fits the model, then map its signs to the model's."""
    config = build_config(predictor.metadata["config"])
    config = replace(config, data={"path": path, "features_per_frame": None, "signs": None, "format": "auto",
                                   "cache": use_cache and config.data.cache})
    ds = load_dataset(config.data)
    if ds.feature_length != predictor.feature_length:
        raise DataError(f"{path}: frames hold {describe(ds.feature_length)} values, but the model was trained on "
                        f"{describe(predictor.feature_length)}; evaluate it on data of the same layout")
    unknown = [s for s in ds.labels if s not in predictor.labels]
    if unknown:
        raise DataError(f"{path}: sign(s) the model never learned: {', '.join(unknown[:5])}"
                        + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                        + f"; it knows {len(predictor.labels)} signs (see {artifacts.metadata_path(predictor.path)})")
    remap = np.array([predictor.labels.index(s) for s in ds.labels])
    ds.y = remap[ds.y].astype(np.int32)
    ds.labels = predictor.labels
    notes = []
    padded, truncated = int(ds.defect("padded_frames").sum()), int(ds.defect("truncated_frames").sum())
    if padded or truncated:
        fitted = int(((ds.defect("padded_frames") > 0) | (ds.defect("truncated_frames") > 0)).sum())
        notes.append(f"{fitted} of {len(ds)} sequences did not have the model's {predictor.sequence_length} frames: "
                     f"{padded} frames padded, {truncated} truncated")
    return ds, notes


def held_out(predictor: Predictor, data: Optional[str], limit: int,
             prefer: str = "test") -> tuple[SequenceDataset, str]:
    """Up to `limit` real sequences the model did not train on (or, prefer='train', did), spread evenly."""
    if data is not None:
        ds, split = _other_tree(predictor, data)[0], "all"
    else:
        split = prefer
        if prefer == "test" and not predictor.metadata["split"]["test_sources"]:
            split = "val" if predictor.metadata["split"]["val_sources"] else "all"
        ds = _training_split(predictor, split)[0]
    if len(ds) > limit:
        ds = ds.subset(np.linspace(0, len(ds) - 1, limit).round().astype(int))
    return ds, split


def evaluate(model_path: Path, data: Optional[str] = None, split: Optional[str] = None,
             use_cache: bool = True) -> EvalReport:
    if split is not None and split not in SPLITS:
        raise ConfigError(f"--split {split}: choose one of {', '.join(SPLITS)}")
    predictor = load_predictor(model_path)
    if data is None:
        split = split or "test"
        ds, notes = _training_split(predictor, split, use_cache)
    else:
        if split not in (None, "all"):
            raise ConfigError(f"--split {split} applies to the training data; with --data the whole tree is evaluated")
        split = "all"
        ds, notes = _other_tree(predictor, data, use_cache)
    for n in (1, 2):  # warm-up: two shapes make the traced function batch-size generic
        predictor.predict_proba(ds.X[:n])
    start = time.perf_counter()
    probs = predictor.predict_proba(ds.X)
    seconds = time.perf_counter() - start
    metrics = compute_metrics(ds.y, probs, predictor.labels)
    return EvalReport(model=str(model_path), data=ds.root, split=split, labels=predictor.labels,
                      sequences=len(ds), sequences_per_second=len(ds) / max(seconds, 1e-9), notes=notes, **metrics)


def write_report(report: EvalReport, out: Path) -> dict[str, str]:
    """report.json, per_sign.csv and confusion_matrix.png (when matplotlib is installed)."""
    files = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sign", "precision", "recall", "f1", "support"])
    for row in report.per_sign:
        writer.writerow([row["name"], f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
                         row["support"]])
    artifacts.write_with(out / "per_sign.csv", lambda tmp: tmp.write_text(buffer.getvalue(), encoding="utf-8"))
    files["per_sign"] = str(out / "per_sign.csv")
    image = out / "confusion_matrix.png"
    try:
        artifacts.write_with(image, lambda tmp: _plot_confusion(report, tmp))
        files["confusion_matrix_png"] = str(image)
    except ImportError:
        report.notes.append("confusion_matrix.png skipped: matplotlib is not installed "
                            "(pip install 'signtrain[plots]')")
    files["report"] = str(out / "report.json")
    report.files = files
    artifacts.write_json(out / "report.json", report.to_dict())
    return files


def _plot_confusion(report: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(report.normalized_confusion())
    n = len(report.labels)
    size = min(4 + 0.35 * n, 30)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), report.labels, rotation=90)
    ax.set_yticks(range(n), report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{Path(report.model).name} on {report.split}: accuracy {report.accuracy:.1%}")
    if n <= 30:
        counts = np.asarray(report.confusion_matrix)
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                            color="white" if cm[i, j] > 0.5 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true sign")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
