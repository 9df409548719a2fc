"""train(request, listener) -> TrainResult: one training, read top to bottom.

prepare (read, split, normalise) -> resolve the config once (step budget, absolute data path) ->
build (or reload to resume) -> fit -> test (evaluate's metrics code) -> save -> commit.  The
listener (ui.TrainingDisplay, or any progress.Listener) hears each phase, the data and every epoch
and batch; this module never prints.  Everything a run writes is staged by store.runs and becomes
visible whole, or not at all.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Optional, Union

from signtrain import store
from signtrain.config import Config, replace, to_yaml
from signtrain.data import account as data_account
from signtrain.errors import ConfigError, Interrupted, RunError, TrainingDiverged
from signtrain.interrupt import InterruptScope
from signtrain.progress import Listener, TrainBegin
from signtrain.runtime import import_tensorflow
from signtrain.store import runs
from signtrain.store.files import RunPaths
from signtrain.training import fit
from signtrain.training.budget import describe as describe_budget
from signtrain.training.budget import plan_budget
from signtrain.training.prepare import Prepared, prepare
from signtrain.training.request import TrainRequest, TrainResult
from signtrain.training.save import save, test
from signtrain.transforms import precomputed

__all__ = ["Prepared", "TrainRequest", "TrainResult", "prepare", "train"]


def train(request: Union[TrainRequest, Config], listener: Optional[Listener] = None,
          interrupt: Optional[InterruptScope] = None) -> TrainResult:
    """Train and commit one run into request.config.output.dir (a bare Config: a new run of it)."""
    from signtrain.training.distribute import is_chief, make_plan, worker_output

    request = request if isinstance(request, TrainRequest) else TrainRequest(request)
    config, resume = request.config, request.resume
    listener = listener or Listener()
    scope = contextlib.nullcontext(interrupt) if interrupt is not None else InterruptScope(listener.on_message)
    with scope as interrupt, contextlib.closing(_Closing(listener)):
        interrupt.say = listener.on_message
        chief = is_chief(config.train)
        if not chief:
            listener = Listener()  # only the chief renders
        carry = (f"{config.output.log_dir}/resume", f"{config.output.log_dir}/history.csv", runs.CONFIG, "start.json",
                 config.output.checkpoint_file)
        with worker_output(chief, config.output.dir) as out, \
                runs.RunWriter.open(Path(out), request.name, request.overwrite, resume, carry) as run:
            for gone in run.dropped:
                listener.on_message(f"removed the unfinished run {gone}: it never finished an epoch, so it held "
                                    f"nothing to resume")
            if resume is not None:
                done = resume.epochs_done or resume.record.get("epochs_run") or "?"
                listener.on_message(f"continuing run {resume.id} ({resume.status}, {done} epochs done)"
                                    + ("" if resume.status == "unfinished" else
                                       " as a new run, from a copy of its last state"))
            listener.on_phase("loading TensorFlow")
            import_tensorflow(stop=lambda: interrupt.requested)  # a Ctrl-C need not wait for the import
            interrupt.check("loading TensorFlow")
            plan = make_plan(config.train, config.model)  # before any other TensorFlow work
            listener.on_phase("reading the data")
            prepared = prepare(config, request.init, request.split)
            interrupt.check("reading the data")
            if resume is not None:
                _check_same_data(resume, run, prepared, config)
            listener.on_data(prepared.summary)
            config, record = _resolve(config, prepared, request.record, listener)
            for note in data_account.length_warnings(prepared.dataset, config.data) + plan.notes:
                listener.on_message(note)
            try:
                _write_start(run, config, prepared, resume)
            except OSError as exc:
                raise RunError(f"cannot write into {out} ({exc.strerror or exc}); nothing was committed and the "
                               f"previous run is intact; free space or choose a writable --output") from None
            passes = record["budget"]["passes_per_epoch"] if "budget" in record else 1
            result = _fit(config, prepared, plan, listener, run, interrupt, request, record, passes)
    result.is_chief = chief
    return result


class _Closing:
    """contextlib.closing for a listener: on_close() however the run ends (a spinner must not outlive it)."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def close(self) -> None:
        self.listener.on_close()


