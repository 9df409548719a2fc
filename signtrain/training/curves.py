"""curves.png: the training curves of a run - loss, accuracy (training and validation) and the
learning rate per epoch, numbered from 1 as on screen, the best epoch of the monitored metric
marked.  Drawn from logs/history.csv with matplotlib (the 'plots' extra)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


def read_history(path: Path) -> list[dict]:
    """history.csv back as rows of numbers (for the curves and a resumed run)."""
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]


def plot_curves(rows: list[dict], best_epoch: int, monitor: str, path: Path, title: str) -> None:
    """rows: history.csv as numbers.  Raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (("loss", ("loss", "val_loss")), ("accuracy", ("accuracy", "val_accuracy")),
              ("learning rate", ("learning_rate",)))
    for ax, (name, keys) in zip(axes, panels):
        for key in keys:
            values = [r.get(key) for r in rows]
            if any(v is not None for v in values):
                ax.plot(epochs, [float("nan") if v is None else v for v in values],
                        label="validation" if key.startswith("val_") else ("training" if len(keys) > 1 else key))
        if best_epoch:
            ax.axvline(best_epoch, color="tab:green", linestyle="--", linewidth=1,
                       label=f"best {monitor} (epoch {best_epoch})")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if name == "learning rate" and all(r.get("learning_rate", 0) > 0 for r in rows):
            ax.set_yscale("log")  # a cosine schedule ends at 0, which a log scale cannot show
        if name == "accuracy":
            ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)


def write_curves(history: Path, state: Any, path: Path, title: str) -> bool:
    """curves.png beside the run's other files; False when matplotlib is missing or nothing to draw."""
    from signtrain import store

    rows = read_history(history)
    if not rows:
        return False
    try:
        store.write_with(path, lambda tmp: plot_curves(rows, state.best_epoch, state.monitor, tmp, title))
        return True
    except ImportError:
        return False
