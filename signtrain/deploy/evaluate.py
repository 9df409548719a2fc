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

from signtrain import store
from signtrain.choices import SPLITS
from signtrain.deploy.heldout import other_tree, training_split
from signtrain.deploy.predictor import load_predictor
from signtrain.errors import ConfigError
from signtrain.progress import Listener

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
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        multilabel_confusion_matrix,
        precision_recall_fscore_support,
    )

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


def log_loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean cross-entropy of the true signs' probabilities (as Keras reports the loss, without smoothing)."""
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y_true)), y_true], 1e-12, 1.0))))


def _balanced(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a data subset need not hold every sign: that is expected here
        return float(balanced_accuracy_score(y_true, y_pred))


def evaluate(model_path: Path, data: Optional[str] = None, split: Optional[str] = None,
             use_cache: bool = True, listener: Optional[Listener] = None) -> EvalReport:
    """The listener hears each step (loading the model, reading the data, predicting) as it starts."""
    on_phase = (listener or Listener()).on_phase
    if split is not None and split not in SPLITS:
        raise ConfigError(f"--split {split}: choose one of {', '.join(SPLITS)}")
    if data is not None and split not in (None, "all"):
        raise ConfigError(f"--split {split} applies to the training data; with --data the whole tree is evaluated")
    on_phase("loading the model")
    predictor = load_predictor(model_path)
    on_phase("reading the data")
    if data is None:
        split = split or "test"
        ds, notes = training_split(predictor.meta, split, use_cache)
    else:
        split = "all"
        ds, notes = other_tree(predictor.meta, data, use_cache)
    on_phase(f"predicting {len(ds):,} sequences")
    for n in (1, 2):  # warm-up: two shapes make the traced function batch-size generic
        predictor.predict_proba(ds.X[:n])
    start = time.perf_counter()
    probs = predictor.predict_proba(ds.X)
    seconds = time.perf_counter() - start
    metrics = compute_metrics(ds.y, probs, predictor.labels)
    return EvalReport(model=str(model_path), data=ds.root, split=split, labels=predictor.labels,
                      sequences=len(ds), sequences_per_second=len(ds) / max(seconds, 1e-9), notes=notes, **metrics)


def default_output(model_path: Path) -> Path:
    """evaluation/ inside the model's own run folder (models/evaluation is its alias)."""
    from signtrain.store import runs

    return runs.resolve(model_path).parent / "evaluation"


def write_report(report: EvalReport, out: Path) -> dict[str, str]:
    """report.json, per_sign.csv and confusion_matrix.png (when matplotlib is installed)."""
    out = store.ensure_dir(out)
    files = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sign", "precision", "recall", "f1", "support"])
    for row in report.per_sign:
        writer.writerow([row["name"], f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
                         row["support"]])
    store.write_text(out / "per_sign.csv", buffer.getvalue())
    files["per_sign"] = str(out / "per_sign.csv")
    image = out / "confusion_matrix.png"
    try:
        store.write_with(image, lambda tmp: _plot_confusion(report, tmp))
        files["confusion_matrix_png"] = str(image)
    except ImportError:
        report.notes.append("confusion_matrix.png skipped: matplotlib is not installed "
                            "(pip install 'signtrain[plots]')")
    files["report"] = str(out / "report.json")
    report.files = files
    store.write_json(out / "report.json", report.to_dict())
    return files


def _plot_confusion(report: EvalReport, path: Path) -> None:
    import textwrap

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
    title = (f"{Path(report.model).name} on {Path(report.data).name or report.data} ({report.split} split, "
             f"{report.sequences} sequences): accuracy {report.accuracy:.1%}")
    # wrapped to the figure's width (about 11 characters an inch at the default size), so no edge cuts it
    ax.set_title(textwrap.fill(title, width=max(24, int(size * 11))))
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
