"""`signtrain train --init MODEL`: start from a trained model instead of from scratch.

The new run keeps what makes the old model's numbers mean something: its feature layout, its
landmark transform (preprocess.*), its sequence length and its normalisation statistics, and
its architecture (model.*), with every weight copied.  The signs of the new data are added to
the model's (train.init_signs: add) or replace them (replace); the output layer is rebuilt for
the new list, and the rows of the signs both lists share are copied, so those signs start
where the old model left them.  The learning rate is lowered (train.init_lr_factor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from signtrain.config import Config, replace
from signtrain.data import SequenceDataset
from signtrain.errors import ConfigError, DataError
from signtrain.layouts import describe
from signtrain.store.metadata import RunMetadata

OUTPUT_LAYER = "sign_probabilities"


def config_for(meta: RunMetadata, config: Config) -> Config:
    """The user's config (data, split, training) with the model's own layout, transform and architecture."""
    old = meta.config
    return replace(config,
                   data={"sequence_length": meta.sequence_length, "resample": old.data.resample,
                         "truncate": old.data.truncate, "features_per_frame": None,  # checked by relabel
                         "landmarks": list(old.data.landmarks), "csv_columns": old.data.csv_columns},
                   preprocess=old.to_dict()["preprocess"], model=old.to_dict()["model"],
                   train={"learning_rate": config.train.learning_rate * config.train.init_lr_factor})


def relabel(ds: SequenceDataset, meta: RunMetadata, mode: str) -> SequenceDataset:
    """The dataset's labels as the fine-tuned model will have them (add: the model's first)."""
    if ds.feature_length != meta.feature_length:
        raise DataError(f"{ds.root}: frames hold {describe(ds.feature_length)} values, but the model given to --init "
                        f"was trained on {describe(meta.feature_length)}; fine-tune it on data of its layout")
    labels = list(meta.labels) + [s for s in ds.labels if s not in meta.labels] if mode == "add" else list(ds.labels)
    index = {name: i for i, name in enumerate(labels)}
    ds.y = np.array([index[ds.labels[k]] for k in ds.y], dtype=np.int32)
    ds.labels = labels
    return ds


def transfer(old: Any, new: Any, old_labels: list[str], new_labels: list[str]) -> int:
    """Copy every weight of old into new (same architecture); the output layer row by row for the
    signs both know.  Returns how many signs kept their output rows."""
    by_name = {layer.name: layer for layer in old.layers}
    for layer in new.layers:
        source = by_name.get(layer.name)
        if source is None or not source.weights:
            continue
        if layer.name != OUTPUT_LAYER:
            try:
                layer.set_weights(source.get_weights())
            except ValueError as exc:
                raise ConfigError(f"--init: layer {layer.name} of the model does not fit this training ({exc}); "
                                  f"fine-tune with the model's own model.* settings") from None
    kernel, bias = old.get_layer(OUTPUT_LAYER).get_weights()
    new_kernel, new_bias = new.get_layer(OUTPUT_LAYER).get_weights()
    shared = [(old_labels.index(s), j) for j, s in enumerate(new_labels) if s in old_labels]
    for i, j in shared:
        new_kernel[:, j], new_bias[j] = kernel[:, i], bias[i]
    new.get_layer(OUTPUT_LAYER).set_weights([new_kernel, new_bias])
    return len(shared)
