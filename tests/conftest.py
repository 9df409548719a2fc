"""Shared fixtures: a factory for small synthetic MP_Data trees, and the real data folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Dataset caches go to a fresh folder per test session, never to the user's ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="signtrain-test-cache-")

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_data(name: str) -> Path:
    path = REAL_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not present: {path}")
    return path


def write_tree(root: Path, signs=("a", "b", "c"), sequences: int = 6, frames: int = 10,
               features: int = 225, seed: int = 0) -> Path:
    """ROOT/<sign>/<seq>/<frame>.npy, each sign a distinct constant-plus-noise pattern."""
    rng = np.random.default_rng(seed)
    for k, sign in enumerate(signs):
        centre = rng.normal(0, 1, features)
        for s in range(sequences):
            folder = root / sign / str(s)
            folder.mkdir(parents=True)
            for t in range(frames):
                vector = centre + 0.1 * rng.normal(0, 1, features) + 0.05 * t * (k + 1)
                np.save(folder / f"{t}.npy", vector)
    return root


@pytest.fixture
def tree(tmp_path: Path):
    """Factory: tree(**kwargs) -> path of a fresh synthetic MP_Data tree."""
    counter = iter(range(1000))

    def make(**kwargs) -> Path:
        return write_tree(tmp_path / f"MP_Data_{next(counter)}", **kwargs)

    return make


TINY_MODEL = ["model.units=[8]", "model.return_sequences=[false]", "model.dropout=0.0", "model.l2=0.0", "model.unroll=false",
              "model.batch_norm=false", "model.dense_units=[8]", "train.batch_size=8", "train.tensorboard=false"]


def tiny_config(data, output, *overrides, epochs: int = 2, features: int = 63, frames: int = 10):
    """A config for a model of a few units trained for a couple of epochs."""
    from signtrain.config import load_config

    return load_config("base", TINY_MODEL + [f"train.epochs={epochs}", f"data.features_per_frame={features}",
                                           f"data.sequence_length={frames}", *overrides],
                       data=str(data), output=str(output))
