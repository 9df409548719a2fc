"""train(config, listener) -> TrainResult: read, split, normalise, fit, test, save everything.

The listener (the rich renderer in ui.py, or anything with the same methods)
sees the dataset summary and every epoch and batch; this module never prints.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np

from signtrain import artifacts
from signtrain.artifacts import RunPaths
from signtrain.config import Config, replace
from signtrain.data import SequenceDataset, fingerprint, load_dataset
from signtrain.data.preprocess import Normalizer
from signtrain.data.split import Split, split_dataset
from signtrain.errors import ConfigError, DataError, ModelError
from signtrain.features import FeatureSpec, transform_numpy
from signtrain.layouts import detect_layout
from signtrain.predictor import keras_runner
from signtrain.runtime import import_tensorflow, missing_modules


class Listener(Protocol):
    def on_data(self, summary: dict) -> None: ...
    def on_train_begin(self, info: dict) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_batch_end(self, batch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...
    def on_train_end(self) -> None: ...
    def on_message(self, text: str) -> None: ...


class _Silent:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


@dataclass
class Prepared:
    dataset: SequenceDataset
    split: Split
    spec: FeatureSpec
    normalizer: Normalizer
    X: Optional[np.ndarray]  # model inputs (features, normalised, padding at 0); None when streaming
    summary: dict

    def features(self, raw: np.ndarray) -> np.ndarray:
        return self.normalizer.apply(transform_numpy(raw, self.spec))

    def normalised(self, index: np.ndarray) -> np.ndarray:
        if self.X is not None:
            return self.X[index]
        return self.features(np.asarray(self.dataset.X[np.sort(index)]))[np.argsort(np.argsort(index))]


@dataclass
class TrainResult:
    paths: RunPaths
    test_accuracy: Optional[float]
    test_loss: Optional[float]
    best_epoch: int                 # 1-based
    best_monitor: Optional[float]
    epochs_run: int
    train_seconds: float
    interrupted: bool
    saved_as: str                   # 'full' | 'weights'
    save_error: Optional[str]
    saved_path: Optional[Path] = None  # the model file written (the .weights.h5 after a fallback)
    metrics: dict = field(default_factory=dict)
    is_chief: bool = True           # False on the other workers of a multi-worker run (nothing kept)


def dataset_summary(ds: SequenceDataset, split: Split) -> dict:
    counts = np.bincount(ds.y, minlength=len(ds.labels))
    layout = detect_layout(ds.feature_length)
    return {
        "path": ds.root, "format": ds.format, "from_cache": ds.from_cache, "signs": len(ds.labels), "sequences": len(ds),
        "per_sign": dict(zip(ds.labels, counts.tolist())),
        "train": len(split.train), "val": len(split.val), "test": len(split.test),
        "sequence_length": ds.sequence_length, "features": ds.feature_length,
        "layout": f"{layout.name} ({layout.description})" if layout else "unknown",
        "imbalance_ratio": float(counts.max() / max(counts.min(), 1)),
        **ds.totals(),
    }


def prepare(config: Config) -> Prepared:
    """Read the data, check it can be trained on, split it and normalise it (fitted on train only)."""
    ds = load_dataset(config.data)
    nonfinite = int(ds.defect("nonfinite_frames").sum())
    if nonfinite and not config.data.nan_to_zero:
        raise DataError(f"{ds.root}: {nonfinite} frames hold NaN/inf; set data.nan_to_zero: true to replace "
                        f"them by 0 (as configs/optimized.yaml does), or fix the data")
    if len(ds.labels) < 2:
        raise DataError(f"{ds.root}: only one sign ({ds.labels[0]}); a classifier needs at least two")
    split = split_dataset(ds.y, config.split, config.train.seed, ds.groups)
    spec = FeatureSpec.from_config(config.preprocess, ds.feature_length)
    if spec.active:
        import_tensorflow()  # the feature transform is TensorFlow code, shared with the exported graphs
    # Streaming keeps X on disk (memory-mapped cache) and transforms batch by batch.
    features = None if config.data.stream else transform_numpy(ds.X, spec)
    normalizer = Normalizer.fit(features if features is not None else ds.X, ds.lengths, split.train,
                                config.preprocess, mask_zero_frames=config.model.mask_padding,
                                transform=None if features is not None else lambda raw: transform_numpy(raw, spec))
    X = None if features is None else normalizer.apply(features)
    summary = dataset_summary(ds, split)
    summary["model_features"] = spec.output_length
    return Prepared(ds, split, spec, normalizer, X, summary)


# ---------------------------------------------------------------- Ctrl-C


class InterruptFlag:
    """First SIGINT: ask training to stop after the current batch.  Second: abort at once."""

    def __init__(self, listener: Listener) -> None:
        self.requested = False
        self._listener = listener
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._listener.on_message("Ctrl-C: stopping after this batch and saving; press Ctrl-C again to abort")

    def __enter__(self) -> "InterruptFlag":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


# ---------------------------------------------------------------- Keras callbacks


def _callbacks(config: Config, paths: RunPaths, listener: Listener, interrupt: InterruptFlag,
               has_val: bool, resume_state: Optional[dict]) -> tuple[list, dict]:
    import keras

    t = config.train
    monitor = t.monitor if has_val or not t.monitor.startswith("val_") else t.monitor[4:]
    mode = "max" if "accuracy" in monitor else "min"

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            listener.on_epoch_begin(epoch)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            listener.on_batch_end(batch, logs or {})
            if interrupt.requested:
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = dict(logs or {})
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            listener.on_epoch_end(epoch, logs)

    class BestCheckpoint(keras.callbacks.Callback):
        """The best epoch's model, written atomically (ModelCheckpoint writes in place)."""

        def __init__(self) -> None:
            super().__init__()
            self.best = (resume_state or {}).get("best", None)
            self.best_epoch = (resume_state or {}).get("best_epoch", -1)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            value = (logs or {}).get(monitor)
            if value is None or not np.isfinite(value):
                return
            if self.best is None or (value > self.best if mode == "max" else value < self.best):
                self.best, self.best_epoch = float(value), epoch
                artifacts.save_model(self.model, paths.checkpoint)

    stopper = keras.callbacks.EarlyStopping(
        monitor=monitor, mode=mode, patience=t.early_stopping_patience or 10**9,
        restore_best_weights=t.restore_best_weights)
    reducer = keras.callbacks.ReduceLROnPlateau(
        monitor=monitor, mode=mode, factor=t.reduce_lr_factor, patience=t.reduce_lr_patience or 10**9,
        min_lr=t.min_learning_rate)
    best = BestCheckpoint()

    class ResumeState(keras.callbacks.Callback):
        """After every epoch: the model with its optimizer, and the callbacks' counters."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            artifacts.save_model(self.model, paths.resume_model)
            artifacts.write_json(paths.resume_state, {
                "epoch": epoch, "best": best.best, "best_epoch": best.best_epoch, "monitor": monitor,
                "early_stopping": {"wait": stopper.wait, "best": _finite(stopper.best),
                                   "best_epoch": stopper.best_epoch},
                "reduce_lr": {"wait": reducer.wait, "best": _finite(reducer.best),
                              "cooldown_counter": reducer.cooldown_counter},
            })

    callbacks = [Progress(), best, stopper, *([reducer] if t.lr_schedule == "plateau" else []), ResumeState(),
                 keras.callbacks.CSVLogger(str(paths.history), append=resume_state is not None)]
    if t.tensorboard and missing_modules("tensorboard"):
        listener.on_message("TensorBoard logs skipped: the tensorboard package is not installed "
                            "(pip install 'signtrain[tensorboard]', or set train.tensorboard: false)")
    elif t.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(paths.log_dir / "tensorboard"),
                                                     write_graph=False, profile_batch=0))
    return callbacks, {"best": best, "stopper": stopper, "reducer": reducer, "monitor": monitor}


def _finite(value: Any) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _restore_callbacks(state: dict, named: dict, checkpoint: Path) -> None:
    import keras

    stopper, reducer = named["stopper"], named["reducer"]
    stopper.wait = state["early_stopping"]["wait"]
    if state["early_stopping"]["best"] is not None:
        stopper.best = state["early_stopping"]["best"]
    stopper.best_epoch = state["early_stopping"]["best_epoch"]
    reducer.wait = state["reduce_lr"]["wait"]
    if state["reduce_lr"]["best"] is not None:
        reducer.best = state["reduce_lr"]["best"]
    reducer.cooldown_counter = state["reduce_lr"]["cooldown_counter"]
    if stopper.restore_best_weights and checkpoint.is_file():
        stopper.best_weights = keras.models.load_model(checkpoint, compile=False).get_weights()
    # Keras resets these in on_train_begin; keep the restored values instead.
    stopper.on_train_begin = lambda logs=None: None
    reducer.on_train_begin = lambda logs=None: None


# ---------------------------------------------------------------- the run


def _seed(seed: int, deterministic: bool = True) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:  # collective all-reduce has no deterministic kernels: skipped under a strategy
        tf.config.experimental.enable_op_determinism()


def compile_model(model: Any, config: Config, plan: Any = None, steps: int = 1) -> None:
    import keras

    from signtrain.distribute import learning_rate

    t = config.train
    lr = learning_rate(t, plan) if plan is not None else t.learning_rate
    if t.lr_schedule != "plateau":
        lr = _schedule(t.lr_schedule, lr, t.epochs * steps)
    optimizer = keras.optimizers.Adam(learning_rate=lr, epsilon=t.optimizer_epsilon, clipnorm=t.clipnorm)
    # one-hot targets, as the original recipe's to_categorical; label smoothing needs them
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(label_smoothing=t.label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])


def _schedule(kind: str, peak: float, total_steps: int) -> Any:
    import keras

    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps=max(total_steps, 1))
    warmup = max(int(total_steps * 0.3), 1)  # one-cycle: linear warm-up from peak/25, then cosine to 0
    return keras.optimizers.schedules.CosineDecay(peak / 25, decay_steps=max(total_steps - warmup, 1),
                                                  warmup_target=peak, warmup_steps=warmup)


def train(config: Config, listener: Optional[Listener] = None, resume: bool = False,
          callbacks: tuple = ()) -> TrainResult:
    """callbacks: extra Keras callbacks, run after signtrain's own."""
    from signtrain.distribute import make_plan, worker_output

    listener = listener or _Silent()
    import_tensorflow()
    plan = make_plan(config.train, config.model)  # before any other TensorFlow work
    prepared = prepare(config)
    if not plan.is_chief:
        listener = _Silent()  # only the chief renders
    listener.on_data(prepared.summary)
    for note in plan.notes:
        listener.on_message(note)
    with worker_output(plan, config.output.dir) as out:
        result = _fit(replace(config, output={"dir": out}), prepared, plan, listener, resume, callbacks)
    result.is_chief = plan.is_chief
    return result


