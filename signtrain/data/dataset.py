"""The one in-memory form every reader produces, and the record of what was wrong on disk."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

# Per-sequence defect counters, one column each in SequenceDataset.defects.
DEFECT_KINDS = (
    "missing_frames",     # frame numbers absent from the sequence
    "zero_frames",        # all-zero vectors: nothing detected in that frame
    "bad_length_frames",  # a vector of another length than the tree's
    "corrupt_frames",     # unreadable frame files (the reason is in the issues)
    "nonfinite_frames",   # frames holding NaN or inf
    "nan_missing_frames", # parquet frames whose NaN landmarks (= not detected) became 0
    "padded_vectors",     # CSV rows shorter than the header, padded with 0 (a hand not detected)
    "dropped_rows",       # parquet rows no landmark can be (unknown type, landmark_index out of range)
    "dropped_frames",     # frames removed by a policy (skip/drop)
    "padded_frames",      # frames added at the end to reach sequence_length
    "truncated_frames",   # frames cut to fit sequence_length
)


def content_digest(block: Optional[np.ndarray], vectors: list) -> str:
    """Hash of the decoded frames: equal for byte-identical recordings."""
    digest = hashlib.blake2b(digest_size=16)
    if block is not None:
        digest.update(np.ascontiguousarray(block).tobytes())
    else:
        for vector in vectors:
            digest.update(b"-" if vector is None else vector.tobytes())
    return digest.hexdigest()


@dataclass
class RawSequence:
    """What was on disk for one sequence, before any policy is applied."""

    indices: np.ndarray                     # frame numbers present, ascending (their ORDER; gaps = missing)
    vectors: list                           # one per index, None = unreadable; empty when block is set
    block: Optional[np.ndarray] = None      # [n, L] when every frame decoded in one piece
    digest: str = ""
    error: str = ""                          # a whole-recording problem: why the file cannot be read
    nan_missing_frames: int = 0
    padded_vectors: int = 0
    dropped_rows: int = 0                    # parquet rows that name no landmark (left out, counted)
    problems: dict = field(default_factory=dict)      # position -> why that frame could not be read
    beyond_float32: frozenset = frozenset()          # positions whose values do not fit a float32
    frame_files: Optional[list] = None       # MP_Data: [(number, path)], to name a frame by its file
    source: str = ""
    row_offset: int = 0                      # CSV: rows before the first frame (the header)

    def label(self, position: int) -> str:
        """Where frame `position` lives: its own file, or its place in the recording's file."""
        if self.frame_files is not None:
            return self.frame_files[position][1]
        what = "row" if self.row_offset or self.source.endswith(".csv") else "frame"
        return f"{self.source} ({what} {position + 1 + self.row_offset})"


def failed(reason: str) -> RawSequence:
    """A recording that could not be read at all, with the reason."""
    return RawSequence(np.zeros(0, np.int64), [], error=reason)


@dataclass
class RawTree:
    """Every reader's output: the sequences of a tree, their signs and where they came from."""

    format: str
    labels: list[str]
    signs: list[int]
    sources: list[str]
    raws: list[RawSequence]
    issues: list["Issue"]
    groups: Optional[list[str]] = None      # signer / participant per sequence, when the format has it


@dataclass(frozen=True)
class Issue:
    level: str  # "error" | "warning" | "info"
    kind: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "kind": self.kind, "path": self.path, "message": self.message}


@dataclass
class SequenceDataset:
    """X[i, :lengths[i]] holds real frames; the rest is zero padding."""

    X: np.ndarray             # float32 [N, T, F]
    lengths: np.ndarray       # int32 [N]: frames kept, before padding or truncation
    y: np.ndarray             # int32 [N]: index into labels
    labels: list[str]         # sorted (or as listed in data.signs)
    sources: list[str]        # one path per sequence
    feature_length: int
    defects: np.ndarray       # int32 [N, len(DEFECT_KINDS)]
    digests: list[str] = field(default_factory=list)  # content hash per sequence (duplicates)
    issues: list[Issue] = field(default_factory=list)
    vector_lengths: Counter = field(default_factory=Counter)  # frame-vector length histogram
    format: str = "mp_data"
    root: str = ""
    groups: Optional[list[str]] = None  # signer per sequence (ISLR participant_id), for grouped splits
    from_cache: bool = False            # loaded from the consolidated cache, not the files
    issue_counts: dict = field(default_factory=dict)  # kind -> exact count (issues keeps the first examples)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def sequence_length(self) -> int:
        return int(self.X.shape[1])

    def relative_sources(self) -> list[str]:
        """Sources relative to the data root, in POSIX form: stable across working directories."""
        return [Path(os.path.relpath(s, self.root)).as_posix() if self.root else s for s in self.sources]

    def defect(self, kind: str) -> np.ndarray:
        return self.defects[:, DEFECT_KINDS.index(kind)]

    def totals(self) -> dict[str, int]:
        return {kind: int(self.defects[:, i].sum()) for i, kind in enumerate(DEFECT_KINDS)}

    def subset(self, index: np.ndarray) -> "SequenceDataset":
        index = np.asarray(index, dtype=np.int64)
        return SequenceDataset(
            X=self.X[index], lengths=self.lengths[index], y=self.y[index], labels=self.labels,
            sources=[self.sources[i] for i in index], feature_length=self.feature_length,
            defects=self.defects[index],
            digests=[self.digests[i] for i in index] if self.digests else [],
            issues=self.issues, vector_lengths=self.vector_lengths, format=self.format, root=self.root,
            groups=[self.groups[i] for i in index] if self.groups else None, issue_counts=self.issue_counts,
        )

    def issue_count(self, kind: str) -> int:
        return int(self.issue_counts.get(kind, sum(i.kind == kind for i in self.issues)))
