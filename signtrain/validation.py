"""SequenceDataset -> DataReport: what is in the data and what is wrong with it (never prints)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from signtrain.config import Config
from signtrain.data.dataset import Issue, SequenceDataset
from signtrain.layouts import KNOWN_LENGTHS, detect_layout

IMBALANCE_WARNING = 3.0  # largest / smallest sign above this is worth a warning

# Frame defects that make a sequence's data wrong (errors) or merely imperfect (warnings).
_FRAME_ISSUES = (
    ("corrupt_frames", "error", "corrupt_frames", "unreadable or non-numeric frame file(s)"),
    ("bad_length_frames", "error", "wrong_length", "frame(s) of another length than the tree's"),
    ("missing_frames", "warning", "missing_frames", "frame number(s) absent"),
)


@dataclass
class DataReport:
    summary: dict[str, Any]
    per_sign: list[dict[str, Any]]
    issues: list[Issue] = field(default_factory=list)
    feature_histogram: dict[int, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(i.level == "error" for i in self.issues)

    @property
    def warnings(self) -> int:
        return sum(i.level == "warning" for i in self.issues)

    def exit_code(self, strict: bool = False) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0

    def verdict(self) -> str:
        if not self.errors and not self.warnings:
            return "OK"
        return f"{self.errors} error{'s' * (self.errors != 1)}, {self.warnings} warning{'s' * (self.warnings != 1)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "per_sign": self.per_sign,
            "feature_histogram": {str(k): v for k, v in sorted(self.feature_histogram.items())},
            "issues": [i.to_dict() for i in self.issues],
        }


def _hand_absent(ds: SequenceDataset) -> dict[str, np.ndarray]:
    layout = detect_layout(ds.feature_length)
    if layout is None:
        return {}
    return {hand.name: ~ds.X[:, :, hand.start:hand.stop].any(axis=(1, 2)) for hand in layout.hands}


def _frame_issues(ds: SequenceDataset, nan_to_zero: bool) -> list[Issue]:
    issues = []
    for column, level, kind, what in _FRAME_ISSUES:
        counts = ds.defect(column)
        for i in np.flatnonzero(counts):
            issues.append(Issue(level, kind, ds.sources[i], f"{counts[i]} {what}"))
    nonfinite = ds.defect("nonfinite_frames")
    for i in np.flatnonzero(nonfinite):
        level, action = ("warning", "replaced by 0") if nan_to_zero else (
            "error", "set data.nan_to_zero: true to replace them by 0")
        issues.append(Issue(level, "nonfinite", ds.sources[i], f"{nonfinite[i]} frame(s) hold NaN/inf; {action}"))
    return issues


def _duplicate_issues(ds: SequenceDataset) -> list[Issue]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, digest in enumerate(ds.digests):
        groups[digest].append(i)
    issues = []
    for members in groups.values():
        if len(members) > 1:
            first = ds.sources[members[0]]
            for other in members[1:]:
                issues.append(Issue("warning", "duplicate", ds.sources[other],
                                    f"byte-identical to {first}; it would leak between train and test"))
    return issues


def _split_issues(labels: list[str], counts: np.ndarray, config: Config) -> list[Issue]:
    issues = []
    test, val = config.split.test_fraction, config.split.validation_fraction
    for name, n in zip(labels, counts):
        if n < 3:
            issues.append(Issue("error", "too_small", name,
                                f"{n} sequence(s): at least 3 are needed for train, validation and test"))
        elif (test and math.floor(n * test) < 1) or (val and math.floor(n * (1 - test) * val) < 1):
            issues.append(Issue("warning", "too_small", name,
                                f"{n} sequences: too few for split.test_fraction={test} and "
                                f"split.validation_fraction={val} to hold one of each"))
    return issues


def build_report(ds: SequenceDataset, config: Config, config_features: Optional[int] = None) -> DataReport:
    """config_features: the frame length the user's config declares, to flag a mismatch (None: not checked)."""
    lengths = ds.lengths
    hands = _hand_absent(ds)
    per_sign = []
    counts = np.bincount(ds.y, minlength=len(ds.labels))
    for k, name in enumerate(ds.labels):
        rows = ds.y == k
        sign_lengths = lengths[rows]
        entry = {
            "name": name,
            "sequences": int(rows.sum()),
            "frames_min": int(sign_lengths.min()),
            "frames_median": float(np.median(sign_lengths)),
            "frames_max": int(sign_lengths.max()),
        }
        for column in ("missing_frames", "zero_frames", "padded_frames", "truncated_frames",
                       "corrupt_frames", "bad_length_frames", "nonfinite_frames"):
            entry[column] = int(ds.defect(column)[rows].sum())
        entry["hand_absent"] = {hand: int(absent[rows].sum()) for hand, absent in hands.items()}
        per_sign.append(entry)

    issues = list(ds.issues) + _frame_issues(ds, config.data.nan_to_zero)
    issues += _duplicate_issues(ds) + _split_issues(ds.labels, counts, config)
    layout = detect_layout(ds.feature_length)
    if layout is None:
        issues.append(Issue("warning", "unknown_layout", ds.root,
                            f"{ds.feature_length} values per frame is not a known layout ({KNOWN_LENGTHS})"))
    if config_features and config_features != ds.feature_length and not any(
            i.kind == "layout_mismatch" for i in issues):
        issues.append(Issue("error", "layout_mismatch", ds.root,
                            f"frames hold {ds.feature_length} values, the config says "
                            f"data.features_per_frame={config_features}"))
    imbalance = float(counts.max() / counts.min()) if counts.min() else math.inf
    if imbalance > IMBALANCE_WARNING:
        issues.append(Issue("warning", "imbalance", ds.root,
                            f"the largest sign has {imbalance:.1f}x the sequences of the smallest"))
    order = {"error": 0, "warning": 1, "info": 2}
    issues.sort(key=lambda i: order[i.level])

    totals = ds.totals()
    summary = {
        "path": ds.root,
        "format": ds.format,
        "from_cache": ds.from_cache,
        "signs": len(ds.labels),
        "sequences": len(ds),
        "frames_min": int(lengths.min()),
        "frames_median": float(np.median(lengths)),
        "frames_max": int(lengths.max()),
        "frames_total": int(lengths.sum()),
        "sequence_length": ds.sequence_length,
        "feature_length": ds.feature_length,
        "layout": layout.name if layout else "unknown",
        "body_parts": [p.name for p in layout.parts] if layout else [],
        "imbalance_ratio": round(imbalance, 3) if math.isfinite(imbalance) else None,
        "duplicates": sum(i.kind == "duplicate" for i in issues),
        **{k: v for k, v in totals.items()},
        "hand_absent": {hand: int(absent.sum()) for hand, absent in hands.items()},
        "errors": sum(i.level == "error" for i in issues),
        "warnings": sum(i.level == "warning" for i in issues),
    }
    return DataReport(summary, per_sign, issues, dict(ds.vector_lengths))