def _fit(config: Config, prepared: Prepared, plan: Any, listener: Listener, resume: bool,
         extra_callbacks: tuple = ()) -> TrainResult:
    import keras

    from signtrain.distribute import prepare_model, shard_by_data
    from signtrain.model import build_model, register_custom_layers, should_unroll
    from signtrain.pipeline import training_data

    paths = RunPaths.from_config(config.output)
    resume_state = _load_resume_state(paths) if resume else None
    _seed(config.train.seed, deterministic=plan.strategy is None)
    ds, split = prepared.dataset, prepared.split
    steps = -(-len(split.train) // config.train.batch_size)
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    with plan.scope():
        if resume_state:
            register_custom_layers()  # before loading
            model = keras.models.load_model(paths.resume_model)
            initial_epoch = resume_state["epoch"] + 1
        else:
            unroll = should_unroll(config.model.unroll, ds.sequence_length, len(split.train) * config.train.epochs)
            model = build_model(config.model, ds.sequence_length, prepared.spec.output_length, len(ds.labels),
                                unroll=unroll)
            compile_model(model, config, plan, steps=steps)
            initial_epoch = 0
    prepare_model(model, plan, config.train.batch_size, ds.sequence_length, prepared.spec.output_length,
                  len(ds.labels))
    train_data, val_data = training_data(prepared, config)
    if plan.strategy is not None:
        train_data = shard_by_data(train_data)
        val_data = shard_by_data(val_data) if val_data is not None else None
    listener.on_train_begin({"epochs": config.train.epochs, "steps": steps, "initial_epoch": initial_epoch})

    start = time.perf_counter()
    with InterruptFlag(listener) as interrupt:
        callbacks, named = _callbacks(config, paths, listener, interrupt, val_data is not None, resume_state)
        if resume_state:
            _restore_callbacks(resume_state, named, paths.checkpoint)
        history = model.fit(train_data, validation_data=val_data, epochs=config.train.epochs,
                            initial_epoch=initial_epoch, callbacks=[*callbacks, *extra_callbacks], verbose=0,
                            shuffle=False)  # the tf.data pipeline shuffles, seeded
    seconds = time.perf_counter() - start
    listener.on_train_end()

    epochs_run = initial_epoch + len(history.history.get("loss", []))
    test_accuracy = test_loss = None
    if len(split.test):
        probs = keras_runner(model)(prepared.normalised(split.test))
        y_test = ds.y[split.test]
        test_accuracy = float(np.mean(np.argmax(probs, axis=1) == y_test))
        test_loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(y_test)), y_test], 1e-12, 1.0))))
    best = named["best"]
    result = TrainResult(
        paths=paths, test_accuracy=test_accuracy, test_loss=test_loss, best_epoch=best.best_epoch + 1,
        best_monitor=best.best, epochs_run=epochs_run, train_seconds=seconds,
        interrupted=interrupt.requested, saved_as="full", save_error=None)
    _save_all(model, config, prepared, result, named["monitor"], plan)
    return result


