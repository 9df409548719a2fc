"""Which sequences a run held out, rebuilt from its metadata; and another tree mapped onto a
model's signs.  Used by evaluate (the figures train printed) and export (parity on real data)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from signtrain.config import replace
from signtrain.data import SequenceDataset, fingerprint, load_dataset
from signtrain.data import account as data_account
from signtrain.errors import DataError
from signtrain.layouts import describe
from signtrain.store.metadata import RunMetadata


def training_split(meta: RunMetadata, split: str, use_cache: bool = True) -> tuple[SequenceDataset, list[str]]:
    """The run's own data, and of it the split asked for (test = exactly the sequences train tested on)."""
    config = replace(meta.config, data={"path": meta.data_path, "cache": use_cache and meta.config.data.cache})
    if not meta.data_path or not Path(meta.data_path).exists():
        raise DataError(f"the training data {meta.data_path or '(not recorded)'} is gone; pass --data PATH to "
                        f"evaluate on a tree")
    ds = load_dataset(config.data)
    notes = []
    if fingerprint(ds, config.data) != meta.fingerprint:
        notes.append(f"{ds.root} changed since training: the recorded split is rebuilt from the sequences "
                     f"still there")
    if split == "all":
        return ds, notes
    sources = ds.relative_sources()
    where = {source: i for i, source in enumerate(sources)}
    if split == "train":
        held = set(meta.test_sources) | set(meta.val_sources)
        wanted = [s for s in sources if s not in held]
    else:
        wanted = list(meta.test_sources if split == "test" else meta.val_sources)
    missing = [s for s in wanted if s not in where]
    if missing:
        raise DataError(f"{len(missing)} of the {len(wanted)} {split} sequences recorded at training are no longer "
                        f"readable under {ds.root} (first: {missing[0]}); pass --data PATH to evaluate another tree")
    if not wanted:
        raise DataError(f"the model's {split} split is empty (split.{split}_fraction was 0); use --split all")
    return ds.subset(np.array([where[s] for s in wanted])), notes


def other_tree(meta: RunMetadata, path: str, use_cache: bool = True) -> tuple[SequenceDataset, list[str]]:
    """A tree given with --data: check it fits the model, then map its signs to the model's."""
    config = replace(meta.config, data={"path": path, "features_per_frame": None, "signs": None, "format": "auto",
                                        "cache": use_cache and meta.config.data.cache})
    ds = load_dataset(config.data)
    if ds.feature_length != meta.feature_length:
        raise DataError(f"{path}: frames hold {describe(ds.feature_length)} values, but the model was trained on "
                        f"{describe(meta.feature_length)}; evaluate it on data of the same layout")
    labels = list(meta.labels)
    unknown = [s for s in ds.labels if s not in labels]
    if unknown:
        raise DataError(f"{path}: sign(s) the model never learned: {', '.join(unknown[:5])}"
                        + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                        + f"; it knows {len(labels)} signs (see {meta.path})")
    remap = np.array([labels.index(s) for s in ds.labels])
    ds.y = remap[ds.y].astype(np.int32)
    ds.labels = labels
    notes = [f"{e.count:,} {e.what}: {e.action}" for e in data_account.account(ds, config.data)
             if e.kind not in ("padded_frames", "truncated_frames")]
    padded, truncated = int(ds.defect("padded_frames").sum()), int(ds.defect("truncated_frames").sum())
    if padded or truncated:
        fitted = int(((ds.defect("padded_frames") > 0) | (ds.defect("truncated_frames") > 0)).sum())
        notes.append(f"{fitted} of {len(ds)} sequences did not have the model's {meta.sequence_length} frames: "
                     f"{padded} frames padded, {truncated} truncated")
    return ds, notes


def held_out(meta: RunMetadata, data: Optional[str], limit: int, prefer: str = "test") -> tuple[SequenceDataset, str]:
    """Up to `limit` real sequences the model did not train on (or, prefer='train', did), spread evenly."""
    if data is not None:
        ds, split = other_tree(meta, data)[0], "all"
    else:
        split = prefer
        if prefer == "test" and not meta.test_sources:
            split = "val" if meta.val_sources else "all"
        ds = training_split(meta, split)[0]
    if len(ds) > limit:
        ds = ds.subset(np.linspace(0, len(ds) - 1, limit).round().astype(int))
    return ds, split
