"""prepare(config) -> Prepared: read the data, check it can be trained on, split it and normalise it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from signtrain.config import Config, DataConfig
from signtrain.data import SequenceDataset, fingerprint, load_dataset
from signtrain.data import account as data_account
from signtrain.data.assemble import check_memory
from signtrain.data.split import Split, split_dataset
from signtrain.errors import DataError
from signtrain.layouts import detect_layout
from signtrain.runtime import import_tensorflow
from signtrain.transforms.features import FeatureSpec, transform_numpy
from signtrain.transforms.normalize import Normalizer


@dataclass(frozen=True)
class DatasetSummary:
    """The dataset as training sees it: what the listener shows and the run records."""

    path: str
    format: str
    from_cache: bool
    signs: int
    sequences: int
    per_sign: dict
    train: int
    val: int
    test: int
    sequence_length: int
    features: int
    model_features: int
    layout: str
    imbalance_ratio: float
    totals: dict
    account: dict
    named: list

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Prepared:
    dataset: SequenceDataset
    split: Split
    spec: FeatureSpec
    normalizer: Normalizer
    X: Optional[np.ndarray]  # model inputs (features, normalised, padding at 0); None when streaming
    summary: DatasetSummary
    fingerprint: str         # of the data as read: recorded by the run, checked on resume

    def features(self, raw: np.ndarray) -> np.ndarray:
        return self.normalizer.apply(transform_numpy(raw, self.spec))

    def normalised(self, index: np.ndarray) -> np.ndarray:
        if self.X is not None:
            return self.X[index]
        return self.features(np.asarray(self.dataset.X[np.sort(index)]))[np.argsort(np.argsort(index))]


def dataset_summary(ds: SequenceDataset, split: Split, cfg: DataConfig, model_features: int) -> DatasetSummary:
    counts = np.bincount(ds.y, minlength=len(ds.labels))
    layout = detect_layout(ds.feature_length)
    return DatasetSummary(
        path=ds.root, format=ds.format, from_cache=ds.from_cache, signs=len(ds.labels), sequences=len(ds),
        per_sign=dict(zip(ds.labels, counts.tolist())), train=len(split.train), val=len(split.val),
        test=len(split.test), sequence_length=ds.sequence_length, features=ds.feature_length,
        model_features=model_features,
        layout=f"{layout.name} ({layout.description})" if layout else "unknown",
        imbalance_ratio=float(counts.max() / max(counts.min(), 1)), totals=ds.totals(),
        account=data_account.to_dict(data_account.account(ds, cfg)),
        named=[i.to_dict() for i in data_account.examples(ds)])


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
    summary = dataset_summary(ds, split, config.data, spec.output_length)
    return Prepared(ds, split, spec, normalizer, X, summary, fingerprint(ds, config.data))
