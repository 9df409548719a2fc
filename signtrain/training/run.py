"""train(config, listener) -> TrainResult: read, split, normalise, fit, test, and commit the run.

The listener (the rich renderer in ui.py, or anything with the same methods) sees each phase,
the dataset summary and every epoch and batch; this module never prints.  Everything a run
writes is staged by signtrain.store.runs and becomes visible whole, or not at all.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np

from signtrain import store
from signtrain.config import Config, replace, to_yaml
from signtrain.data import SequenceDataset, fingerprint, load_dataset
from signtrain.data import account as data_account
from signtrain.data.assemble import check_memory
from signtrain.data.split import Split, split_dataset
from signtrain.errors import ConfigError, DataError, Interrupted, ModelError, RunError, TrainingDiverged
from signtrain.extract.run import extraction_of
from signtrain.interrupt import InterruptScope
from signtrain.layouts import detect_layout
from signtrain.runtime import import_tensorflow, missing_modules
from signtrain.store import metadata, runs
from signtrain.store.files import RunPaths
from signtrain.training.budget import describe as describe_budget
from signtrain.training.budget import plan_budget
from signtrain.training.curves import write_curves
from signtrain.transforms.features import FeatureSpec, transform_numpy
from signtrain.transforms.normalize import Normalizer


class Listener(Protocol):
    def on_phase(self, text: str) -> None: ...
    def on_data(self, summary: dict) -> None: ...
    def on_train_begin(self, info: dict) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_batch_end(self, batch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict, state: Any) -> None: ...
    def on_train_end(self) -> None: ...
    def on_message(self, text: str) -> None: ...
    def on_close(self) -> None: ...


class _Closing:
    """contextlib.closing for a listener: on_close() however the run ends (a spinner must not outlive it)."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener

    def close(self) -> None:
        self.listener.on_close()


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
    fingerprint: str         # of the data as read: recorded by the run, checked on resume

    def features(self, raw: np.ndarray) -> np.ndarray:
        return self.normalizer.apply(transform_numpy(raw, self.spec))

    def normalised(self, index: np.ndarray) -> np.ndarray:
        if self.X is not None:
            return self.X[index]
        return self.features(np.asarray(self.dataset.X[np.sort(index)]))[np.argsort(np.argsort(index))]


@dataclass
class TrainResult:
    paths: RunPaths                 # the files as the output folder shows them (models/lstm_model.h5, ...)
    state: Any                      # callbacks.TrainState: monitor, best epoch, epochs done
    test_accuracy: Optional[float]
    test_loss: Optional[float]
    epochs_run: int
    train_seconds: float
    interrupted: bool
    weights: str                    # 'best' | 'last': which epoch's weights the saved model holds
    saved_as: str = "full"          # 'full' | 'weights'
    save_error: Optional[str] = None
    saved_path: Optional[Path] = None  # the model file written (the .weights.h5 after a fallback)
    run_id: str = ""
    run_dir: Optional[Path] = None  # the committed run folder (models/runs/<id>)
    metrics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    is_chief: bool = True           # False on the other workers of a multi-worker run (nothing kept)

    @property
    def best_epoch(self) -> int:
        return self.state.best_epoch


def dataset_summary(ds: SequenceDataset, split: Split, cfg: Any = None) -> dict:
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
        "account": data_account.to_dict(data_account.account(ds, cfg)) if cfg is not None else {},
        "named": [i.to_dict() for i in data_account.examples(ds)],
    }


def prepare(config: Config, init: Any = None, split: Optional[Split] = None) -> Prepared:
    """Read the data, check it can be trained on, split it and normalise it (fitted on train only;
    with init, a model's RunMetadata to fine-tune, its signs and frozen normalisation; split: given
    instead of drawn, e.g. one fold of a cross-validation)."""
    ds = load_dataset(config.data)  # the data.* policies refuse here what they are set to refuse
    if init is not None:
        from signtrain.training.finetune import relabel

        ds = relabel(ds, init, config.train.init_signs)
    if len(ds.labels) < 2:
        raise DataError(f"{ds.root}: only one sign ({ds.labels[0]}); a classifier needs at least two")
    if split is None:
        split = split_dataset(ds.y, config.split, config.train.seed, ds.groups)
    spec = FeatureSpec.from_config(config.preprocess, ds.feature_length)
    if not config.data.stream:  # features and their normalised copy live in memory beside the data
        check_memory(len(ds), ds.sequence_length, spec.output_length, int(ds.lengths.max()), copies=2)
    if spec.active:
        import_tensorflow()  # the feature transform is TensorFlow code, shared with the exported graphs
    # Streaming keeps X on disk (memory-mapped cache) and transforms batch by batch.
    features = None if config.data.stream else transform_numpy(ds.X, spec)
    normalizer = init.normalizer if init is not None else Normalizer.fit(
        features if features is not None else ds.X, ds.lengths, split.train, config.preprocess,
        mask_zero_frames=config.model.mask_padding,
        transform=None if features is not None else lambda raw: transform_numpy(raw, spec))
    X = None if features is None else normalizer.apply(features)
    summary = dataset_summary(ds, split, config.data)
    summary["model_features"] = spec.output_length
    return Prepared(ds, split, spec, normalizer, X, summary, fingerprint(ds, config.data))


