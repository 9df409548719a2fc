"""Continuous recognition: a stream of landmark frames in, each sign said once, nothing while the
signer rests.  One implementation for a recording read whole, a video and a camera.

A window shown to the model looks like what training showed it: the last `span` raw frames (a
training recording's typical length, scaled to this stream's frame rate), brought to the model's
length exactly as training did (resampled, or padded/cut).  Frames before the stream began or
after it ended are the edge frame held still (lead-in, lead-out), so the first and last signs
get whole windows.

"No sign" is an outcome: a signer who rests does not move.  Each frame's movement (mean absolute
change of its values; a part appearing or vanishing moves too) is compared with a threshold
calibrated on the training recordings; a sign is a stretch of movement, and it ends after `gap`
still frames (`wait` for a stretch shorter than half a recording: a sign with a hold inside it
goes on; not when the model is already sure, `WHOLE_SURE`, that the stretch is a whole sign).
A frame with nothing detected (all values zero) does not move, and `gap` of them end a sign at
once: no hold inside a sign looks like that.  At its end the stretch is classified once, centred
in its window (a stretch longer than a recording is seen whole, as training resampled whole
recordings): the top sign is said when its probability reaches `threshold` - `SHORT_SURE` for a
stretch shorter than half a recording, or than `PIECE_LENGTHS` of the typical extent of the sign it
reads as (below), which may be a piece of a sign that a hold split - but not one with nothing detected
on either side of it, which no hold split.
Probabilities are compared in float32, the model's precision (the browser page's too). A stretch
longer than a recording (signs joined without a pause) is also classified as it goes, every `stride`
frames (every frame by default), each decision the mean of the windows of the last `SMOOTH` frames
(a window straddling two signs is brief), and a new top sign that reaches `INSIDE_SURE` and holds
for `hold` decisions is said - only where the stretch since the window that said its last sign (all
of it, for the first), seen whole, does not read surely as another (a window of a long sign can look
like another sign). A still stretch says nothing. A sign signed twice with a pause between is two
stretches, said twice; the same sign again while the movement since that sign began spans less than
`TAIL_LENGTHS` of its typical extent (what its training recordings took, first moving frame to last)
is its tail - a hold split it - not a repeat, which takes two signs' time; so is a short stretch
right after it (the hands returning), unless it spans `REPEAT_LENGTHS` of the sign's extent (a quick
signer's whole sign again); models that did not record their signs' extents: the same sign sooner
than most of a recording's span after it was said.
A sign that begins after nothing was detected is never the last one's tail: the signer left the view.
A finished stretch read below its bar right after another that was (a hold of at most half a span
between them) is read together with it: a long hold may split a sign into pieces neither of which
reads as the sign.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple, Optional

import numpy as np

from signtrain.data.assemble import to_length

DEFAULT_FPS = 30.0        # where the frame rate is not known
DEFAULT_MOTION = 0.002    # per-frame movement of a still signer, for models that did not record theirs
THRESHOLD = 0.3           # probability a sign needs to be said (predict --threshold)
HOLD = 3                  # decisions a new sign must hold inside a long stretch (predict --hold)
GAP_SECONDS = 0.15        # stillness that ends a sign
WAIT_SECONDS = 0.3        # stillness that ends a short stretch (a hold inside a sign is shorter)
MIN_MOVING = 2            # frames of movement below which a stretch is a twitch, not a sign
TAIL_LENGTHS = 1.5        # a sign's typical extents within which the same sign again is its tail
REPEAT_LENGTHS = 0.85     # share of a sign's typical extent from which a short stretch right after it is it again
PIECE_LENGTHS = 0.6       # share of a sign's typical extent under which a stretch read as it may be a piece
REPEAT_SPAN = 0.7         # share of a recording's span before the same sign can be said again (no extents)
LONGEST = 2               # a finished stretch is seen whole up to this many spans
SHORT_SURE = 0.7          # probability a stretch shorter than half a recording needs to be said
WHOLE_SURE = 0.9          # ... from which it is a whole sign at once, not waited on for the rest of one
INSIDE_SURE = 0.8         # probability a sign needs to be said inside a long stretch (mean of SMOOTH windows)
SMOOTH = 5                # frames whose windows' mean a decision inside a long stretch reads


class Piece(NamedTuple):
    """A finished stretch read below its bar, kept to be read together with the next (Recognizer._unsure)."""

    start: int
    moving: int          # frames of movement in it
    end: int             # its last moving frame
    returned: bool       # it began after nothing was detected


@dataclass
class Emission:
    sign: str
    frame: int          # the frame at which it was said (its decision)
    start_frame: int    # first frame of the window that decided it
    probability: float
    start_s: Optional[float] = None   # seconds into the stream, where the frame rate is known
    end_s: Optional[float] = None

    def timed(self, fps: Optional[float]) -> "Emission":
        if fps:
            self.start_s, self.end_s = round(self.start_frame / fps, 3), round((self.frame + 1) / fps, 3)
        return self


@dataclass(frozen=True)
class LiveSettings:
    """The windowing and decision settings of a stream: the same for a recording, a video, a camera
    (and the browser page, which reads them as JSON)."""

    span: int            # raw frames one window covers
    length: int          # frames the model reads
    resample: bool       # how a window is brought to `length` (as training did)
    truncate: str
    motion: float        # per-frame movement above which the signer moves
    gap: int             # still frames that end a sign
    wait: int            # still frames that end a short stretch (a sign with a hold inside it goes on)
    stride: int          # frames between decisions inside a long stretch of movement
    threshold: float     # probability a sign needs to be said
    hold: int            # decisions a new sign must hold inside a long stretch
    sign_frames: tuple = ()  # per sign, the raw frames its movement typically spans (0: not known)

    @classmethod
    def of(cls, meta, fps: Optional[float] = None, threshold: float = THRESHOLD, hold: int = HOLD) -> "LiveSettings":
        """From a model's metadata (what its training recordings were like), for a stream at `fps`."""
        live = meta.live or {}
        trained_fps = float(live.get("fps") or DEFAULT_FPS)
        rate = float(fps or trained_fps) / trained_fps
        span = max(2, round(float(live.get("recording_frames") or meta.sequence_length) * rate))
        extents = live.get("sign_frames") or {}
        sign_frames = tuple(round(float(extents[s]) * rate) if extents.get(s) else 0
                            for s in meta.labels) if extents else ()
        data = meta.config.data
        return cls(span=span, length=meta.sequence_length, resample=bool(data.resample), truncate=data.truncate,
                   motion=float(live.get("motion") or DEFAULT_MOTION),
                   gap=max(2, round(GAP_SECONDS * float(fps or trained_fps))),
                   wait=min(span // 2, round(WAIT_SECONDS * float(fps or trained_fps))), stride=1,
                   threshold=threshold, hold=hold, sign_frames=sign_frames)

    def to_dict(self) -> dict:
        return asdict(self)


def movement(previous: np.ndarray, frame: np.ndarray) -> float:
    # float32 differences, a float64 mean: what the browser page computes too (web/page/recognizer.js)
    return float(np.mean(np.abs(frame - previous), dtype=np.float64))


def camera_moves(frames: np.ndarray, raw: int) -> np.ndarray:
    """Per step of a stored recording (at least 2 frames) of `raw` camera frames, its movement at the
    camera's rate: a step of a recording squeezed to fewer frames spans several camera frames."""
    return np.mean(np.abs(np.diff(frames, axis=0)), axis=1) / max(1.0, (raw - 1) / (len(frames) - 1))


def calibrate(recordings: list[np.ndarray], raw_lengths: Optional[list[int]] = None) -> dict:
    """What a run records for live use: its recordings' typical length (raw frames) and the movement
    of a signer who moves (a quarter of the median per-frame movement while signing is taken as
    still).  `recordings` are the frames as stored; where a recording was resampled (nearest frame) to
    fewer frames than it had (`raw_lengths`), each stored step spans several camera frames and moves
    that much more: it is brought back to the camera's rate.  (A recording stretched to more frames
    repeats frames: its steps are the camera's own, or none.)"""
    raw_lengths = raw_lengths if raw_lengths is not None else [len(r) for r in recordings]
    moves = [camera_moves(r, raw) for r, raw in zip(recordings, raw_lengths) if len(r) > 1]
    flat = np.concatenate(moves) if moves else np.zeros(0)
    flat = flat[flat > 0]
    lengths = [raw for raw in raw_lengths if raw]
    return {"recording_frames": int(np.median(lengths)) if lengths else None,
            "motion": float(0.25 * np.median(flat)) if len(flat) else None}


def sign_extents(recordings: list[np.ndarray], raw_lengths: list[int], signs: list[str], motion: float) -> dict:
    """Per sign, the raw frames its recordings' movement typically spans (median; first frame that moves
    more than `motion` to the last): how long one sign takes, which tells the same sign again after a
    hold inside it from the sign signed twice.  Stored frames are brought back to the camera's as in
    `camera_moves`; recordings in which nothing moves say nothing."""
    spans: dict[str, list[float]] = {}
    for frames, raw, sign in zip(recordings, raw_lengths, signs):
        if len(frames) < 2:
            continue
        moving = np.flatnonzero(camera_moves(frames, raw) > motion)
        if len(moving):  # steps from the first moving one to the last, in camera frames, and the frame they end on
            spans.setdefault(sign, []).append((moving[-1] - moving[0] + 1) * (raw - 1) / (len(frames) - 1) + 1)
    return {sign: int(round(float(np.median(v)))) for sign, v in spans.items()}


class Recognizer:
    """push(frame) -> the signs said at that frame; finish() -> those said when the stream ends."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], labels: list[str], settings: LiveSettings,
                 on_emission: Optional[Callable[[Emission], None]] = None) -> None:
        self.predict, self.labels, self.s = predict, labels, settings
        self.on_emission = on_emission
        self.recent: deque = deque(maxlen=LONGEST * settings.span + max(settings.gap, settings.wait) + 1)
        self.frames = 0            # frames pushed
        self.decisions = 0         # windows classified
        self.emissions: list[Emission] = []
        self._first: Optional[np.ndarray] = None
        self._active, self._start, self._moving, self._still = False, 0, 0, 0
        self._absent = 0           # frames in a row with nothing detected
        self._returned = False     # the current stretch began after `gap` frames with nothing detected
        self._unsaid: Optional[Piece] = None   # the last stretch, where it was read below its bar
        self._classified: Optional[tuple] = None   # ((frame, final, still, start), probabilities) of the last window
        self._said: Optional[int] = None     # the sign said in the current stretch
        self._said_from = 0                  # first frame of the stretch (or window) that said the last sign
        self._run, self._run_label = 0, -1
        # the windows read inside the current long stretch over the last SMOOTH frames
        self._inside: deque = deque(maxlen=max(1, -(-SMOOTH // settings.stride)))

    # ------------------------------------------------------------ the stream
    def push(self, frame: np.ndarray) -> list[Emission]:
        frame = np.asarray(frame, dtype=np.float32)
        if self._first is None:
            self._first = frame
        present = bool(frame.any())  # nothing detected: all values zero
        absent_before = self._absent
        self._absent = 0 if present else self._absent + 1
        moved = present and bool(self.recent) and movement(self.recent[-1], frame) > self.s.motion
        self.recent.append(frame)
        t, self.frames = self.frames, self.frames + 1
        said: list[Emission] = []
        if moved:
            if not self._active:
                self._active, self._start, self._moving, self._said = True, t, 0, None
                self._returned = absent_before >= self.s.gap
                self._run, self._run_label = 0, -1
                self._inside.clear()
            self._moving += 1
            self._still = 0
            if t - self._start >= self.s.span and (t - self._start) % self.s.stride == 0:
                said += self._decide(t, final=False)
        elif self._active:
            self._still += 1
            if self._still >= self.s.gap and self._ended(t):
                said += self._decide(t, final=True)
        return said

    @property
    def _short(self) -> bool:
        return self._moving < self.s.span // 2

    def _ended(self, t: int) -> bool:
        """Whether the stillness so far ends the stretch.  One shorter than half a recording may be a sign
        with a hold inside: it waits `wait` still frames for the rest - unless nothing is detected (the
        signer left the view) or the model is already sure of it as a whole sign."""
        if not self._short or self._absent >= self.s.gap or self._still >= self.s.wait:
            return True
        if self._still > self.s.gap or self._moving < MIN_MOVING:
            return False
        return bool(self._probs(t, True).max() >= np.float32(WHOLE_SURE))

    def finish(self) -> list[Emission]:
        """Lead-out: a stretch still open when the stream ends is decided on a window whose missing
        future frames are the last frame held still."""
        if not self._active or not self.recent:
            return []
        for _ in range(self.s.gap - self._still):
            self.recent.append(self.recent[-1])
            self._still += 1
        return self._decide(self.frames - 1, final=True)

    # ------------------------------------------------------------ deciding
    def window(self, skip: int = 0, span: Optional[int] = None) -> np.ndarray:
        """`span` frames (the recordings' span unless given) ending `skip` frames back (lead-in: the first
        frame held still before them), at the model's length."""
        span = span or self.s.span
        frames = np.stack(self.recent)
        frames = frames[:len(frames) - skip][-span:]
        if len(frames) < span:
            frames = np.concatenate([np.repeat(self._first[None], span - len(frames), axis=0), frames])
        return to_length(frames, self.s.length, self.s.resample, self.s.truncate)

    def _probs(self, t: int, final: bool) -> np.ndarray:
        """The model's probabilities for the window a decision at frame `t` reads (once per window)."""
        key = (t, final, self._still, self._start)
        if self._classified is not None and self._classified[0] == key:
            return self._classified[1]
        # a stretch that has ended is seen as training saw a recording: centred in its window, with as much
        # of the stillness after it as fits, so the window does not cut off the sign's beginning
        length = t - self._start + 1 - self._still
        skip = self._still - min(self._still, max(0, (self.s.span - length) // 2)) if final else 0
        # a finished stretch longer than a recording is seen whole where training resampled whole recordings
        span = min(length + 2, LONGEST * self.s.span) if final and self.s.resample and length > self.s.span else None
        probs = self._read(skip, span)
        self._classified = (key, probs)
        return probs

    def _read(self, skip: int, span: Optional[int]) -> np.ndarray:
        """The model's probabilities for window(skip, span), in float32: a model's own precision (and the
        page's: the same decisions at a threshold)."""
        self.decisions += 1
        return np.asarray(self.predict(self.window(skip, span)[None])[0], np.float32)

    def _decide(self, t: int, final: bool) -> list[Emission]:
        if final:
            self._active = False
            if self._moving < MIN_MOVING:
                return []
        probs = self._probs(t, final)
        if not final:  # inside a long stretch: the mean of the last few windows - one straddling two signs is brief
            self._inside.append(probs)
            probs = (np.sum(self._inside, axis=0, dtype=np.float64) / len(self._inside)).astype(np.float32)
        best = int(np.argmax(probs))
        # the same sign again while the movement since it began spans less than the sign takes (with room for
        # a slow signer) is its tail - a hold inside it split its movement - not the sign signed twice, which
        # takes two signs' time; also a short stretch that began within half a span of it (the hands
        # returning to rest), unless it spans most of what the sign takes (a quick signer's whole sign again,
        # with brief halts inside) - but never one that began after nothing was detected: the signer left the
        # view, and no hold inside a sign looks like that
        last = self.emissions[-1] if self.emissions else None
        typical = self.s.sign_frames[best] if best < len(self.s.sign_frames) else 0
        end = t - self._still  # the stretch's last moving frame (a decision inside it comes on one)
        extent = end - self._start + 1
        if typical:
            near = end - self._said_from + 1 < TAIL_LENGTHS * typical
        else:  # a model that did not record its signs' extents: most of a recording's span
            near = last is not None and t - last.frame < REPEAT_SPAN * self.s.span
        returning = self._short and not (typical and extent >= REPEAT_LENGTHS * typical)
        tail = last is not None and last.sign == self.labels[best] and not self._returned and (
            near or (returning and self._start - last.frame <= self.s.span // 2))
        # a finished stretch shorter than half a recording, or well short of what the sign it reads as takes, may
        # be a piece of a sign (a hold split its movement): said only when sure - unless nothing was detected on
        # either side of it (the signer came into view and left it): no hold looks like that, so it is whole
        piece = (self._short or bool(typical) and extent < PIECE_LENGTHS * typical) and not (
            self._returned and self._absent >= self.s.gap)
        needed = max(self.s.threshold, SHORT_SURE if piece else 0.0) if final else max(self.s.threshold, INSIDE_SURE)
        doubt = bool(probs[best] < np.float32(needed))
        if doubt or best == self._said or tail:
            self._run, self._run_label = 0, -1
            if final and doubt:
                return self._unsure(t)
            if final:  # a finished stretch said nothing for another reason than doubt: no piece to read on with
                self._unsaid = None
            return []
        self._unsaid = None
        if not final:  # inside a long stretch: a new sign must hold a few decisions
            self._run = self._run + 1 if best == self._run_label else 1
            self._run_label = best
            if self._run < self.s.hold or self._whole_reads_otherwise(t, best):
                return []
        self._said = best
        self._said_from = self._start if final else max(self._start, t - self.s.span + 1)
        emission = Emission(self.labels[best], t, max(0, t - self.s.span + 1), float(probs[best]))
        self.emissions.append(emission)
        if self.on_emission:
            self.on_emission(emission)
        return [emission]

    def _whole_reads_otherwise(self, t: int, best: int) -> bool:
        """Whether the stretch since the window that said its last sign (all of it, before the first), seen
        whole (as training saw a recording, up to LONGEST spans), reads surely (`SHORT_SURE`) as another sign
        than `best`: a window of a long sign can look like another sign (the
        middle of a slow `welt` like `zeigen`), the sign seen whole less so; signs joined without a pause, seen
        whole, seldom read surely as one.  Only where training resampled whole recordings."""
        if not self.s.resample:
            return False
        # since the last sign said: a long sign said early must not have its middle said as another; with a frame
        # either side, as a finished stretch is seen whole
        length = t - (self._start if self._said is None else self._said_from) + 1
        probs = self._read(0, min(length + 2, LONGEST * self.s.span))
        top = int(np.argmax(probs))
        return top != best and bool(probs[top] >= np.float32(SHORT_SURE))

    def _unsure(self, t: int) -> list[Emission]:
        """A finished stretch read below its bar.  If the one before it did too, and a hold no longer than half a
        recording's span parted them, both may be pieces of one sign that a long hold split: they are read
        together, as one stretch (where a window shows it whole)."""
        before, self._unsaid = self._unsaid, None
        if before is not None and not self._returned and self._start - before.end <= self.s.span // 2 \
                and t - self._still - before.start < LONGEST * self.s.span:
            self._start, self._moving, self._returned = before.start, self._moving + before.moving, before.returned
            return self._decide(t, final=True)
        self._unsaid = Piece(self._start, self._moving, t - self._still, self._returned)
        return []


def recognise(predict: Callable[[np.ndarray], np.ndarray], labels: list[str], settings: LiveSettings,
              frames: np.ndarray) -> Recognizer:
    """A whole recording through a Recognizer, frame by frame as a camera would deliver it."""
    recognizer = Recognizer(predict, labels, settings)
    for frame in frames:
        recognizer.push(frame)
    recognizer.finish()
    return recognizer
