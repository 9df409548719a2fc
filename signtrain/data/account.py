"""One account of a tree's defects and what the data.* policies did about each, shared by every
command that reads recordings (validate-data, train, evaluate --data, convert, predict): the
same counts, the same names, the same refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from signtrain.config import DataConfig
from signtrain.data.dataset import SequenceDataset
from signtrain.errors import DataError

NAMED = 3  # files named in a refusal; the rest are counted


@dataclass(frozen=True)
class Entry:
    kind: str
    count: int
    unit: str       # frames | recordings | files | signs
    action: str     # what was done about it

    what: str = ""  # the kind in words

    def to_dict(self) -> dict:
        return {"count": self.count, "unit": self.unit, "what": self.what, "action": self.action}


def _frames(cfg: DataConfig) -> dict[str, tuple[str, str]]:
    """Frame-level defect columns -> (what, action under the config's policies)."""
    bad = {"error": "stops: fix them, or choose data.bad_frame", "zero": "zero-filled (data.bad_frame: zero)",
           "skip": "left out (data.bad_frame: skip)",
           "drop_sequence": "their recordings left out (data.bad_frame: drop_sequence)"}[cfg.bad_frame]
    return {
        "corrupt_frames": ("unreadable frame files", bad),
        "bad_length_frames": ("frames of another length", bad),
        "nonfinite_frames": ("frames with NaN/inf or values beyond float32",
                             "replaced by 0 (data.nan_to_zero)" if cfg.nan_to_zero
                             else "stops: fix them, or set data.nan_to_zero: true"),
        "missing_frames": ("frame numbers absent", "zero-filled (data.missing_frame: zero)"
                           if cfg.missing_frame == "zero" else "closed up (data.missing_frame: skip)"),
        "zero_frames": ("all-zero frames (nothing detected)", "masked" if cfg.zero_frame == "keep"
                        else "left out (data.zero_frame: drop)"),
        "nan_missing_frames": ("frames with landmarks not detected (NaN)", "those landmarks set to 0"),
        "padded_vectors": ("short rows (a hand not detected)", "padded with 0"),
        "dropped_rows": ("parquet rows that name no landmark (unknown type or landmark_index out of range)",
                         "left out"),
        "padded_frames": ("frames of padding", f"added to reach data.sequence_length={cfg.sequence_length}"),
        "truncated_frames": ("frames cut", f"beyond data.sequence_length={cfg.sequence_length} ({cfg.truncate})"),
    }


_RECORDINGS = {
    "unreadable_file": ("unreadable recording files", "bad_frame"),
    "dropped_sequence": ("recordings left out for a bad frame", "left out (data.bad_frame: drop_sequence)"),
    "empty_sequence": ("recordings with no usable frame", "left out"),
    "duplicate": ("byte-identical duplicate recordings", "kept: they leak between train and test"),
    "sparse_numbering": ("recordings numbered like timestamps", "frames kept in order, gaps not filled"),
    "stray_file": ("stray files", "ignored"),
    "empty_sign": ("empty sign folders", "left out"),
}


def account(ds: SequenceDataset, cfg: DataConfig) -> list[Entry]:
    """Every defect kind present, with its count and what was done."""
    totals = ds.totals()
    entries = [Entry(kind, totals[kind], "rows" if kind == "dropped_rows" else "frames", action, what)
               for kind, (what, action) in _frames(cfg).items() if totals.get(kind)]
    for kind, (what, action) in _RECORDINGS.items():
        count = ds.issue_count(kind)
        if kind == "unreadable_file":
            action = "stops: fix them, or choose data.bad_frame" if cfg.bad_frame == "error" else "left out"
        if count:
            entries.append(Entry(kind, count, "files" if kind == "stray_file" else "recordings", action, what))
    return entries


def examples(ds: SequenceDataset, per_kind: int = NAMED) -> list:
    """The first few files whose data was changed or left out by a policy, by name."""
    kinds = ("unreadable_file", "unreadable_frame", "wrong_length", "nonfinite")
    return [i for kind in kinds for i in [x for x in ds.issues if x.kind == kind][:per_kind]]


TRUNCATED_SHARE = 0.10  # of all real frames
PADDED_SHARE = 0.5      # of the model's input


def length_warnings(ds: SequenceDataset, cfg: DataConfig) -> list[str]:
    """When data.sequence_length fits the recordings badly: many frames cut, or mostly padding."""
    import numpy as np

    warnings = []
    frames = int(ds.lengths.sum())
    truncated, padded = int(ds.defect("truncated_frames").sum()), int(ds.defect("padded_frames").sum())
    if frames and truncated > TRUNCATED_SHARE * frames:
        warnings.append(f"{truncated:,} of {frames:,} frames ({truncated / frames:.0%}) are cut at "
                        f"data.sequence_length={cfg.sequence_length} (the longest recording has "
                        f"{int(ds.lengths.max())}); raise data.sequence_length or set data.resample: true")
    slots = len(ds) * cfg.sequence_length
    if slots and padded > PADDED_SHARE * slots:
        warnings.append(f"{padded / slots:.0%} of the model's input is padding (recordings have a median of "
                        f"{np.median(ds.lengths):g} frames, data.sequence_length={cfg.sequence_length}); lower "
                        f"data.sequence_length or set data.resample: true")
    return warnings


def describe(kind: str, cfg: DataConfig) -> str:
    frames = _frames(cfg)
    return frames[kind][0] if kind in frames else _RECORDINGS.get(kind, (kind.replace("_", " "),))[0]


def to_dict(entries: list[Entry]) -> dict:
    return {e.kind: e.to_dict() for e in entries}


def _named(issues: list, counts: dict, kinds: tuple[str, ...]) -> tuple[str, int]:
    found = [i for i in issues if i.kind in kinds]
    total = sum(counts.get(k, 0) for k in kinds)
    names = "; ".join(f"{i.path}: {i.message}" for i in found[:NAMED])
    more = total - min(len(found), NAMED)
    return names + (f"; and {more} more" if more > 0 else ""), total


def refusal_of(root: str, issues: list, counts: dict, cfg: DataConfig) -> Optional[str]:
    """Why the data.* policies refuse data with these issues (exact counts per kind), first files named."""
    if cfg.bad_frame == "error":
        names, total = _named(issues, counts, ("unreadable_frame", "wrong_length", "unreadable_file"))
        if total:
            return (f"{root}: {total} frame or recording file(s) cannot be used (data.bad_frame: error): {names}. "
                    f"Fix or remove them, or set data.bad_frame to drop_sequence (or skip, zero) to go on without "
                    f"them; signtrain validate-data lists every one")
    if not cfg.nan_to_zero and counts.get("nonfinite"):
        names, total = _named(issues, counts, ("nonfinite",))
        return (f"{root}: {total} frame(s) hold NaN/inf or values beyond float32: {names}. Fix them, or set "
                f"data.nan_to_zero: true to replace them by 0 (as configs/optimized.yaml does)")
    return None


def refusal(ds: SequenceDataset, cfg: DataConfig) -> Optional[str]:
    counts = {kind: ds.issue_count(kind) for kind in ("unreadable_frame", "wrong_length", "unreadable_file",
                                                        "nonfinite")}
    return refusal_of(ds.root, ds.issues, counts, cfg)


def enforce(ds: SequenceDataset, cfg: DataConfig) -> None:
    reason = refusal(ds, cfg)
    if reason:
        raise DataError(reason)