# ---------------------------------------------------------------- model and optimiser


def _seed(seed: int, deterministic: bool = True) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:  # collective all-reduce has no deterministic kernels: skipped under a strategy
        tf.config.experimental.enable_op_determinism()


def compile_model(model: Any, config: Config, plan: Any = None, steps: int = 1) -> None:
    import keras

    from signtrain.training.distribute import learning_rate

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


def monitored(config: Config, has_val: bool) -> tuple[str, str]:
    """(metric, 'max'|'min'): train.monitor, or its training twin when there is no validation split."""
    monitor = config.train.monitor
    if not has_val and monitor.startswith("val_"):
        monitor = monitor[4:]
    return monitor, "max" if "accuracy" in monitor else "min"


# ---------------------------------------------------------------- the run


def train(config: Config, listener: Optional[Listener] = None, resume: Optional[runs.RunInfo] = None,
          callbacks: tuple = (), name: Optional[str] = None, overwrite: bool = False,
          interrupt: Optional[InterruptScope] = None, init: Any = None, split: Optional[Split] = None,
          record: Optional[dict] = None, passes: int = 1) -> TrainResult:
    """passes: passes over the training split per epoch (the step budget's, see signtrain.training.budget)."""
    """Train and commit one run into config.output.dir.  resume: a run found by runs.find_run, whose
    config (see signtrain.training.resume) this config must be.  init: the RunMetadata of a model to start from,
    with config from signtrain.training.finetune.config_for.  callbacks: extra Keras callbacks.  split: the
    train/validation/test indices to use instead of drawing them; record: extra facts saved in the
    run's metrics.json (a cross-validation fold says which)."""
    from signtrain.training.distribute import is_chief, make_plan, worker_output

    listener = listener or _Silent()
    scope = contextlib.nullcontext(interrupt) if interrupt is not None else InterruptScope(listener.on_message)
    with scope as interrupt, contextlib.closing(_Closing(listener)):
        interrupt.say = listener.on_message
        chief = is_chief(config.train)
        if not chief:
            listener = _Silent()  # only the chief renders
        carry = (f"{config.output.log_dir}/resume", f"{config.output.log_dir}/history.csv", runs.CONFIG, "start.json",
                 config.output.checkpoint_file)
        with worker_output(chief, config.output.dir) as out, \
                runs.RunWriter.open(Path(out), name, overwrite, resume, carry) as run:
            listener.on_phase("loading TensorFlow")
            import_tensorflow()
            interrupt.check("loading TensorFlow")
            plan = make_plan(config.train, config.model)  # before any other TensorFlow work
            listener.on_phase("reading the data")
            prepared = prepare(config, init, split)
            interrupt.check("reading the data")
            if resume is not None:
                _check_same_data(resume, run, prepared, config)
            listener.on_data(prepared.summary)
            if config.preprocess.face == "auto" and prepared.spec.face_key:
                listener.on_message("preprocess.face: auto kept the 76 key face points (lips, nose, eyes) of the 468")
                record = {**(record or {}), "face": "key (auto)"}
            budget = plan_budget(config.train, len(prepared.split.train))
            if budget is not None:  # the epochs the step budget comes to; saved so a resume sees them
                config = replace(config, train={"epochs": budget.epochs})
                listener.on_message(describe_budget(budget))
                record = {**(record or {}), "budget": budget.to_dict()}
            for note in data_account.length_warnings(prepared.dataset, config.data) + plan.notes:
                listener.on_message(note)
            try:
                _write_start(run, config, prepared, resume)
            except OSError as exc:
                raise RunError(f"cannot write into {out} ({exc.strerror or exc}); nothing was committed and the "
                               f"previous run is intact; free space or choose a writable --output") from None
            result = _fit(config, prepared, plan, listener, run, interrupt, resume is not None, callbacks, init,
                          record or {}, budget.passes_per_epoch if budget else 1)
    result.is_chief = chief
    return result