def _load_resume_state(paths: RunPaths) -> dict:
    if not paths.resume_state.is_file() or not paths.resume_model.is_file():
        raise ConfigError(f"--resume: nothing to resume in {paths.dir} ({paths.resume_state} not found); "
                          f"train without --resume first")
    try:
        return json.loads(paths.resume_state.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{paths.resume_state}: unreadable resume state ({exc}); train without --resume") from None


def _save_all(model: Any, config: Config, prepared: Prepared, result: TrainResult, monitor: str,
              plan: Any) -> None:
    """Model (staged), normalisation, metadata and metrics: each file atomic."""
    paths, ds, split, norm = result.paths, prepared.dataset, prepared.split, prepared.normalizer
    artifacts.save_preprocess(paths.preprocess, norm.mean, norm.std, norm.epsilon, norm.mode)
    written, kind, error = artifacts.save_model_staged(model, paths.model)
    result.saved_as, result.save_error, result.saved_path = kind, error, written
    layout = detect_layout(ds.feature_length)
    sources = ds.relative_sources()
    metadata = {
        "format_version": 1,
        "model_file": written.name,
        "saved_as": kind,
        "labels": ds.labels,
        "feature_length": ds.feature_length,
        "layout": layout.name if layout else None,
        "sequence_length": ds.sequence_length,
        "normalization": {**norm.to_dict(), "file": paths.preprocess.name},
        "config": config.to_dict(),
        "versions": artifacts.library_versions(),
        "data": {
            "path": str(Path(ds.root).resolve()),
            "format": ds.format,
            "fingerprint": fingerprint(ds, config.data),
            "sequences": len(ds),
        },
        "split": {
            "seed": config.train.seed,
            "train": len(split.train), "val": len(split.val),
            "test_sources": [sources[i] for i in split.test],
            "val_sources": [sources[i] for i in split.val],
        },
    }
    artifacts.write_json(paths.metadata, metadata)
    result.metrics = {
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
        "best_epoch": result.best_epoch, "best_" + monitor: result.best_monitor,
        "epochs_run": result.epochs_run, "train_seconds": round(result.train_seconds, 3),
        "train_sequences": len(split.train), "val_sequences": len(split.val), "test_sequences": len(split.test),
        "interrupted": result.interrupted, "saved_as": kind,
        "distribute": plan.kind, "replicas": plan.replicas,
    }
    artifacts.write_json(paths.metrics, result.metrics)
