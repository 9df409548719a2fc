"""Training: the original recipe (seed document 000, as written) vs `signtrain train` with
configs/base.yaml, on the same data, in one run.

    python benchmarks/train.py [--epochs 30] [--signs 50 --sequences 40] [--skip-generated]

Both train the same architecture for the same number of epochs (the original's
500 with patience 50 would take hours on 2 cores; --epochs caps both).  Printed:
sequences/second per epoch, final test accuracy of each, wall time for
signtrain to reach the original's final test accuracy, the ratios, and the
share of epoch time spent in signtrain's rich renderer.
"""

from __future__ import annotations

import argparse
import io
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
from signtrain.config import load_config  # noqa: E402
from signtrain.training.run import (
    TrainRequest,  # noqa: E402
    prepare,  # noqa: E402
)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--signs", type=int, default=50)
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, tensorflow {__import__('tensorflow').__version__}, keras {keras.__version__}")
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