def _write_start(run: runs.RunWriter, config: Config, prepared: Prepared, resume: Optional[runs.RunInfo]) -> None:
    """The run's resolved config (data.path absolute, so it resumes from anywhere) and what it trains on."""
    ds = prepared.dataset
    resolved = replace(config, data={"path": str(Path(config.data.path).resolve())})
    store.write_text(run.path(runs.CONFIG), to_yaml(resolved))
    start = runs.read_json(run.path("start.json")) if resume is not None and resume.status == "unfinished" else None
    store.write_json(run.path("start.json"), start or {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"), "name": run.name, "data": str(Path(ds.root).resolve()),
        "signs": len(ds.labels), "labels": ds.labels, "feature_length": ds.feature_length,
        "fingerprint": prepared.fingerprint,
        "resumed_from": resume.id if resume is not None else None})


def _check_same_data(resume: runs.RunInfo, run: runs.RunWriter, prepared: Prepared, config: Config) -> None:
    start = runs.read_json(run.path("start.json")) or {}
    ds = prepared.dataset
    if not start:
        return
    if start.get("labels") not in (None, ds.labels):
        raise ConfigError(f"--resume {resume.id}: the data now has other signs ({', '.join(ds.labels[:5])}…) than the "
                          f"run was trained on; train a new run")
    if start.get("feature_length") not in (None, ds.feature_length):
        raise ConfigError(f"--resume {resume.id}: data.features_per_frame differs ({ds.feature_length} now, "
                          f"{start['feature_length']} in the run); train a new run")
    if start.get("fingerprint") not in (None, prepared.fingerprint):
        raise ConfigError(f"--resume {resume.id}: the data under data.path={config.data.path} changed since the run "
                          f"started (other sequences or contents); train a new run")


def _callbacks(config: Config, paths: RunPaths, listener: Listener, interrupt: InterruptScope, state: Any,
               resume_state: Optional[dict], best_weights: Optional[list], extra_state: dict) -> tuple[list, Any]:
    import keras

    from signtrain.training import callbacks as cb

    t = config.train
    restored = resume_state or {}
    stopper = cb.ResumableEarlyStopping(monitor=state.monitor, mode=state.mode,
                                        patience=t.early_stopping_patience or 10**9,
                                        restored=restored.get("early_stopping"))
    reducer = cb.ResumableReduceLR(monitor=state.monitor, mode=state.mode, factor=t.reduce_lr_factor,
                                   patience=t.reduce_lr_patience or 10**9, min_lr=t.min_learning_rate,
                                   restored=restored.get("reduce_lr"))
    warn = listener.on_message
    tracker = cb.BestTracker(state, lambda model: store.save_model(model, paths.checkpoint),
                             t.restore_best_weights, warn, best_weights)
    counters = {"early_stopping": stopper, **({"reduce_lr": reducer} if t.lr_schedule == "plateau" else {})}
    callbacks = [tracker, cb.Progress(state, listener, interrupt), *counters.values(),
                 cb.ResumeState(state, lambda model: store.save_model(model, paths.resume_model),
                                lambda payload: store.write_json(paths.resume_state, payload), counters,
                                extra_state, warn),
                 cb.HistoryWriter(state, paths.history, append=resume_state is not None, warn=warn)]
    if t.tensorboard and missing_modules("tensorboard"):
        warn("TensorBoard logs skipped: the tensorboard package is not installed "
             "(pip install 'signtrain[tensorboard]', or set train.tensorboard: false)")
    elif t.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(paths.log_dir / "tensorboard"),
                                                     write_graph=False, profile_batch=0))
    return callbacks, tracker


