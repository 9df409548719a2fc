"""Training time, in one run on the same data and split:

1. the original recipe (seed document 000, as written) vs `signtrain train` with configs/base.yaml:
   the same architecture for the same number of epochs (the original's 500 with patience 50 would
   take hours on 2 cores; --epochs caps both).  Printed: sequences/second per epoch, final test
   accuracy of each, wall time for signtrain to reach the original's final test accuracy, the
   ratios, and the share of epoch time spent in signtrain's rich renderer.

       python benchmarks/train.py [--epochs 30] [--signs 50 --sequences 40] [--skip-generated]

2. --recipes: on the shared real sets, the whole training of the original recipe (configs/base.yaml,
   its early stopping deciding, --original-epochs at most), of the default recipe as it was before
   issue 24 (landmarks augmented per batch, a GRU over all 48 frames, up to 200 passes; the original
   and this one with Keras' own recurrent layers, as they were) and of the default recipe now:
   wall time (data read, compile and callbacks in), steps, milliseconds per step and test accuracy,
   with the ratios to the original.

       python benchmarks/train.py --recipes [--datasets dgs_mpdata traduttore_6x30 dgs30_csv traduttore_258]
                                  [--original-epochs 500] [--no-before]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from signtrain.runtime import import_tensorflow  # noqa: E402

import_tensorflow()

import keras  # noqa: E402
from keras.callbacks import EarlyStopping, ReduceLROnPlateau  # noqa: E402
from keras.layers import LSTM, BatchNormalization, Dense, Dropout  # noqa: E402
from keras.models import Sequential  # noqa: E402
from keras.optimizers import Adam  # noqa: E402
from keras.regularizers import l2  # noqa: E402
from keras.utils import to_categorical  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from benchmarks.ingest import original_load_data  # noqa: E402
from signtrain.config import load_config, replace  # noqa: E402
from signtrain.training.run import TrainRequest, prepare  # noqa: E402
from signtrain.training.run import train as signtrain_train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def original_create_model(input_shape, num_classes):
    model = Sequential([
        LSTM(128, return_sequences=True, input_shape=input_shape, kernel_regularizer=l2(0.01)),
        BatchNormalization(),
        Dropout(0.3),
        LSTM(64, return_sequences=True, kernel_regularizer=l2(0.01)),
        Dropout(0.3),
        LSTM(32),
        Dense(64, activation='relu'),
        Dense(num_classes, activation='softmax'),
    ])
    model.compile(optimizer=Adam(learning_rate=0.001), loss='categorical_crossentropy', metrics=['accuracy'])
    return model


class EpochClock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.start, self.times, self.val = time.perf_counter(), [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t0)


def run_original(root: Path, actions, per_sign, frames, features, epochs, seed):
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    X, labels = original_load_data(str(root), actions, per_sign, frames, features)
    y = to_categorical(labels).astype(int)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.15, random_state=seed)
    mean, std = np.mean(X_train), np.std(X_train)
    X_train = (X_train - mean) / (std + 1e-8)
    X_test = (X_test - mean) / (std + 1e-8)
    model = original_create_model((frames, features), len(actions))
    clock = EpochClock()
    callbacks = [EarlyStopping(patience=50, restore_best_weights=True),
                 ReduceLROnPlateau(factor=0.1, patience=20, verbose=0), clock]
    model.fit(X_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1, callbacks=callbacks, verbose=0)
    y_pred = np.argmax(model.predict(X_test, verbose=0), axis=1)
    accuracy = float(np.mean(y_pred == np.argmax(y_test, axis=1)))
    n_train = int(len(X_train) * 0.9)
    return {"wall": time.perf_counter() - start, "epoch_times": clock.times, "accuracy": accuracy,
            "seq_per_s": n_train / np.median(clock.times[1:] or clock.times)}


class TimedDisplay:
    """The real rich renderer (live mode, into a buffer), timing every call it receives."""

    def __init__(self):
        from rich.console import Console

        from signtrain.ui import TrainingDisplay

        self.inner = TrainingDisplay(Console(file=io.StringIO(), width=120, force_terminal=True), live=True)
        self.ui_seconds = 0.0
        self.epoch_times, self.val_acc = [], []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.ui_seconds += time.perf_counter() - t0
        return timed

    def on_epoch_begin(self, epoch):
        self.t0 = time.perf_counter()
        self.__getattr__("on_epoch_begin")(epoch)

    def on_epoch_end(self, epoch, logs, state=None):
        self.epoch_times.append(time.perf_counter() - self.t0)
        self.__getattr__("on_epoch_end")(epoch, logs, state)


class TestClock(keras.callbacks.Callback):
    """Test accuracy after every epoch, on the run's own held-out split; its own cost is not counted."""

    def __init__(self, X, y, start):
        super().__init__()
        self.X, self.y, self.start, self.spent, self.curve = X, y, start, 0.0, []

    def on_epoch_end(self, epoch, logs=None):
        t0 = time.perf_counter()
        accuracy = float(np.mean(np.argmax(self.model.predict(self.X, verbose=0), axis=1) == self.y))
        self.spent += time.perf_counter() - t0
        self.curve.append((time.perf_counter() - self.start - self.spent, accuracy))


