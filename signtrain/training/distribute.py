"""Training beyond one device with TensorFlow's own engine, tf.distribute.

none: the default device.  mirrored: MirroredStrategy over the visible GPUs or the
devices named in train.devices.  multi_worker: MultiWorkerMirroredStrategy across
hosts, configured by the standard TF_CONFIG variable; only the chief renders and
writes artifacts.  auto: mirrored when more than one GPU is visible.
train.batch_size is the GLOBAL batch: each of N replicas sees batch_size / N.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from signtrain.config import ModelConfig, TrainConfig
from signtrain.errors import ConfigError


@dataclass
class Plan:
    kind: str                      # none | mirrored | multi_worker
    strategy: Any = None           # the tf.distribute.Strategy, None for the default device
    replicas: int = 1
    is_chief: bool = True
    notes: list[str] = field(default_factory=list)

    def scope(self) -> Any:
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()


def _gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def is_chief(train: TrainConfig) -> bool:
    """Whether this process writes the run (TensorFlow is not needed to tell): every process but the
    non-chief workers of a multi-worker training.  A broken TF_CONFIG is reported by make_plan."""
    if train.distribute != "multi_worker":
        return True
    try:
        return _is_chief(json.loads(os.environ.get("TF_CONFIG") or "{}"))
    except (ValueError, TypeError, AttributeError):
        return True


def _is_chief(tf_config: dict) -> bool:
    task = tf_config.get("task", {})
    cluster = tf_config.get("cluster", {})
    if task.get("type") == "chief":
        return True
    return "chief" not in cluster and task.get("type") == "worker" and int(task.get("index", 0)) == 0


def make_plan(train: TrainConfig, model: ModelConfig) -> Plan:
    """Create the strategy (before any other TensorFlow work, as multi-worker requires)."""
    import tensorflow as tf

    kind = train.distribute
    gpus = _gpus()
    if kind == "auto":
        kind = "mirrored" if len(gpus) > 1 else "none"
    plan = Plan(kind)
    if kind == "mirrored":
        plan.strategy = tf.distribute.MirroredStrategy(devices=list(train.devices) if train.devices else None)
    elif kind == "multi_worker":
        raw = os.environ.get("TF_CONFIG")
        if not raw:
            raise ConfigError("train.distribute: multi_worker needs the TF_CONFIG environment variable "
                              "(cluster and task of this worker); see the README section on several machines")
        try:
            tf_config = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"TF_CONFIG is not valid JSON ({exc})") from None
        plan.strategy = tf.distribute.MultiWorkerMirroredStrategy()
        plan.is_chief = _is_chief(tf_config)
        _fix_keras_multi_worker()
    if plan.strategy is not None:
        plan.replicas = plan.strategy.num_replicas_in_sync
        plan.notes.append(f"{kind}: {plan.replicas} replicas; global batch {train.batch_size} = "
                          f"{train.batch_size / plan.replicas:g} per replica")
    if train.mixed_precision:
        if not gpus:
            raise ConfigError("train.mixed_precision: true helps only on a GPU (float16 maths is slower on a "
                              "CPU) and no GPU is visible; set it to false")
        import keras

        keras.mixed_precision.set_global_policy("mixed_float16")
        plan.notes.append("mixed precision: float16 compute, float32 variables and output layer")
    if gpus:
        plan.notes.extend(cudnn_notes(model))
    return plan


def cudnn_notes(model: ModelConfig) -> list[str]:
    """Why the fused cuDNN LSTM/GRU kernel cannot run, if it cannot (it needs Keras' defaults)."""
    reasons = []
    if model.activation != "tanh":
        reasons.append(f"model.activation={model.activation} (needs tanh)")
    if model.recurrent_activation != "sigmoid":
        reasons.append(f"model.recurrent_activation={model.recurrent_activation} (needs sigmoid)")
    if model.recurrent_dropout:
        reasons.append(f"model.recurrent_dropout={model.recurrent_dropout} (needs 0)")
    if model.unroll is True:
        reasons.append("model.unroll=true (needs false or auto)")
    if not reasons:
        return []
    return ["the GPU's fused cuDNN kernel is ruled out by " + ", ".join(reasons) +
            "; the generic kernel is several times slower"]


def learning_rate(train: TrainConfig, plan: Plan) -> float:
    return train.learning_rate * plan.replicas if train.scale_learning_rate else train.learning_rate


def shard_by_data(dataset: Any) -> Any:
    """Workers split the batches, not files: the input is an array or a memory map, not file shards."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def prepare_model(model: Any, plan: Plan, batch: int, sequence_length: int, features: int, classes: int) -> None:
    """Keras 3.15 averages an eager sample batch across replicas before the first step, which fails
    under MultiWorkerMirroredStrategy (keras-team/keras#20585) and, under MirroredStrategy, on a
    batch that does not split evenly; build the model's metrics symbolically from shapes instead."""
    if plan.strategy is None:
        return
    example = (np.zeros((batch, sequence_length, features), np.float32), np.zeros((batch, classes), np.float32))

    def symbolic_build(iterator: Any = None, data_batch: Any = None) -> None:
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=example)  # noqa: SLF001

    model._maybe_symbolic_build = symbolic_build  # noqa: SLF001


_FIXED = False


def _fix_keras_multi_worker() -> None:
    """Keras 3.15 averages per-replica scalars (loss, metrics) with reduce(axis=0) under a
    multi-worker strategy, which fails on 0-d values; average them with axis=None instead."""
    global _FIXED
    if _FIXED:
        return
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):  # noqa: SLF001
            def mean(v: Any) -> Any:
                if not trainer._is_per_replica_instance(v):  # noqa: SLF001
                    return v
                return strategy.reduce("MEAN", v, axis=0 if v.values[0].shape.rank else None)

            return trainer.tree.map_structure(mean, values)
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica
    _FIXED = True


@contextlib.contextmanager
def worker_output(is_chief: bool, output_dir: str) -> Iterator[str]:
    """The chief writes to output.dir; every other worker to a scratch folder removed afterwards
    (all workers must take part in saving under a multi-worker strategy)."""
    if is_chief:
        yield output_dir
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="signtrain-worker-") as scratch:
        yield scratch
