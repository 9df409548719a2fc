"""Reading landmark recordings from disk into one SequenceDataset."""

from __future__ import annotations

from pathlib import Path

from signtrain.config import DataConfig
from signtrain.data.assemble import assemble, vector_length_histogram
from signtrain.data.dataset import DEFECT_KINDS, Issue, SequenceDataset
from signtrain.data.mpdata import read_entries, scan_tree
from signtrain.errors import DataError
from signtrain.layouts import describe

__all__ = ["DEFECT_KINDS", "Issue", "SequenceDataset", "load_dataset"]


def load_dataset(cfg: DataConfig, strict: bool = True) -> SequenceDataset:
    """Read the tree at cfg.path.

    strict: the frame length must match data.features_per_frame (training and
    evaluation); otherwise the tree's own most common length is used and a
    mismatch becomes an issue in the dataset (validation).
    """
    root = Path(cfg.path)
    scan = scan_tree(root, cfg.signs)
    if not scan.entries:
        raise DataError(f"{root}: no sequences found; expected ROOT/<sign>/<sequence>/<frame>.npy "
                        "or ROOT/<sign>/<id>.npy")
    raws = read_entries(scan.entries, cfg.workers)
    histogram = vector_length_histogram(raws)
    if not histogram:
        raise DataError(f"{root}: no readable frame in {len(raws)} sequences; every file is corrupt")
    modal = histogram.most_common(1)[0][0]
    width = cfg.features_per_frame or modal
    if cfg.features_per_frame and modal != cfg.features_per_frame:
        if strict:
            raise DataError(
                f"{root}: frames hold {describe(modal)} values but data.features_per_frame is "
                f"{cfg.features_per_frame}; set --set data.features_per_frame={modal} (or null to detect)")
        scan.issues.append(Issue("error", "layout_mismatch", str(root),
                                 f"frames hold {modal} values, the config says data.features_per_frame="
                                 f"{cfg.features_per_frame}"))
        width = modal
    dataset = assemble(raws, [e.sign for e in scan.entries], [e.source for e in scan.entries],
                       scan.labels, width, cfg, scan.issues)
    if len(dataset) == 0:
        raise DataError(f"{root}: no usable sequence after the frame policies; run signtrain validate-data {root}")
    dataset.vector_lengths = histogram
    dataset.root = str(root)
    dataset.format = "mp_data"
    return dataset
