"""Reading landmark recordings from disk, in any supported format, into one SequenceDataset."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np

from signtrain import names
from signtrain.config import DataConfig
from signtrain.data import account, cache
from signtrain.data.assemble import IssueLog, assemble, sequence_frames, vector_length_histogram
from signtrain.data.dataset import DEFECT_KINDS, Issue, RawTree, SequenceDataset
from signtrain.errors import DataError
from signtrain.layouts import describe
from signtrain.registry import READERS, reader_named

__all__ = ["DEFECT_KINDS", "Issue", "SequenceDataset", "detect_format", "fingerprint", "load_dataset", "read_raw",
           "reader_settings", "usable_sequences"]

# keys that do not change what is read (so do not change the cache key)
_NOT_READER = ("path", "workers", "cache", "cache_dir", "cache_check", "stream")


def detect_format(root: Path, setting: str) -> str:
    """data.format (auto: the first reader of the registry's table that recognises the path) -> a reader name."""
    if setting != "auto":
        return reader_named(setting).name
    return next(r.name for r in READERS.values() if r.load().detect(root))


def reader_settings(cfg: DataConfig) -> dict:
    return {k: v for k, v in asdict(cfg).items() if k not in _NOT_READER}


def fingerprint(ds: SequenceDataset, cfg: DataConfig) -> str:
    """Changes when any sequence's content, the set of sequences or the reader settings change
    (not with the cache or worker settings, which change nothing that is read)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(reader_settings(cfg), sort_keys=True).encode())
    for source, digest in zip(ds.relative_sources(), ds.digests):
        h.update(f"{source}\0{digest}\n".encode())
    return h.hexdigest()


def read_raw(cfg: DataConfig) -> RawTree:
    """The tree as it is on disk, in its own format, before policies and padding."""
    root = Path(cfg.path)
    if not root.exists():
        raise DataError(f"data folder not found: {root} (set data.path in the config or pass --data PATH)")
    return READERS[detect_format(root, cfg.format)].load().read(root, cfg)


def _width_histogram(tree: RawTree, root: Path) -> Counter:
    histogram = vector_length_histogram(tree.raws)
    if not histogram:
        reasons = [f"{src}: {raw.error}" for raw, src in zip(tree.raws, tree.sources) if raw.error]
        reasons += [f"{raw.label(k)}: {why}" for raw in tree.raws for k, why in list(raw.problems.items())[:1]]
        raise DataError(f"{root}: no readable frame in {len(tree.raws)} recordings ({'; '.join(reasons[:3])}"
                        f"{'; …' if len(reasons) > 3 else ''}); fix the files or point data.path elsewhere")
    return histogram


def check_labels(labels: list[str], root: Path, strict: bool, issues: list[Issue]) -> None:
    """Sign names become labels (one a line in labels.txt) and folder names: each must be a plain name
    (names.problem).  strict: the first bad one stops the command; otherwise each is an error issue."""
    for label in labels:
        why = names.problem(label)
        if why is None:
            continue
        message = (f"the sign name {label!r} cannot be a folder name or a label ({why}); rename that sign "
                   f"folder (or its entries in train.csv) to a plain name")
        if strict:
            raise DataError(f"{root}: {message}")
        issues.append(Issue("error", "bad_name", str(root / label) if "/" not in label else str(root), message))


def check_signal(has_signal: bool, root: Path, strict: bool, issues: list[Issue]) -> None:
    """A tree whose every frame is all-zero (nothing detected anywhere) trains a chance-level model: an
    error, not a warning."""
    if has_signal or any(i.kind == "no_signal" for i in issues):
        return
    message = ("every frame of every recording is all-zero (nothing was detected in any of them); a model cannot "
               "learn from it: check the extraction (signtrain extract reports detections per body part)")
    if strict:
        raise DataError(f"{root}: {message}")
    issues.append(Issue("error", "no_signal", str(root), message))


def load_dataset(cfg: DataConfig, strict: bool = True) -> SequenceDataset:
    """Read the tree at cfg.path (through the cache when data.cache is on).

    strict: the frame length must match data.features_per_frame, and the data.* policies
    refuse what they are set to refuse (training, evaluation); otherwise the tree's own most
    common length is used and every problem stays an issue in the dataset (validation).
    """
    root = Path(cfg.path)
    settings = reader_settings(cfg)
    fingerprint = cache.tree_fingerprint(root, cfg.cache_check) if cfg.cache and root.is_dir() else ""
    if fingerprint:
        cached = cache.load(root, settings, cfg.cache_dir, fingerprint)
        if cached is not None:
            check_labels(cached.labels, root, strict, cached.issues)
            _check_width(cached.feature_length, cfg, root, strict, cached.issues)
            check_signal(not len(cached) or bool(np.any(cached.X)), root, strict, cached.issues)
            if strict:
                account.enforce(cached, cfg)
            return cached
    tree = read_raw(cfg)
    if not tree.raws:
        raise DataError(f"{root}: no sequences found; expected ROOT/<sign>/<sequence>/<frame>.npy, "
                        "ROOT/<sign>/<id>.npy or .csv, or an ISLR train.csv with parquet files")
    check_labels(tree.labels, root, strict, tree.issues)
    histogram = _width_histogram(tree, root)
    modal = histogram.most_common(1)[0][0]
    width = _check_width(modal, cfg, root, strict, tree.issues)
    dataset = assemble(tree.raws, tree.signs, tree.sources, tree.labels, width, cfg, tree.issues,
                       groups=tree.groups)
    dataset.vector_lengths = histogram
    dataset.root = str(root)
    dataset.format = tree.format
    if strict:
        account.enforce(dataset, cfg)
    if len(dataset) == 0:
        raise DataError(f"{root}: no usable sequence after the frame policies; run signtrain validate-data {root}")
    check_signal(bool(np.any(dataset.X)), root, strict, dataset.issues)
    if fingerprint and not any(i.kind == "layout_mismatch" for i in dataset.issues):
        cache.store(root, settings, cfg.cache_dir, fingerprint, dataset)
    return dataset


def _check_width(modal: int, cfg: DataConfig, root: Path, strict: bool, issues: list[Issue]) -> int:
    if not cfg.features_per_frame or modal == cfg.features_per_frame:
        return modal
    if strict:
        raise DataError(
            f"{root}: frames hold {describe(modal)} values but data.features_per_frame is "
            f"{cfg.features_per_frame}; set --set data.features_per_frame={modal} (or null to detect)")
    issues.append(Issue("error", "layout_mismatch", str(root),
                        f"frames hold {modal} values, the config says data.features_per_frame="
                        f"{cfg.features_per_frame}"))
    return modal


def usable_sequences(cfg: DataConfig) -> tuple[RawTree, list[tuple[int, str, np.ndarray]], SequenceDataset]:
    """Every sequence after the frame policies, at its own length (for convert), and the account of
    the tree (a SequenceDataset without frames) under the same policies."""
    tree = read_raw(cfg)
    root = Path(cfg.path)
    if not tree.raws:
        raise DataError(f"{root}: no sequences found")
    check_labels(tree.labels, root, True, tree.issues)
    histogram = _width_histogram(tree, root)
    width = _check_width(histogram.most_common(1)[0][0], cfg, root, True, tree.issues)
    log = IssueLog(tree.issues)
    out, defects, digests = [], [], []
    for raw, sign, source in zip(tree.raws, tree.signs, tree.sources):
        frames, counts = sequence_frames(raw, source, width, cfg, log)
        if frames is not None:
            out.append((sign, source, frames))
            defects.append(counts)
            digests.append(raw.digest)
    check_signal(not out or any(np.any(frames) for _, _, frames in out), root, True, tree.issues)
    summary = SequenceDataset(X=np.zeros((len(out), 0, width), np.float32), lengths=np.array(
        [len(f) for _, _, f in out], np.int32), y=np.array([s for s, _, _ in out], np.int32), labels=tree.labels,
        sources=[src for _, src, _ in out], feature_length=width,
        defects=np.stack(defects) if defects else np.zeros((0, len(DEFECT_KINDS)), np.int32),
        issues=log.items, issue_counts=dict(log.counts), format=tree.format, root=str(root), digests=digests)
    account.enforce(summary, cfg)
    return tree, out, summary