def run_signtrain(root: Path, frames, features, epochs, seed, out: Path, extra=()):
    config = load_config(ROOT / "configs" / "base.yaml",
                         [f"train.epochs={epochs}", f"data.features_per_frame={features}",
                          f"data.sequence_length={frames}", f"train.seed={seed}", "data.cache=false", *extra],
                         data=str(root), output=str(out))
    prepared = prepare(config)  # the same split and normalisation train() will use
    display = TimedDisplay()
    start = time.perf_counter()
    clock = TestClock(prepared.normalised(prepared.split.test), prepared.dataset.y[prepared.split.test], start)
    result = signtrain_train(TrainRequest(config, callbacks=(clock,)), display)
    wall = time.perf_counter() - start - clock.spent
    # The Live renderer also draws from its own thread; its cost shows up in the epoch times.
    return {"wall": wall, "epoch_times": display.epoch_times, "accuracy": result.test_accuracy,
            "seq_per_s": result.metrics["train_sequences"] / np.median(display.epoch_times[1:] or display.epoch_times),
            "ui_share": display.ui_seconds / sum(display.epoch_times), "curve": clock.curve}


def compare(name, root, frames, features, epochs, seed):
    actions = sorted(p.name for p in root.iterdir() if p.is_dir())
    per_sign = min(sum(1 for p in (root / a).iterdir() if p.is_dir()) for a in actions)
    print(f"\n{name}: {len(actions)} signs x {per_sign} sequences, {frames} frames x {features}, {epochs} epochs")
    original = run_original(root, actions, per_sign, frames, features, epochs, seed)
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_signtrain(root, frames, features, epochs, seed, Path(tmp) / "models")
    for label, r in (("original", original), ("signtrain", ours)):
        print(f"  {label:10s}: {r['seq_per_s']:7.1f} sequences/s per epoch, median epoch "
              f"{np.median(r['epoch_times']):.2f} s, wall {r['wall']:6.1f} s, test accuracy {r['accuracy']:.3f}")
    print(f"  ratio (sequences/s): {ours['seq_per_s'] / original['seq_per_s']:.2f}x;  "
          f"wall ratio original/signtrain: {original['wall'] / ours['wall']:.2f}x")
    reached = next((t for t, acc in ours["curve"] if acc >= original["accuracy"]), None)
    if reached is None:
        print(f"  signtrain did not reach the original's final test accuracy {original['accuracy']:.3f} "
              f"within {epochs} epochs")
    else:
        print(f"  wall time to the original's final test accuracy ({original['accuracy']:.3f}): signtrain "
              f"{reached:.1f} s vs original {original['wall']:.1f} s = {original['wall'] / reached:.2f}x")
    print(f"  rich renderer: {ours['ui_share'] * 100:.2f}% of epoch time (goal < 3%)")
    return original, ours


BEFORE = ["augment.precomputed=false", "model.conv_stride=1"]  # the default recipe before issue 24