def _fit(config: Config, prepared: Prepared, plan: Any, listener: Listener, run: runs.RunWriter,
         interrupt: InterruptScope, resuming: bool, extra_callbacks: tuple = (), init: Any = None,
         record: Optional[dict] = None, passes: int = 1) -> TrainResult:
    """passes: passes over the training split per epoch (the step budget's, see signtrain.training.budget)."""
    import keras

    from signtrain.deploy.runners import keras_runner
    from signtrain.models import build_model, register_custom_layers
    from signtrain.models.recurrent import should_unroll
    from signtrain.training.callbacks import TrainState
    from signtrain.training.distribute import prepare_model, shard_by_data
    from signtrain.training.pipeline import training_data

    paths = RunPaths.inside(run.staging, config.output)
    resume_state = _load_resume_state(paths) if resuming else None
    _seed(config.train.seed, deterministic=plan.strategy is None)
    ds, split = prepared.dataset, prepared.split
    steps = -(-len(split.train) // config.train.batch_size) * passes
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    listener.on_phase("building the model")
    with plan.scope():
        if resume_state:
            register_custom_layers()  # before loading
            model = keras.models.load_model(paths.resume_model)
            initial_epoch = resume_state["epoch"] + 1
        else:
            unroll = should_unroll(config.model.unroll, ds.sequence_length,
                                   len(split.train) * config.train.epochs * passes)
            model = build_model(config.model, ds.sequence_length, prepared.spec.output_length, len(ds.labels),
                                unroll=unroll)
            if init is not None:
                from signtrain.deploy.predictor import load_keras_model
                from signtrain.training.finetune import transfer

                kept = transfer(load_keras_model(init.model_path, init), model, list(init.labels), ds.labels)
                listener.on_message(f"starting from {init.model_path} (run {init.run_id}): every weight kept, the "
                                    f"output rows of {kept} of its {len(init.labels)} signs kept, learning rate "
                                    f"{config.train.learning_rate:g}")
            compile_model(model, config, plan, steps=steps)
            initial_epoch = 0
    prepare_model(model, plan, config.train.batch_size, ds.sequence_length, prepared.spec.output_length,
                  len(ds.labels))
    train_data, val_data = training_data(prepared, config, passes)
    if plan.strategy is not None:
        train_data = shard_by_data(train_data)
        val_data = shard_by_data(val_data) if val_data is not None else None
    interrupt.check("building the model")

    monitor, mode = monitored(config, val_data is not None)
    state = TrainState.from_dict(resume_state["train_state"]) if resume_state else TrainState(monitor, mode)
    best_weights = None
    if resume_state and config.train.restore_best_weights and paths.checkpoint.is_file():
        best_weights = keras.models.load_model(paths.checkpoint, compile=False).get_weights()
    callbacks, tracker = _callbacks(config, paths, listener, interrupt, state, resume_state, best_weights,
                                    {"fingerprint": prepared.fingerprint})
    listener.on_train_begin({"epochs": config.train.epochs, "steps": steps, "initial_epoch": initial_epoch,
                             "monitor": state.monitor})
    interrupt.keep_going = True  # from here on, Ctrl-C stops after the batch and keeps the finished epochs
    start = time.perf_counter()
    try:
        model.fit(train_data, validation_data=val_data, epochs=config.train.epochs, initial_epoch=initial_epoch,
                  callbacks=[*callbacks, *extra_callbacks], verbose=0,
                  shuffle=False)  # the tf.data pipeline shuffles, seeded
    finally:
        listener.on_train_end()
    seconds = time.perf_counter() - start

    if state.diverged:
        run.discard()
        raise TrainingDiverged(f"{state.diverged}: lower train.learning_rate (now {config.train.learning_rate:g}) or "
                               f"check the data (signtrain validate-data); nothing was written, the previous run is "
                               f"intact")
    if state.epochs_done == 0:
        run.discard()
        raise Interrupted("stopped by Ctrl-C before the first epoch finished: nothing was written, the previous run "
                          "is intact")
    listener.on_phase("testing on the held-out split")
    weights = "last"
    if config.train.restore_best_weights and tracker.best_weights is not None:
        model.set_weights(tracker.best_weights)
        weights = "best"
    test_accuracy = test_loss = macro_f1 = None
    if len(split.test):
        from sklearn.metrics import f1_score

        probs = keras_runner(model)(prepared.normalised(split.test))
        y_test = ds.y[split.test]
        predicted = np.argmax(probs, axis=1)
        test_accuracy = float(np.mean(predicted == y_test))
        test_loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(y_test)), y_test], 1e-12, 1.0))))
        # over the signs present in the held-out part (a fold may miss a rare sign)
        macro_f1 = float(f1_score(y_test, predicted, labels=np.unique(y_test), average="macro"))
    result = TrainResult(
        paths=RunPaths.inside(run.out, config.output), state=state, test_accuracy=test_accuracy, test_loss=test_loss,
        epochs_run=state.epochs_done, train_seconds=seconds, interrupted=interrupt.requested, weights=weights,
        run_id=run.run_id, metrics={"test_macro_f1": macro_f1, **(record or {})})
    if init is not None:
        result.metrics["init"] = {"from": str(init.model_path), "run_id": init.run_id,
                                  "signs": config.train.init_signs, "model_signs": list(init.labels)}
    listener.on_phase("saving the run")
    try:
        _save_all(model, config, prepared, result, run, plan)
        result.interrupted = interrupt.requested  # a Ctrl-C during the save: the run is in, and says so by 130
    except OSError as exc:
        raise RunError(f"could not write the run into {run.out} ({exc.strerror or exc}); nothing was committed and "
                       f"the previous run is intact; free space (or make it writable) and run signtrain train "
                       f"--resume") from None
    return result


