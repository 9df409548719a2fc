"""The pieces of a fit: seeding, the optimiser and its schedule, the metric watched, the callbacks,
the resume state, and the model (built, fine-tuned from another, or reloaded to resume)."""

from __future__ import annotations

import json
from typing import Any, Optional

from signtrain import store
from signtrain.config import Config
from signtrain.errors import ConfigError, ModelError
from signtrain.interrupt import InterruptScope
from signtrain.progress import Listener
from signtrain.runtime import missing_modules
from signtrain.store.files import RunPaths


def seed_everything(seed: int, deterministic: bool = True) -> None:
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
        lr = schedule(t.lr_schedule, lr, t.epochs * steps)
    optimizer = keras.optimizers.Adam(learning_rate=lr, epsilon=t.optimizer_epsilon, clipnorm=t.clipnorm)
    # one-hot targets, as the original recipe's to_categorical; label smoothing needs them
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(label_smoothing=t.label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])


def schedule(kind: str, peak: float, total_steps: int) -> Any:
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


def make_callbacks(config: Config, paths: RunPaths, listener: Listener, interrupt: InterruptScope, state: Any,
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


def load_resume_state(paths: RunPaths) -> dict:
    if not paths.resume_state.is_file() or not paths.resume_model.is_file():
        raise ConfigError(f"--resume: nothing to resume in {paths.dir} ({paths.resume_state} not found); "
                          f"train without --resume first")
    try:
        state = json.loads(paths.resume_state.read_text())
        int(state["epoch"]), state["train_state"]
        return state
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{paths.resume_state}: unreadable resume state ({exc}); train without --resume") from None


def build(config: Config, prepared: Any, plan: Any, paths: RunPaths, resume_state: Optional[dict], init: Any,
          steps: int, passes: int, say: Any) -> tuple[Any, int]:
    """The model to fit and its first epoch: reloaded to resume, or built (and started from init's weights)."""
    import keras

    from signtrain.models import build_model, register_custom_layers
    from signtrain.models.recurrent import should_unroll

    ds, split = prepared.dataset, prepared.split
    with plan.scope():
        if resume_state:
            register_custom_layers()  # before loading
            return keras.models.load_model(paths.resume_model), resume_state["epoch"] + 1
        unroll = should_unroll(config.model.unroll, ds.sequence_length,
                               len(split.train) * config.train.epochs * passes)
        model = build_model(config.model, ds.sequence_length, prepared.spec.output_length, len(ds.labels),
                            unroll=unroll)
        if init is not None:
            from signtrain.deploy.predictor import load_keras_model
            from signtrain.training.finetune import transfer

            kept = transfer(load_keras_model(init.model_path, init), model, list(init.labels), ds.labels)
            say(f"starting from {init.model_path} (run {init.run_id}): every weight kept, the output rows of "
                f"{kept} of its {len(init.labels)} signs kept, learning rate {config.train.learning_rate:g}")
        compile_model(model, config, plan, steps=steps)
    return model, 0
