"""The tf.data pipelines that feed training: from memory or streamed from the memory-mapped
cache, with the training split's augmentation, one-hot (optionally smoothed) targets and
class weights.  Everything ends in prefetch."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from signtrain.config import Config
from signtrain.transforms import augment, precomputed
from signtrain.transforms.features import transform


def class_weights(y: np.ndarray, classes: int) -> np.ndarray:
    """Balanced weights: N / (K * count), 1 for a class absent from y."""
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    return np.where(counts > 0, len(y) / (classes * np.maximum(counts, 1)), 1.0).astype(np.float32)


def _targets(config: Config, classes: int, weights: Optional[np.ndarray]) -> Any:
    import tensorflow as tf

    table = tf.constant(weights) if weights is not None else None

    def finish(x: Any, y: Any) -> Any:
        one_hot = tf.one_hot(y, classes)
        if table is None:
            return x, one_hot
        return x, one_hot, tf.gather(table, y)

    return finish


def real_frames(dataset: Any, resample: bool) -> np.ndarray:
    """How many of each stored sequence's frames are its recording, as the temporal augmentation
    must see it: all of them when recordings were resampled to the stored length (a 20-frame
    recording stretched to 48 fills all 48; its raw length would crop training to its first 20 of
    48, while evaluation sees them all), else its length (what follows is padding)."""
    return np.full_like(dataset.lengths, dataset.X.shape[1]) if resample else dataset.lengths


def _raw_examples(prepared: Any, index: np.ndarray, seed: int, shuffle: bool, resample: bool) -> Any:
    """(raw frames, length, label) per sequence, shuffled each epoch when asked."""
    import tensorflow as tf

    ds = prepared.dataset
    lengths = real_frames(ds, resample)
    if prepared.X is not None or not isinstance(ds.X, np.memmap):
        data = tf.data.Dataset.from_tensor_slices((np.asarray(ds.X[index]), lengths[index], ds.y[index]))
        return data.shuffle(len(index), seed=seed, reshuffle_each_iteration=True) if shuffle else data
    rng = np.random.default_rng(seed)
    T, F = ds.X.shape[1], ds.X.shape[2]

    def rows() -> Any:
        order = rng.permutation(index) if shuffle else index
        for i in order:
            yield np.asarray(ds.X[i]), lengths[i], ds.y[i]

    signature = (tf.TensorSpec([T, F], tf.float32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32))
    return tf.data.Dataset.from_generator(rows, output_signature=signature).apply(
        tf.data.experimental.assert_cardinality(len(index)))


def _augmented(prepared: Any, index: np.ndarray, config: Config, batch: int, finish: Any) -> Any:
    import tensorflow as tf

    cfg, layout, spec, norm = config.augment, prepared.spec.layout, prepared.spec, prepared.normalizer
    data = _raw_examples(prepared, index, config.train.seed, True, config.data.resample)
    refill = config.data.resample

    def chosen(x: Any, n: Any, y: Any) -> Any:
        frames, _, left = augment.temporal(x, n, cfg, refill)
        # with context (which needs rest, so a temporal draw), the recording rides along to the batch, where
        # another one's end is shown in the stillness before each sign
        return ((frames, left, x, n) if cfg.context else frames), y

    if augment.temporal_enabled(cfg):
        data = data.map(chosen, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        data = data.map(lambda x, n, y: (x, y))
    data = data.batch(batch)

    def features(x: Any, y: Any) -> Any:
        if cfg.context:
            frames, left, recording, n = x
            x = augment.with_context(frames, recording, n, left, cfg.context)
        if augment.spatial_enabled(cfg):
            x = augment.spatial(x, cfg, layout)
        return norm.apply_tf(transform(x, spec)), y

    return data.map(features, num_parallel_calls=tf.data.AUTOTUNE).map(finish)


def _augmented_precomputed(prepared: Any, index: np.ndarray, config: Config, batch: int, finish: Any) -> Any:
    """The same batches from features computed once: frames chosen and moved a batch at a time."""
    import tensorflow as tf

    cfg, spec, norm, ds = config.augment, prepared.spec, prepared.normalizer, prepared.dataset
    frames = precomputed.precompute(ds.X[np.sort(index)], spec)
    order = np.argsort(np.argsort(index))
    data = tf.data.Dataset.from_tensor_slices((frames[order], real_frames(ds, config.data.resample)[index],
                                               ds.y[index]))
    data = data.shuffle(len(index), seed=config.train.seed, reshuffle_each_iteration=True).batch(batch)
    T, refill = ds.X.shape[1], config.data.resample

    def features(x: Any, n: Any, y: Any) -> Any:
        if augment.temporal_enabled(cfg):
            index, valid, left = precomputed.frame_indices(n, T, cfg, refill)
            chosen = precomputed.choose_frames(x, index, valid)
            x = augment.with_context(chosen, x, n, left, cfg.context) if cfg.context else chosen
        if augment.spatial_enabled(cfg):
            x = precomputed.spatial(x, cfg, spec)
        return norm.apply_tf(precomputed.features(x, spec)), y

    return _one_thread_per_op(data.map(features, num_parallel_calls=tf.data.AUTOTUNE).map(finish))


def _one_thread_per_op(data: Any) -> Any:
    """Each pipeline op on one thread: on a few cores, ops that split across every core fight the
    training step for them (measured in benchmarks/profile.py)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    return data.with_options(options)