def _load_resume_state(paths: RunPaths) -> dict:
    if not paths.resume_state.is_file() or not paths.resume_model.is_file():
        raise ConfigError(f"--resume: nothing to resume in {paths.dir} ({paths.resume_state} not found); "
                          f"train without --resume first")
    try:
        state = json.loads(paths.resume_state.read_text())
        int(state["epoch"]), state["train_state"]
        return state
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{paths.resume_state}: unreadable resume state ({exc}); train without --resume") from None


def _save_all(model: Any, config: Config, prepared: Prepared, result: TrainResult, run: runs.RunWriter,
              plan: Any) -> None:
    """Model, normalisation, metadata (with the checksums that bind them) and metrics, then the commit."""
    paths, ds, split, norm = RunPaths.inside(run.staging, config.output), prepared.dataset, prepared.split, \
        prepared.normalizer
    store.save_preprocess(paths.preprocess, norm.mean, norm.std, norm.epsilon, norm.mode)
    written, kind, error = store.save_model_staged(model, paths.model)
    result.saved_as, result.save_error = kind, error
    layout = detect_layout(ds.feature_length)
    sources = ds.relative_sources()
    state = result.state
    metadata.write(paths.metadata, {
        "run_id": run.run_id,
        "model_file": written.name,
        "saved_as": kind,
        "labels": ds.labels,
        "feature_length": ds.feature_length,
        "layout": layout.name if layout else None,
        "sequence_length": ds.sequence_length,
        "normalization": {**norm.to_dict(), "file": paths.preprocess.name},
        "config": config.to_dict(),
        "versions": store.library_versions(),
        "data": {
            "path": str(Path(ds.root).resolve()),
            "format": ds.format,
            "fingerprint": prepared.fingerprint,
            "sequences": len(ds),
            "account": prepared.summary["account"],
        },
        "split": {
            "seed": config.train.seed,
            "train": len(split.train), "val": len(split.val),
            "test_sources": [sources[i] for i in split.test],
            "val_sources": [sources[i] for i in split.val],
        },
        "files": {written.name: store.file_digest(written),
                  paths.preprocess.name: store.file_digest(paths.preprocess)},
        **({"init": result.metrics["init"]} if "init" in result.metrics else {}),
        **({"extraction": extraction} if (extraction := extraction_of(Path(ds.root))) else {}),
    })
    extra = dict(result.metrics)  # macro-F1, init, what the caller asked to record
    result.metrics = {
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
        "monitor": state.monitor, "best_epoch": state.best_epoch, "best_" + state.monitor: state.best,
        "weights": result.weights, "epochs_run": result.epochs_run, "train_seconds": round(result.train_seconds, 3),
        "train_sequences": len(split.train), "val_sequences": len(split.val), "test_sequences": len(split.test),
        "interrupted": result.interrupted, "saved_as": kind, "checkpoint_error": state.save_error,
        "distribute": plan.kind, "replicas": plan.replicas, "run_id": run.run_id,
        "data_account": prepared.summary["account"],
        **{k: v for k, v in extra.items() if v is not None},
    }
    store.write_json(paths.metrics, result.metrics)
    if not write_curves(paths.history, state, paths.curves,
                        f"run {run.run_id}: {len(ds.labels)} signs, {Path(ds.root).name}"):
        result.notes.append("curves.png not drawn: matplotlib is not installed (pip install 'signtrain[plots]')")
    start = runs.read_json(run.path("start.json")) or {}
    record = runs.record_summary(data=str(Path(ds.root).resolve()), signs=len(ds.labels),
                                 test_accuracy=result.test_accuracy, epochs_run=result.epochs_run,
                                 interrupted=result.interrupted, resumed_from=start.get("resumed_from"))
    aliases = tuple(dict.fromkeys((*paths.names(), written.name)))
    result.run_dir = run.commit(record, aliases)
    result.saved_path = result.paths.dir / written.name