@contextlib.contextmanager
def as_before_issue_24():
    """Models built inside have Keras' own GRU/LSTM and Masking layers and landmarks get Gaussian noise,
    as every recipe had before issue 24 (the unrolled layers of signtrain.models.unrolled are the same
    maths, faster; so is the padding mask without a copy of the input; uniform noise of the same spread
    is cheaper to draw): the original recipe and the default recipe before are timed as they were."""
    import functools

    import tensorflow as tf

    import signtrain.models as models
    from signtrain.models import recurrent
    from signtrain.transforms import augment

    own_layer, own_mask, own_noise = recurrent.unrolled_layer, models.frame_mask_layer, augment.noise
    recurrent.unrolled_layer = lambda kind: {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[kind]
    models.frame_mask_layer = lambda: functools.partial(keras.layers.Masking, 0.0)
    augment.noise = lambda shape, std, seed=None: tf.random.normal(shape) * std
    try:
        yield
    finally:
        recurrent.unrolled_layer, models.frame_mask_layer, augment.noise = own_layer, own_mask, own_noise


def before_steps(n_train: int, batch: int) -> int:
    """The step budget the default recipe had before issue 24: 150 * sqrt(1250 / n) passes in [60, 200]."""
    passes = min(max(150 * math.sqrt(1250 / max(n_train, 1)), 60), 200)
    return math.ceil(passes * math.ceil(n_train / batch))


def timed_recipe(config, as_before: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as out, (as_before_issue_24() if as_before else contextlib.nullcontext()):
        start = time.perf_counter()
        result = signtrain_train(TrainRequest(replace(config, output={"dir": out})))
        wall = time.perf_counter() - start
    steps = result.metrics.get("budget", {}).get("steps") or result.epochs_run * math.ceil(
        result.metrics["train_sequences"] / config.train.batch_size)
    return {"wall": wall, "steps": steps, "accuracy": result.test_accuracy,
            "step_ms": result.train_seconds / max(steps, 1) * 1000}


def compare_recipes(name: str, path: Path, seed: int, original_epochs: int, with_before: bool = True) -> None:
    from benchmarks.accuracy import HANDS_ONLY

    common = [f"train.seed={seed}", "data.cache=false", "train.tensorboard=false"]
    now = load_config(None, common, data=str(path))
    split = prepare(now).split  # the same seed draws the same test part in every recipe (test is drawn first)
    original = load_config("base", [*HANDS_ONLY.get(name, []), *common, f"train.epochs={original_epochs}"],
                           data=str(path))
    before = load_config(None, [*common, *BEFORE, f"train.steps={before_steps(len(split.train), 64)}"],
                         data=str(path))
    recipes = [("original (configs/base.yaml)", original, True), ("default before", before, True),
               ("default now", now, False)]
    runs = {label: timed_recipe(config, as_before) for label, config, as_before in recipes
            if with_before or label != "default before"}
    first = runs["original (configs/base.yaml)"]
    print(f"\n{name}: {len(split.train)} training, {len(split.test)} test recordings")
    print("| recipe | wall s | steps | ms/step | test accuracy | time vs original |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, r in runs.items():
        print(f"| {label} | {r['wall']:.0f} | {r['steps']} | {r['step_ms']:.0f} | {r['accuracy'] * 100:.1f} % | "
              f"{r['wall'] / first['wall']:.2f}x |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", action="store_true", help="section 2: whole trainings of the recipes")
    parser.add_argument("--datasets", nargs="+", default=["dgs_mpdata", "traduttore_6x30"])
    parser.add_argument("--original-epochs", type=int, default=500)
    parser.add_argument("--no-before", action="store_true", help="--recipes without the default recipe as it was")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--signs", type=int, default=50)
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, tensorflow {__import__('tensorflow').__version__}, keras {keras.__version__}")
    if args.recipes:
        from benchmarks.accuracy import data_path

        with tempfile.TemporaryDirectory() as scratch:
            for name in args.datasets:
                compare_recipes(name, data_path(name, Path(scratch)), args.seed, args.original_epochs,
                                not args.no_before)
        return
    if not args.skip_generated:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "MP_Data"
            from signtrain.data.example import write_example

            write_example(root, signs=args.signs, sequences=args.sequences, frames=30, features=225, seed=args.seed)
            compare("generated (signtrain example-data)", root, 30, 225, args.epochs, args.seed)
    if (SHARED / "dgs_mpdata").is_dir():
        compare("dgs_mpdata (real)", SHARED / "dgs_mpdata", 30, 126, args.epochs, args.seed)


if __name__ == "__main__":
    main()
