"""Signing as people sign, measured: sentences built from a run's held-out recordings (never trained
on), streamed through the live path, scored as a user would judge them.

A sentence is 3-5 recordings in a row with a pause between them - the signer holding still (the
edge frame repeated), nothing detected (all-zero frames), or no pause at all - after a short rest,
and followed by a 3 s rest.  Some sentences repeat a sign on purpose (the same sign twice with a
pause between).  Reported per pause kind and length: word error rate (edit distance / words),
sentence accuracy, repeated signs, missed signs, false emissions during the final rest, and the
delay from a sign's last frame to its emission - and, beside the WER, the share of the same words
whose recording the model misreads even alone: the part of the error that is the model's, not the
live path's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from signtrain.data.assemble import to_length
from signtrain.deploy.live import DEFAULT_FPS, Emission, LiveSettings, recognise

PAUSE_SECONDS = (0.2, 0.5, 1.0, 1.5)
KINDS = ("still", "nothing", "none")
REST_SECONDS = 3.0
LEAD_SECONDS = 0.5


@dataclass
class Sentence:
    frames: np.ndarray
    words: list[str]
    ends: list[int]          # the last frame of each sign
    rest_from: int           # the final rest starts here
    repeat: bool = False     # holds a sign signed twice on purpose
    recordings: list[int] = field(default_factory=list)   # which recording each sign is, in order
    starts: list[int] = field(default_factory=list)       # the first frame of each sign


def _pause(edge: np.ndarray, frames: int, kind: str) -> np.ndarray:
    if kind == "nothing":
        return np.zeros((frames, len(edge)), np.float32)
    return np.repeat(edge[None], frames, axis=0)


def build(recordings: list[tuple[str, np.ndarray]], rng: np.random.Generator, pause: int, kind: str,
          repeat: bool = False, fps: float = DEFAULT_FPS) -> Sentence:
    """One sentence of 3-5 recordings (drawn without replacement; with repeat, one sign's recording
    drawn twice in a row)."""
    n = int(rng.integers(3, 6))
    picks = list(rng.choice(len(recordings), size=min(n, len(recordings)), replace=False))
    if repeat:
        at = int(rng.integers(0, len(picks)))
        same = [i for i, (word, _) in enumerate(recordings) if word == recordings[picks[at]][0] and i != picks[at]]
        picks.insert(at + 1, int(rng.choice(same)) if same else picks[at])
    parts, words, starts, ends, length = [], [], [], [], 0
    still_kind = "still" if kind == "none" else kind
    first = recordings[picks[0]][1]
    parts.append(_pause(first[0], round(LEAD_SECONDS * fps), still_kind))
    length += len(parts[-1])
    for k, i in enumerate(picks):
        word, frames = recordings[i]
        if k and kind != "none":
            parts.append(_pause(parts[-1][-1] if kind == "still" else frames[0], pause, kind))
            length += pause
        parts.append(np.asarray(frames, np.float32))
        starts.append(length)
        length += len(frames)
        words.append(word)
        ends.append(length - 1)
    parts.append(_pause(parts[-1][-1], round(REST_SECONDS * fps), still_kind))
    return Sentence(np.concatenate(parts), words, ends, ends[-1] + 1, repeat, [int(i) for i in picks], starts)


def align(reference: list[str], said: list[str], starts: Optional[Sequence[float]] = None,
          frames: Optional[Sequence[float]] = None) -> list[tuple[Optional[int], Optional[int]]]:
    """Levenshtein alignment: (reference index or None, said index or None) pairs, in order.  Given when
    each sign began and each emission came, of the alignments with the fewest errors the one that pairs
    each sign with its earliest emission since it began: a sign said on time and again later was said
    on time, once too often (the delay is the first one's), and what was said before a sign began is
    not that sign's."""
    n, m = len(reference), len(said)
    timed = starts is not None and frames is not None
    # cost[i, j]: the best alignment of reference[:i] with said[:j] as (errors, matches said before their
    # sign began, frames from sign starts to the matched emissions), compared in that order
    cost = np.zeros((n + 1, m + 1, 3))
    cost[:, 0, 0], cost[0, :, 0] = np.arange(n + 1), np.arange(m + 1)

    def moves(i: int, j: int) -> list[tuple[tuple[float, ...], int, int]]:
        out = []
        if i and j:
            same = reference[i - 1] == said[j - 1]
            after = frames[j - 1] - starts[i - 1] if timed and same else 0.0
            e, early, late = cost[i - 1, j - 1]
            out.append(((e + (not same), early + (after < 0), late + max(after, 0.0)), i - 1, j - 1))
        if i:
            out.append(((cost[i - 1, j, 0] + 1, *cost[i - 1, j, 1:]), i - 1, j))
        if j:
            out.append(((cost[i, j - 1, 0] + 1, *cost[i, j - 1, 1:]), i, j - 1))
        return out

    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(moves(i, j))[0]
    pairs, i, j = [], n, m
    while i or j:
        _, pi, pj = min(moves(i, j))
        pairs.append((i - 1 if pi < i else None, j - 1 if pj < j else None))
        i, j = pi, pj
    return pairs[::-1]


@dataclass
class Row:
    kind: str
    pause_s: float
    sentences: int
    words: int
    errors: int = 0
    correct_sentences: int = 0
    repeated: int = 0          # a sign said again right after itself (not signed twice)
    missed: int = 0
    rest_emissions: int = 0    # sentences with any emission during the final 3 s rest
    repeats_asked: int = 0     # signs signed twice on purpose ...
    repeats_said: int = 0      # ... and said twice
    misread_alone: int = 0     # words whose recording the model misreads even on its own
    delays: list[float] = field(default_factory=list)

    @property
    def wer(self) -> float:
        return self.errors / max(self.words, 1)

    def to_dict(self) -> dict:
        delays = np.asarray(self.delays) if self.delays else np.zeros(1)
        return {**{k: v for k, v in asdict(self).items() if k != "delays"}, "wer": round(self.wer, 4),
                "wer_alone": round(self.misread_alone / max(self.words, 1), 4),
                "sentence_accuracy": round(self.correct_sentences / max(self.sentences, 1), 4),
                "rest_clean": round(1 - self.rest_emissions / max(self.sentences, 1), 4),
                "delay_median_s": round(float(np.median(delays)), 3), "delay_max_s": round(float(delays.max()), 3)}


def score(row: Row, sentence: Sentence, emissions: list[Emission], fps: float,
          alone: Optional[Sequence[bool]] = None) -> None:
    """Add one sentence to its row (`alone`: per recording, whether the model reads it right on its own)."""
    said = [e for e in emissions if e.frame < sentence.rest_from + round(0.5 * fps)]
    words = [e.sign for e in said]
    row.sentences += 1
    row.words += len(sentence.words)
    if alone is not None:
        row.misread_alone += sum(not alone[i] for i in sentence.recordings)
    pairs = align(sentence.words, words, sentence.starts or sentence.ends, [e.frame for e in said])
    errors = sum(1 for r, s in pairs if r is None or s is None or sentence.words[r] != words[s])
    row.errors += errors
    row.correct_sentences += errors == 0
    row.missed += sum(1 for r, s in pairs if s is None)
    row.repeated += sum(1 for r, s in pairs if r is None and words[s] in words[max(s - 1, 0):s] + words[s + 1:s + 2])
    row.rest_emissions += len(emissions) > len(said)
    for r, s in pairs:
        if r is not None and s is not None and sentence.words[r] == words[s]:
            row.delays.append((said[s].frame - sentence.ends[r]) / fps)
    if sentence.repeat:
        doubles = [k for k in range(1, len(sentence.words)) if sentence.words[k] == sentence.words[k - 1]]
        row.repeats_asked += len(doubles)
        row.repeats_said += sum(1 for k in doubles
                                if any(r == k and s is not None and words[s] == sentence.words[k] for r, s in pairs)
                                and any(r == k - 1 and s is not None and words[s] == sentence.words[k]
                                        for r, s in pairs))


@dataclass
class SentenceReport:
    model: str
    recordings: int
    fps: float
    settings: dict
    rows: list[Row]

    def to_dict(self) -> dict:
        return {"model": self.model, "recordings": self.recordings, "fps": self.fps, "settings": self.settings,
                "rows": [r.to_dict() for r in self.rows]}


Decode = Callable[[np.ndarray], list[Emission]]


def evaluate(decode: Decode, recordings: list[tuple[str, np.ndarray]], fps: float = DEFAULT_FPS,
             sentences: int = 20, seed: int = 0, kinds: tuple[str, ...] = KINDS,
             pauses: tuple[float, ...] = PAUSE_SECONDS, alone: Optional[Sequence[bool]] = None) -> list[Row]:
    """Each (kind, pause) row on the same seeded sentences; a quarter of them repeat a sign."""
    rows = []
    for kind in kinds:
        for pause_s in (pauses if kind != "none" else (0.0,)):
            rng = np.random.default_rng(seed)
            row = Row(kind, pause_s, 0, 0)
            for k in range(sentences):
                sentence = build(recordings, rng, round(pause_s * fps), kind, repeat=k % 4 == 3, fps=fps)
                score(row, sentence, decode(sentence.frames), fps, alone)
            rows.append(row)
    return rows


def held_out_recordings(meta, limit: int = 400) -> list[tuple[str, np.ndarray]]:
    """The run's held-out recordings (test split; validation where there is none) at their own length,
    through the readers and data.* policies it trained with."""
    from signtrain.config import replace
    from signtrain.data import usable_sequences
    from signtrain.errors import DataError

    if not meta.data_path or not Path(meta.data_path).exists():
        raise DataError(f"the training data {meta.data_path or '(not recorded)'} is gone: sentences are built from "
                        f"the run's held-out recordings")
    wanted = set(meta.test_sources or meta.val_sources)
    if not wanted:
        raise DataError(f"{meta.path}: the run held out no recordings (split.test_fraction was 0): no sentence can "
                        f"be built from recordings it never trained on")
    config = replace(meta.config, data={"path": meta.data_path})
    tree, sequences, _ = usable_sequences(config.data)
    root = Path(meta.data_path)
    out = []
    for sign, source, frames in sequences:
        rel = Path(source).relative_to(root).as_posix() if Path(source).is_absolute() else source
        if rel in wanted:
            out.append((tree.labels[sign], frames))
    if len(out) < 3:
        raise DataError(f"{meta.path}: only {len(out)} held-out recordings readable; a sentence needs 3")
    return out[:limit]


def read_alone(predict: Callable[[np.ndarray], np.ndarray], labels: list[str], settings: LiveSettings,
               recordings: list[tuple[str, np.ndarray]]) -> list[bool]:
    """Whether the model reads each recording right on its own, brought to its length as training did."""
    if not recordings:
        return []
    batch = np.stack([to_length(np.asarray(frames, np.float32), settings.length, settings.resample, settings.truncate)
                      for _, frames in recordings])
    best = np.argmax(predict(batch), axis=1)
    return [labels[int(b)] == word for b, (word, _) in zip(best, recordings)]


def evaluate_model(predictor, sentences: int = 20, seed: int = 0,
                   settings: Optional[LiveSettings] = None) -> SentenceReport:
    """`signtrain evaluate MODEL --sentences`: the live path on sentences of held-out recordings."""
    recordings = held_out_recordings(predictor.meta)
    fps = float((predictor.meta.live or {}).get("fps") or DEFAULT_FPS)
    settings = settings or LiveSettings.of(predictor.meta, fps)

    def decode(frames: np.ndarray) -> list[Emission]:
        return recognise(predictor.predict_proba, predictor.labels, settings, frames).emissions

    alone = read_alone(predictor.predict_proba, predictor.labels, settings, recordings)
    rows = evaluate(decode, recordings, fps, sentences, seed, alone=alone)
    return SentenceReport(str(predictor.path), len(recordings), fps, settings.to_dict(), rows)