def _normalised(prepared: Any, index: np.ndarray, batch: int, seed: int, shuffle: bool, finish: Any) -> Any:
    import tensorflow as tf

    ds = prepared.dataset
    if prepared.X is not None:
        data = tf.data.Dataset.from_tensor_slices((prepared.X[index], ds.y[index]))
        if shuffle:
            data = data.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
        return data.batch(batch).map(finish)
    # streamed: batches read from the memory map and normalised on the fly (memory bounded by a few batches)
    rng = np.random.default_rng(seed)
    T, F = ds.X.shape[1], prepared.spec.output_length

    def batches() -> Any:
        order = rng.permutation(index) if shuffle else index
        for start in range(0, len(order), batch):
            rows = np.sort(order[start:start + batch])  # sorted reads are sequential on disk
            yield prepared.features(np.asarray(ds.X[rows])), ds.y[rows]

    signature = (tf.TensorSpec([None, T, F], tf.float32), tf.TensorSpec([None], tf.int32))
    return tf.data.Dataset.from_generator(batches, output_signature=signature).apply(
        tf.data.experimental.assert_cardinality(-(-len(index) // batch))).map(finish)


def training_data(prepared: Any, config: Config) -> tuple[Any, Optional[Any]]:
    """(train, validation) tf.data pipelines.  The training one repeats without end, reshuffled and
    augmented afresh on every pass: fit takes an epoch's steps from one iterator for the whole run
    (a fresh iterator per epoch re-instantiated the pipeline, ~0.14 s each: a tenth of a short epoch)."""
    import tensorflow as tf

    ds, split, batch, seed = prepared.dataset, prepared.split, config.train.batch_size, config.train.seed
    classes = len(ds.labels)
    weights = class_weights(ds.y[split.train], classes) if config.train.class_weights else None
    finish = _targets(config, classes, weights)
    if augment.enabled(config.augment) and config.augment.precomputed:
        train = _augmented_precomputed(prepared, split.train, config, batch, finish)
    elif augment.enabled(config.augment):
        train = _augmented(prepared, split.train, config, batch, finish)
    else:
        train = _normalised(prepared, split.train, batch, seed, True, finish)
    val = None
    if len(split.val):
        # validation loss is unweighted, so that it stays comparable between recipes
        val = _normalised(prepared, split.val, batch, seed, False, _targets(config, classes, None))
        val = val.prefetch(tf.data.AUTOTUNE)
    return train.repeat().prefetch(tf.data.AUTOTUNE), val
