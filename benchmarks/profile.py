"""Where a default-recipe training step goes: the input pipeline alone, the model alone, the two
together, and a whole `signtrain train` run per step (callbacks, checkpoints and compilation in),
for today's default recipe and for the recipe before the precomputed features and strided
convolution (the same batch size and data), in one run.

    python benchmarks/profile.py [--dataset traduttore_6x30] [--steps 60]

The pipeline alone is timed by drawing batches with nothing training; the model alone on the same
batches cached in memory; "together" is model.fit on the live pipeline (what training does).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from signtrain.runtime import import_tensorflow  # noqa: E402

import_tensorflow()

from benchmarks.accuracy import DATASETS, SHARED, data_path  # noqa: E402
from benchmarks.train import BEFORE  # noqa: E402  (the default recipe before issue 24)
from signtrain.config import load_config, replace  # noqa: E402
from signtrain.models import build_model  # noqa: E402
from signtrain.training import fit  # noqa: E402
from signtrain.training.pipeline import training_data  # noqa: E402
from signtrain.training.prepare import prepare  # noqa: E402
from signtrain.training.run import TrainRequest, train  # noqa: E402


def per_step(run, steps: int) -> float:
    run(3)  # traced and warm
    start = time.perf_counter()
    run(steps)
    return (time.perf_counter() - start) / steps * 1000


def profile(path: Path, overrides: list, steps: int) -> dict:
    config = load_config(None, ["data.cache=false", "train.tensorboard=false", *overrides], data=str(path))
    prepared = prepare(config)
    fit.seed_everything(config.train.seed)
    data, _ = training_data(prepared, config)
    data = data.repeat()
    batches = iter(data)
    pipeline = per_step(lambda n: [next(batches) for _ in range(n)], steps)
    ds = prepared.dataset
    model = build_model(config.model, ds.sequence_length, prepared.spec.output_length, len(ds.labels), unroll=True)
    fit.compile_model(model, config, steps=10 * steps)
    cached = data.take(8).cache().repeat()
    alone = per_step(lambda n: model.fit(cached.take(n), verbose=0), steps)
    together = per_step(lambda n: model.fit(data.take(n), verbose=0), steps)
    with tempfile.TemporaryDirectory() as out:
        config = replace(config, output={"dir": out}, train={"steps": 4 * steps})
        result = train(TrainRequest(config))
    run = result.train_seconds / result.metrics["budget"]["steps"] * 1000
    return {"pipeline": pipeline, "model": alone, "together": together, "run": run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="traduttore_6x30", choices=DATASETS)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    if not (SHARED / ("traduttore_258" if args.dataset.startswith("traduttore") else args.dataset)).is_dir():
        sys.exit(f"{args.dataset}: the shared data is absent")
    with tempfile.TemporaryDirectory() as scratch:
        path = data_path(args.dataset, Path(scratch))
        before, now = profile(path, BEFORE, args.steps), profile(path, [], args.steps)
    print(f"{args.dataset}, default recipe (batch 64), {os.cpu_count()} cores: milliseconds per training step\n")
    print("| | input pipeline alone | model alone | together (model.fit) | whole `signtrain train` run |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in (("before (landmarks augmented per batch, GRU over 48 frames)", before),
                    ("now (precomputed features, GRU over 24 frames)", now)):
        print(f"| {name} | {r['pipeline']:.1f} | {r['model']:.1f} | {r['together']:.1f} | {r['run']:.1f} |")
    print(f"| now / before | {now['pipeline'] / before['pipeline']:.2f}x | {now['model'] / before['model']:.2f}x | "
          f"{now['together'] / before['together']:.2f}x | {now['run'] / before['run']:.2f}x |")


if __name__ == "__main__":
    main()
