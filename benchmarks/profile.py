"""Where a default-recipe training step goes: the input pipeline alone, the model alone, the two
together, and a whole `signtrain train` run per step (callbacks, checkpoints and compilation in),
for today's default recipe and for the recipe before issue 24 (landmarks augmented per batch, a
GRU over all 48 frames, Keras' own GRU layer, Gaussian noise), the same batch size and data, in one run: medians of
--rounds rounds, each part timed for the two recipes one right after the other.

    python benchmarks/profile.py [--dataset traduttore_6x30] [--steps 60] [--rounds 3]

The pipeline alone is timed by drawing batches with nothing training; the model alone on eight of
its batches held in memory; "together" is model.fit on the live pipeline (what training does), one
iterator, as in training, with its first steps left out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from signtrain.runtime import import_tensorflow  # noqa: E402

import_tensorflow()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.accuracy import DATASETS, SHARED, data_path  # noqa: E402
from benchmarks.train import BEFORE, as_before_issue_24  # noqa: E402  (the default recipe before issue 24)
from signtrain.config import load_config, replace  # noqa: E402
from signtrain.models import build_model  # noqa: E402
from signtrain.training import fit  # noqa: E402
from signtrain.training.pipeline import training_data  # noqa: E402
from signtrain.training.prepare import prepare  # noqa: E402
from signtrain.training.run import TrainRequest, train  # noqa: E402


WARM = 5  # steps left out of every timing: the iterator starting, its buffers filling, the first trace


def fitted(model: Any, data: Any, steps: int) -> Callable[[], float]:
    """ms per step of model.fit on `data` with one iterator, as training runs, its first WARM steps
    left out (a fresh iterator re-instantiates the pipeline: a cost of the run, not of a step)."""
    def timed() -> float:
        marks: list = []
        clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: marks.append(time.perf_counter()))
        model.fit(data, steps_per_epoch=WARM + steps, epochs=1, verbose=0, callbacks=[clock])
        return (marks[-1] - marks[WARM - 1]) / steps * 1000
    return timed


def setup(path: Path, overrides: list, steps: int, as_before: bool) -> dict:
    """The four timers of one recipe: pipeline alone, model alone, together, a whole `train` run."""
    config = load_config(None, ["data.cache=false", "train.tensorboard=false", *overrides], data=str(path))
    prepared = prepare(config)
    fit.seed_everything(config.train.seed)
    ds = prepared.dataset
    with as_before_issue_24() if as_before else contextlib.nullcontext():  # its noise is traced into the pipeline
        data, _ = training_data(prepared, config)  # repeats without end
        model = build_model(config.model, ds.sequence_length, prepared.spec.output_length, len(ds.labels),
                            unroll=True)
    fit.compile_model(model, config, steps=100 * steps)
    # eight batches held in memory: nothing of the pipeline runs while the model alone is timed
    held = [batch for batch in data.take(16) if len(batch[0]) == config.train.batch_size][:8]
    cached = tf.data.Dataset.from_tensor_slices(tuple(tf.stack(parts) for parts in zip(*held))).repeat()

    def whole_run() -> float:
        with tempfile.TemporaryDirectory() as out, as_before_issue_24() if as_before else contextlib.nullcontext():
            result = train(TrainRequest(replace(config, output={"dir": out}, train={"steps": 4 * steps})))
        return result.train_seconds / result.metrics["budget"]["steps"] * 1000

    def pipeline() -> float:
        # an iterator of its own, warmed, and gone on return: a live one would go on filling its buffers
        # while the next part is timed
        batches = iter(data)
        for _ in range(WARM):
            next(batches)
        start = time.perf_counter()
        for _ in range(steps):
            next(batches)
        return (time.perf_counter() - start) / steps * 1000

    return {"pipeline": pipeline,
            "model": fitted(model, cached, steps),
            "together": fitted(model, data, steps),
            "run": whole_run}


PARTS = ("pipeline", "model", "together", "run")


def profile(path: Path, steps: int, rounds: int) -> tuple[dict, dict, dict]:
    """Medians over `rounds` of before, now and their ratio.  Each part is timed for the two recipes one
    right after the other, and the ratio taken within the round: the load of a shared machine drifts
    over minutes, and then slows both alike."""
    timers = {"before": setup(path, BEFORE, steps, True), "now": setup(path, [], steps, False)}
    times: dict = {key: {part: [] for part in PARTS} for key in ("before", "now", "ratio")}
    for _ in range(rounds):
        for part in PARTS:
            before, now = timers["before"][part](), timers["now"][part]()
            for key, value in (("before", before), ("now", now), ("ratio", now / before)):
                times[key][part].append(value)
    return tuple({part: statistics.median(ts) for part, ts in times[key].items()} for key in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="traduttore_6x30", choices=DATASETS)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (SHARED / ("traduttore_258" if args.dataset.startswith("traduttore") else args.dataset)).is_dir():
        sys.exit(f"{args.dataset}: the shared data is absent")
    with tempfile.TemporaryDirectory() as scratch:
        path = data_path(args.dataset, Path(scratch))
        before, now, ratio = profile(path, args.steps, args.rounds)
    print(f"{args.dataset}, default recipe (batch 64), {os.cpu_count()} cores: milliseconds per training step\n")
    print("| | input pipeline alone | model alone | together (model.fit) | whole `signtrain train` run |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in (("before (landmarks augmented per batch, GRU over 48 frames)", before),
                    ("now (precomputed features, unrolled GRU over 16 frames)", now)):
        print(f"| {name} | {r['pipeline']:.1f} | {r['model']:.1f} | {r['together']:.1f} | {r['run']:.1f} |")
    cells = " | ".join(f"{ratio[part]:.2f}x" for part in PARTS)
    print(f"| now / before (median of the rounds' ratios) | {cells} |")


if __name__ == "__main__":
    main()
