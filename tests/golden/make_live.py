"""Writes tests/golden/live.json: sentences of tiny synthetic signs, the settings they are streamed
with, and what signtrain's Recognizer says on them.  The Python suite (tests/test_live.py) and the
browser page's (tests/test_web.py, through node) both replay these cases, so the two implementations
of the decision rule cannot drift apart.  Rerun after a deliberate change to the rule:

    python tests/golden/make_live.py
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_live import LABELS, SPAN, WIDTH, halting, held, sign  # noqa: E402  (the Python suite's tiny signs)

from signtrain.deploy.live import LiveSettings, recognise  # noqa: E402
OUT = Path(__file__).with_name("live.json")
SURE = (4, 3)  # moving frames of a window's sign from which the golden model is sure of it, fairly sure


def vote(window: list) -> list:
    """The golden model, simple enough to write the same in JavaScript: the sign (value 0 of a frame,
    1-based) most moving frames of the window carry, with probability 0.95 - 0.8 when fewer than
    SURE[0] frames carry it, 0.65 when fewer than SURE[1] (a piece of a sign); sign 0 on a still window."""
    counts = [0] * len(LABELS)
    for previous, frame in zip(window, window[1:]):
        moved = sum(abs(float(np.float32(a) - np.float32(b))) for a, b in zip(frame, previous)) / len(frame) > 1e-4
        k = int(round(float(frame[0]))) - 1
        if moved and 0 <= k < len(LABELS):
            counts[k] += 1
    best = max(range(len(LABELS)), key=lambda i: (counts[i], -i))
    top = 0.95 if counts[best] >= SURE[0] else 0.8 if counts[best] >= SURE[1] else 0.65
    return [top if i == best else 0.05 for i in range(len(LABELS))]


def predict(X: np.ndarray) -> np.ndarray:
    # float32, as a model's output (and the page's Float32Array) is
    return np.array([vote([list(map(float, f)) for f in window]) for window in X], np.float32)


def sentence(signs: list, pause: int, kind: str, lengths=None) -> np.ndarray:
    """kind: still (the last frame held) or nothing (all zeros: nothing detected)."""
    parts: list = []
    for i, k in enumerate(signs):
        if parts and pause:
            parts.append(np.repeat(parts[-1][-1:], pause, axis=0) if kind == "still"
                         else np.zeros((pause, WIDTH), np.float32))
        parts.append(sign(k, (lengths or {}).get(i, SPAN), seed=i))
    return np.concatenate(parts)


SETTINGS = LiveSettings(span=SPAN, length=8, resample=True, truncate="keep_start", motion=1e-3, gap=4, wait=6,
                        stride=3, threshold=0.6, hold=2)


def cases() -> list:
    out = []
    for kind in ("still", "nothing"):
        for pause in (0, 6, 15, 30):
            out.append((f"three signs, {pause}-frame {kind} pause", sentence([2, 0, 1], pause, kind), SETTINGS))
        out.append((f"a sign twice, {kind} pause", sentence([1, 1, 0], 15, kind), SETTINGS))
    rest = sentence([0], 0, "still")
    out.append(("a rest after a sign", np.concatenate([rest, np.repeat(rest[-1:], 90, axis=0)]), SETTINGS))
    out.append(("long and short signs", sentence([0, 2, 1], 10, "still", {0: 30, 1: 5}), SETTINGS))
    out.append(("padded windows, kept end", sentence([2, 1], 10, "nothing"),
                replace(SETTINGS, resample=False, truncate="keep_end")))
    out.append(("padded windows, kept centre", sentence([0, 1, 2], 8, "still"),
                replace(SETTINGS, resample=False, truncate="keep_center", length=16)))
    out.append(("strict threshold", sentence([0, 1], 10, "still"), replace(SETTINGS, threshold=0.99)))
    out.append(("joined, quick decisions", sentence([0, 1, 2, 0], 0, "still", {1: 30, 2: 30}),
                replace(SETTINGS, stride=1, hold=1)))
    # windows inside a long stretch that read otherwise than the stretch so far seen whole: not said first
    middle = np.concatenate([sign(2, 10), sign(1, 14, seed=1), sign(2, 20, seed=2)])
    out.append(("a long sign whose middle reads as another", np.concatenate([middle, np.repeat(middle[-1:], 30, 0)]),
                replace(SETTINGS, stride=2)))
    for kind in ("still", "nothing"):  # short signs, a pause shorter than `wait`: nothing detected ends them
        out.append((f"short signs, 5-frame {kind} pause", sentence([0, 1, 2], 5, kind, {0: 6, 1: 6, 2: 6}), SETTINGS))
    out.append(("at the threshold exactly (float32)", sentence([0, 1], 10, "still"), replace(SETTINGS, threshold=0.95)))
    out.append(("short signs the model is sure of, 5-frame still pause",
                sentence([0, 1, 2], 5, "still", {0: 6, 1: 6, 2: 6}), replace(SETTINGS, length=SPAN)))
    out.append(("a piece of a sign: not sure, not said", sentence([0, 1, 2], 10, "still", {1: 2}), SETTINGS))
    out.append(("the same with nothing detected around it: whole, said", sentence([0, 1, 2], 10, "nothing", {1: 2}),
                SETTINGS))
    extents = replace(SETTINGS, sign_frames=(2 * SPAN, 2 * SPAN, SPAN))
    for hold in (SETTINGS.gap, 10):  # the tail of a sign a hold split, within and past the sign's extent
        for frames in (2 * SPAN, 30):
            first = held(0, frames, hold)
            stream = np.concatenate([first, np.repeat(first[-1:], 15, 0), sign(2), np.repeat(sign(2)[-1:], 30, 0)])
            out.append((f"a {hold}-frame hold inside a {frames}-frame sign", stream, extents))
    for lengths, extent, length, truncate in (((20, 10), 24, 4, "keep_end"), ((20, 14), 40, 3, "keep_start")):
        # windows that show a stretch only in part, read unsure (0.65): said where the stretch is about as long as
        # its sign takes (hello), not where it is well short of it (thanks: a piece of a sign, perhaps)
        stream = sentence([0, 1], 10, "still", dict(enumerate(lengths)))
        out.append((f"stretches read unsure against a {extent}-frame extent, {truncate} {length}-frame windows",
                    np.concatenate([stream, np.repeat(stream[-1:], 20, 0)]),
                    replace(SETTINGS, sign_frames=(extent,) * 3, length=length, resample=False, truncate=truncate)))
    for kind in ("still", "nothing"):  # thanks again sooner than its 24-frame extent allows: a tail where the hands
        # were held still, a sign of its own after nothing was detected; yes: twice
        out.append((f"signs twice, their extents known, 6-frame {kind} pause", sentence([1, 1, 2, 2], 6, kind),
                    extents))
        # a short stretch right after the same sign: its tail (the hands returning), unless the signer left the view
        out.append((f"a short sign again, 4-frame {kind} pause", sentence([0, 0, 1], 4, kind, {0: 30, 1: 5}), extents))
    for typical in (8, 16):  # ... unless it spans most of what the sign takes: the sign again, signed quickly
        first, again = sign(1, SPAN), halting(1, 5)
        stream = np.concatenate([first, np.repeat(first[-1:], SETTINGS.gap, 0), again, np.repeat(again[-1:], 30, 0)])
        out.append((f"a quick sign again with brief halts, {typical}-frame extents", stream,
                    replace(SETTINGS, sign_frames=(typical,) * 3)))
    for hold in (SETTINGS.gap, 5, 8):  # a sign whose two pieces read unsure (0.8 < 0.9) but whole sure (0.95)
        first = held(0, 14, hold)
        stream = np.concatenate([first, np.repeat(first[-1:], 15, 0), sign(2), np.repeat(sign(2)[-1:], 30, 0)])
        out.append((f"pieces a {hold}-frame hold split, read together", stream,
                    replace(SETTINGS, length=6, threshold=0.9)))
    # the same sign signed again out of view and back, in two pieces: read together, a sign of its own
    first, gone, again = sign(0, SPAN), np.zeros((SETTINGS.gap, WIDTH), np.float32), held(0, 14, SETTINGS.gap)
    out.append(("pieces read together after nothing was detected",
                np.concatenate([first, gone, again, np.repeat(again[-1:], 30, 0)]),
                replace(SETTINGS, length=6, threshold=0.9, sign_frames=(2 * SPAN,) * 3)))
    return out


def settings_cases() -> list:
    """The page computes a stream's settings from the facts its settings.json carries (web/page/settings.js):
    the same as LiveSettings.of at each frame rate."""
    from types import SimpleNamespace

    from signtrain.deploy import live

    out = []
    for recording_frames, fps, motion, resample, extents in (
            (30, 30.0, 0.004, True, {"hello": 21, "thanks": 33, "yes": 27}), (45, None, None, False, None),
            (20, 25.0, 0.002, True, {"hello": 15, "yes": 45}), (None, None, None, True, None)):
        facts = {"recording_frames": recording_frames, "fps": fps, "motion": motion, "length": 48,
                 "resample": resample, "truncate": "keep_center", "default_fps": live.DEFAULT_FPS,
                 "default_motion": live.DEFAULT_MOTION, "gap_seconds": live.GAP_SECONDS,
                 "wait_seconds": live.WAIT_SECONDS, "threshold": live.THRESHOLD, "hold": live.HOLD,
                 "sign_frames": [extents.get(s) for s in LABELS] if extents else None}  # as formats/web.settings
        meta = SimpleNamespace(live={"recording_frames": recording_frames, "fps": fps, "motion": motion,
                                     "sign_frames": extents}, sequence_length=48, labels=tuple(LABELS),
                               config=SimpleNamespace(data=SimpleNamespace(resample=resample, truncate="keep_center")))
        for at in (None, 10.0, 15.0, 24.0, 25.0, 30.0, 60.0):
            out.append({"facts": facts, "fps": at, "settings": live.LiveSettings.of(meta, at).to_dict()})
    return out


def main() -> None:
    golden = {"labels": LABELS, "sure": SURE, "cases": [], "settings": settings_cases()}
    for name, frames, settings in cases():
        said = recognise(predict, LABELS, settings, frames).emissions
        golden["cases"].append({
            "name": name, "settings": settings.to_dict(), "frames": frames.astype(np.float32).tolist(),
            "said": [{"sign": e.sign, "frame": e.frame, "start_frame": e.start_frame} for e in said]})
    OUT.write_text(json.dumps(golden) + "\n")
    for case in golden["cases"]:
        print(f"{case['name']}: {' '.join(s['sign'] for s in case['said'])}")


if __name__ == "__main__":
    main()