def _resolve(config: Config, prepared: Prepared, record: dict, listener: Listener) -> tuple[Config, dict]:
    """The config as this run trains and records it, resolved once: the data path absolute (so the run
    resumes from anywhere) and the epochs the step budget comes to (saved, so a resume sees them)."""
    record = dict(record)
    changes: dict = {"data": {"path": str(Path(config.data.path).resolve())}}
    if config.preprocess.face == "auto" and prepared.spec.face_key:
        listener.on_message("preprocess.face: auto kept the 76 key face points (lips, nose, eyes) of the 468")
        record["face"] = "key (auto)"
    if config.augment.precomputed:
        why = "data.stream keeps the recordings on disk" if config.data.stream else \
            precomputed.supported(prepared.spec, config.augment)
        if why:
            listener.on_message(f"augment.precomputed: {why}, so the landmarks are augmented batch by batch "
                                f"instead (the same augmentation, slower batches)")
            changes["augment"] = {"precomputed": False}
    budget = plan_budget(config.train, len(prepared.split.train))
    if budget is not None:
        changes["train"] = {"epochs": budget.epochs}
        listener.on_message(describe_budget(budget))
        record["budget"] = budget.to_dict()
    return replace(config, **changes), record


def _write_start(run: runs.RunWriter, config: Config, prepared: Prepared, resume: Optional[runs.RunInfo]) -> None:
    """The run's resolved config and what it trains on."""
    ds = prepared.dataset
    store.write_text(run.path(runs.CONFIG), to_yaml(config))
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


def _fit(config: Config, prepared: Prepared, plan, listener: Listener, run: runs.RunWriter,
         interrupt: InterruptScope, request: TrainRequest, record: dict, passes: int) -> TrainResult:
    """Build, fit, test, save and commit.  passes: over the training split per epoch (the step budget's)."""
    import keras

    from signtrain.training.callbacks import TrainState
    from signtrain.training.distribute import prepare_model, shard_by_data
    from signtrain.training.pipeline import training_data

    paths = RunPaths.inside(run.staging, config.output)
    resume_state = fit.load_resume_state(paths) if request.resume is not None else None
    if resume_state and resume_state["epoch"] + 1 >= config.train.epochs:
        run.discard()
        raise ConfigError(f"--resume {request.resume.id}: the run already trained its {resume_state['epoch'] + 1} "
                          f"epochs (train.epochs = {config.train.epochs}); ask for more with --set "
                          f"train.epochs=N, N > {resume_state['epoch'] + 1}; nothing was written")
    fit.seed_everything(config.train.seed, deterministic=plan.strategy is None)
    ds, split = prepared.dataset, prepared.split
    steps = -(-len(split.train) // config.train.batch_size) * passes
    paths.log_dir.mkdir(parents=True, exist_ok=True)

    listener.on_phase("building the model")
    model, initial_epoch = fit.build(config, prepared, plan, paths, resume_state, request.init, steps, passes,
                                     listener.on_message)
    prepare_model(model, plan, config.train.batch_size, ds.sequence_length, prepared.spec.output_length,
                  len(ds.labels))
    train_data, val_data = training_data(prepared, config)
    if plan.strategy is not None:
        train_data = shard_by_data(train_data)
        val_data = shard_by_data(val_data) if val_data is not None else None
    interrupt.check("building the model")

    monitor, mode = fit.monitored(config, val_data is not None)
    state = TrainState.from_dict(resume_state["train_state"]) if resume_state else TrainState(monitor, mode)
    best_weights = None
    if resume_state and config.train.restore_best_weights and paths.checkpoint.is_file():
        best_weights = keras.models.load_model(paths.checkpoint, compile=False).get_weights()
    callbacks, tracker = fit.make_callbacks(config, paths, listener, interrupt, state, resume_state, best_weights,
                                            {"fingerprint": prepared.fingerprint})
    listener.on_train_begin(TrainBegin(config.train.epochs, steps, initial_epoch, state.monitor))
    interrupt.keep_going = True  # from here on, Ctrl-C stops after the batch and keeps the finished epochs
    start = time.perf_counter()
    try:
        model.fit(train_data, validation_data=val_data, epochs=config.train.epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=steps, callbacks=[*callbacks, *request.callbacks], verbose=0,
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
    figures = test(model, prepared)
    result = TrainResult(
        paths=RunPaths.inside(run.out, config.output), state=state, test_accuracy=figures["test_accuracy"],
        test_loss=figures["test_loss"], epochs_run=state.epochs_done, train_seconds=seconds,
        interrupted=interrupt.requested, weights=weights, run_id=run.run_id,
        metrics={"test_macro_f1": figures["test_macro_f1"], **record})
    if request.init is not None:
        init = request.init
        result.metrics["init"] = {"from": str(init.model_path), "run_id": init.run_id,
                                  "signs": config.train.init_signs, "model_signs": list(init.labels)}

    listener.on_phase("saving the run")
    try:
        save(model, config, prepared, result, run, plan, request.current)
        result.interrupted = interrupt.requested  # a Ctrl-C during the save: the run is in, and says so by 130
    except OSError as exc:
        raise RunError(f"could not write the run into {run.out} ({exc.strerror or exc}); nothing was committed and "
                       f"the previous run is intact; free space (or make it writable) and run signtrain train "
                       f"--resume") from None
    return result
