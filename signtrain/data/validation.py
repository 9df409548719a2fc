"""SequenceDataset -> DataReport: what is in the data and what is wrong with it (never prints)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from signtrain.config import Config
from signtrain.data import account as data_account
from signtrain.data.dataset import Issue, SequenceDataset
from signtrain.layouts import KNOWN_LENGTHS, detect_layout

IMBALANCE_WARNING = 3.0  # largest / smallest sign above this is worth a warning

@dataclass
class DataReport:
    summary: dict[str, Any]
    per_sign: list[dict[str, Any]]
    issues: list[Issue] = field(default_factory=list)   # the first examples of each kind
    feature_histogram: dict[int, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> exact count
    account: dict[str, dict] = field(default_factory=dict)
    refusal: Optional[str] = None                      # why train would stop on this data

    def count(self, kind: str) -> int:
        return self.counts.get(kind, sum(i.kind == kind for i in self.issues))

    def _levelled(self, level: str) -> int:
        kinds = {i.kind for i in self.issues if i.level == level}
        return sum(self.count(kind) for kind in kinds)

    @property
    def errors(self) -> int:
        return self._levelled("error")

    @property
    def warnings(self) -> int:
        return self._levelled("warning")

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
            "issue_counts": {kind: self.count(kind) for kind in dict.fromkeys(i.kind for i in self.issues)},
            "account": self.account,
            "refusal": self.refusal,
        }


def _hand_absent(ds: SequenceDataset) -> dict[str, np.ndarray]:
    layout = detect_layout(ds.feature_length)
    if layout is None:
        return {}
    return {hand.name: ~ds.X[:, :, hand.start:hand.stop].any(axis=(1, 2)) for hand in layout.hands}


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

    issues = list(ds.issues) + _split_issues(ds.labels, counts, config)
    issues += [Issue("warning", "length_fit", ds.root, text) for text in data_account.length_warnings(ds, config.data)]
    if len(ds.labels) < 2:
        issues.append(Issue("error", "one_sign", ds.root, f"only one sign ({', '.join(ds.labels)}): a classifier "
                                                          f"needs at least two; add recordings of other signs"))
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
        "duplicates": ds.issue_count("duplicate"),
        **{k: v for k, v in totals.items()},
        "hand_absent": {hand: int(absent.sum()) for hand, absent in hands.items()},
    }
    counts = {**ds.issue_counts}
    for issue in issues:
        if issue.kind not in ds.issue_counts:
            counts[issue.kind] = counts.get(issue.kind, 0) + 1
    report = DataReport(summary, per_sign, issues, dict(ds.vector_lengths), counts,
                        data_account.to_dict(data_account.account(ds, config.data)),
                        data_account.refusal(ds, config.data))
    summary["errors"], summary["warnings"] = report.errors, report.warnings
    return report
