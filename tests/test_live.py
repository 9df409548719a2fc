"""The live path on sentences of tiny synthetic signs: the first and last signs said, a rest says
nothing, a sign signed twice is said twice, windows are what training saw, and sentences are scored
as a user would judge them."""

from dataclasses import replace

import numpy as np
import pytest

from signtrain.data.assemble import resample
from signtrain.deploy.live import (HOLD, INSIDE_SURE, LONGEST, PIECE_LENGTHS, REPEAT_LENGTHS, SHORT_SURE, SMOOTH,
                                   TAIL_LENGTHS, WHOLE_SURE, LiveSettings, Recognizer, calibrate, recognise,
                                   sign_extents)
from signtrain.deploy.sentences import Row, Sentence, align, build, score

LABELS = ["hello", "thanks", "yes"]
SPAN, WIDTH = 12, 4


def sign(k: int, frames: int = SPAN, seed: int = 0) -> np.ndarray:
    """A recording of sign k: value 0 says which sign, the others move."""
    rng = np.random.default_rng(seed + k)
    out = np.zeros((frames, WIDTH), np.float32)
    out[:, 0] = k + 1
    out[:, 1:] = np.sin(np.linspace(0, 3, frames))[:, None] * (k + 1) * 0.1 + rng.normal(0, 0.01, (frames, 3))
    return out


def oracle(X: np.ndarray) -> np.ndarray:
    """A model that knows the sign of a window's moving frames (and guesses on a still one)."""
    out = []
    for window in X:
        moving = np.abs(np.diff(window, axis=0)).mean(axis=1) > 1e-4
        ids = window[1:][moving, 0].round().astype(int) - 1
        ids = ids[(ids >= 0) & (ids < len(LABELS))]
        probs = np.full(len(LABELS), 0.05)
        probs[np.bincount(ids).argmax() if len(ids) else 0] = 0.9
        out.append(probs)
    return np.array(out)


SETTINGS = LiveSettings(span=SPAN, length=8, resample=True, truncate="keep_start", motion=1e-3, gap=4, wait=6,
                        stride=3, threshold=0.6, hold=2)


def said(frames: np.ndarray, settings: LiveSettings = SETTINGS) -> list[str]:
    return [e.sign for e in recognise(oracle, LABELS, settings, frames).emissions]


def still(frame: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(frame[None], n, axis=0)


def nothing(n: int) -> np.ndarray:
    """n frames with nothing detected."""
    return np.zeros((n, WIDTH), np.float32)


@pytest.mark.parametrize("pause", [6, 15, 30, 45])
@pytest.mark.parametrize("kind", ["still", "nothing"])
def test_every_sign_of_a_sentence_is_said_once_first_and_last_included(pause, kind):
    parts = []
    for k in (2, 0, 1):
        gap = still(parts[-1][-1], pause) if kind == "still" and parts else nothing(pause)
        parts += [gap, sign(k)] if parts else [sign(k)]
    assert said(np.concatenate(parts)) == ["yes", "hello", "thanks"]


@pytest.mark.parametrize("rest", ["still", "nothing"])
def test_a_rest_says_nothing(rest):
    quiet = still(sign(1)[-1], 90) if rest == "still" else nothing(90)
    assert said(quiet) == []
    assert said(np.concatenate([sign(1), quiet])) == ["thanks"]  # and nothing more during the rest after it


@pytest.mark.parametrize("pause", [6, 20])
def test_a_sign_signed_twice_is_said_twice(pause):
    first = sign(0)
    assert said(np.concatenate([first, still(first[-1], pause), sign(0, seed=5)])) == ["hello", "hello"]


def held(k: int, frames: int, hold: int, at: float = 0.5) -> np.ndarray:
    """Sign k with a hold inside: the hands stop `hold` frames at `at` of the way through it."""
    whole, cut = sign(k, frames), round(frames * at)
    return np.concatenate([whole[:cut], still(whole[cut - 1], hold), whole[cut:]])


EXTENTS = replace(SETTINGS, sign_frames=(2 * SPAN,) * len(LABELS))  # each sign's movement typically spans 24 frames


@pytest.mark.parametrize("hold", [SETTINGS.gap, SETTINGS.wait, 10])
@pytest.mark.parametrize("frames,at", [(2 * SPAN, 0.5), (2 * SPAN, 0.3), (30, 0.5)])
def test_a_hold_inside_a_sign_does_not_say_it_twice(hold, frames, at):
    """Both halves of a sign a hold splits read as the sign: the second is its tail while the movement since
    the sign began spans less than TAIL_LENGTHS of the sign's typical extent (24 frames here: a 30-frame
    sign with a 10-frame hold spans 40, two signs' time rather than one)."""
    stream = np.concatenate([held(0, frames, hold, at), still(sign(0)[-1], 30)])
    extent = frames + hold
    expected = ["hello"] if extent < TAIL_LENGTHS * EXTENTS.sign_frames[0] else ["hello", "hello"]
    assert said(stream, EXTENTS) == expected


@pytest.mark.parametrize("pause", [6, 15, 30])
@pytest.mark.parametrize("frames", [SPAN, 2 * SPAN])
def test_a_sign_signed_twice_is_said_twice_once_it_took_two_signs_time(pause, frames):
    """Two signs' time: the second is said, the moment its movement since the first began reaches
    TAIL_LENGTHS of the sign's typical extent - and never sooner."""
    first = sign(1, frames)
    stream = np.concatenate([first, still(first[-1], pause), sign(1, frames, seed=5), still(first[-1], 30)])
    expected = ["thanks", "thanks"] if 2 * frames + pause >= TAIL_LENGTHS * EXTENTS.sign_frames[1] else ["thanks"]
    assert said(stream, EXTENTS) == expected
    assert said(stream, replace(EXTENTS, sign_frames=())) == ["thanks", "thanks"]  # the span rule of older models


@pytest.mark.parametrize("pause", [SETTINGS.gap, 6, 15])
@pytest.mark.parametrize("frames", [SPAN // 2 - 1, SPAN, 2 * SPAN])
@pytest.mark.parametrize("settings", [EXTENTS, replace(EXTENTS, sign_frames=())], ids=["extents", "span rule"])
def test_a_sign_after_nothing_was_detected_is_never_the_last_ones_tail(pause, frames, settings):
    """The signer left the view (nothing detected for `gap` frames or more): what they sign on coming back is
    a sign of its own, however soon and however short - no hold inside a sign looks like that."""
    first = sign(1, 2 * SPAN)
    again = sign(1, frames, seed=5)
    assert said(np.concatenate([first, nothing(pause), again, still(again[-1], 30)]), settings) == ["thanks"] * 2


def test_the_same_short_stretch_after_the_hands_held_still_is_a_tail():
    """The contrast: held still as briefly, the same short stretch is the sign's tail (a hold split it)."""
    first, again = sign(1, 2 * SPAN), sign(1, SPAN // 2 - 1, seed=5)
    stream = np.concatenate([first, still(first[-1], SETTINGS.gap), again, still(again[-1], 30)])
    assert said(stream, EXTENTS) == ["thanks"]


def halting(k: int, moving: int) -> np.ndarray:
    """Sign k signed quickly, the hands halting a frame after each of its `moving` frames (briefer than a
    pause): `moving` frames of movement over 2 * moving - 1."""
    return np.repeat(sign(k, moving, seed=5), 2, axis=0)


@pytest.mark.parametrize("typical", [4, 5, 6, 8, 10, 11, 12, 14, 16])
@pytest.mark.parametrize("moving", [3, SPAN // 2 - 1])
def test_a_short_stretch_right_after_a_sign_is_it_again_once_it_spans_most_of_what_the_sign_takes(typical, moving):
    """The hands returning after a sign are a short stretch right after it that reads as it: its tail.  The
    sign signed again quickly, with brief halts, is as short in movement but spans REPEAT_LENGTHS of what the
    sign typically takes: it is said again.  (Where the sign and the stretch together span less than
    TAIL_LENGTHS of it - 3 moving frames against 14 or 16 - the stretch is its tail either way.)"""
    first, again = sign(1, SPAN), halting(1, moving)
    stream = np.concatenate([first, still(first[-1], SETTINGS.gap), again, still(again[-1], 30)])
    extent = 2 * moving - 1
    expected = ["thanks"] * (2 if extent >= REPEAT_LENGTHS * typical else 1)
    assert said(stream, replace(SETTINGS, sign_frames=(typical,) * len(LABELS))) == expected
    assert said(stream) == ["thanks"]  # models that did not record their signs' extents: a tail, as before


def phased(k: int, frames: int, hold: int, at: int) -> np.ndarray:
    """Sign k whose value 1 runs from 0 to 1 as it goes (its phase), with a hold of `hold` frames after `at`."""
    out = sign(k, frames)
    out[:, 1] = np.linspace(0, 1, frames)
    return np.concatenate([out[:at], still(out[at - 1], hold), out[at:]])


def whole_only(X: np.ndarray) -> np.ndarray:
    """A model sure of a sign only when its window shows the sign's beginning and its end (phase under 0.25
    and over 0.75 among its moving frames); a piece of it reads 0.2."""
    out = []
    for window in X:
        moving = window[1:][np.abs(np.diff(window, axis=0)).mean(axis=1) > 1e-4]
        probs = np.full(len(LABELS), 0.05)
        if len(moving):
            whole = moving[:, 1].min() < 0.25 and moving[:, 1].max() > 0.75
            probs[int(round(float(moving[0, 0]))) - 1] = 0.9 if whole else 0.2
        out.append(probs)
    return np.array(out)


@pytest.mark.parametrize("hold", [SETTINGS.gap, SPAN // 2 - 1, SPAN // 2 + 1, 2 * SPAN])
@pytest.mark.parametrize("frames, at", [(18, 9), (16, 4), (16, 12), (30, 15)])
@pytest.mark.parametrize("settings", [SETTINGS, EXTENTS], ids=["span rule", "extents"])
def test_pieces_of_a_sign_a_long_hold_split_are_read_together(hold, frames, at, settings):
    """Neither piece reads as the sign (each 0.2, below the bar): read together, as one stretch, they do, where
    a hold of at most half a recording's span parted them (longer, it is a pause between two stretches that
    said nothing) and a window shows them whole (up to LONGEST spans).  A piece shorter than half a span waits
    `wait` still frames for the rest anyway.  Nothing detected between them is never a hold."""
    stream = phased(0, frames, hold, at)
    emissions = recognise(whole_only, LABELS, settings, np.concatenate([still(stream[0], 10), stream,
                                                                        still(stream[-1], 30)])).emissions
    short = min(at, frames - at) < SPAN // 2 and hold < settings.wait
    joined = hold + 1 <= SPAN // 2 and frames + hold < LONGEST * SPAN
    assert [e.sign for e in emissions] == (["hello"] if short or joined else [])
    if emissions:  # said as the second piece ends (a short one waits `wait` still frames for more)
        ended = settings.wait if frames - at < SPAN // 2 else settings.gap
        assert emissions[0].frame == 10 + frames + hold - 1 + ended
    stream[at:at + hold] = 0
    gone = recognise(whole_only, LABELS, settings, np.concatenate([still(stream[0], 10), stream,
                                                                   still(stream[-1], 30)])).emissions
    assert gone == []


@pytest.mark.parametrize("hold", [SETTINGS.gap, SPAN // 2 - 1])
def test_pieces_read_together_after_nothing_was_detected_are_a_sign_of_their_own(hold):
    """A sign signed again after the signer left the view, in two pieces read together: the joined stretch
    began after nothing was detected, so it is not the last sign's tail, however soon it ends."""
    first, again = phased(0, SPAN, 0, SPAN // 2), phased(0, 14, hold, 7)
    stream = np.concatenate([still(first[0], 10), first, nothing(SETTINGS.gap), again, still(again[-1], 30)])
    assert [e.sign for e in recognise(whole_only, LABELS, EXTENTS, stream).emissions] == ["hello", "hello"]


@pytest.mark.parametrize("probability", [0.61, SHORT_SURE, 0.9])
@pytest.mark.parametrize("frames", [SPAN // 2 + 2, SPAN, SPAN + 1])
@pytest.mark.parametrize("extent", [16, 20])
def test_a_stretch_well_short_of_its_signs_extent_is_said_only_when_the_model_is_sure(probability, frames, extent):
    """A finished stretch no shorter than half a recording but well short of what the sign it reads as takes
    (under PIECE_LENGTHS of its typical extent) may be a piece of that sign, or of another: it needs
    SHORT_SURE, as a short one does.  (A sign's first frame has nothing before it to move from: its
    movement spans frames - 1.)"""
    thanks = sign(1, frames)
    stream = np.concatenate([thanks, still(thanks[-1], 30)])
    settings = replace(SETTINGS, sign_frames=(extent,) * len(LABELS))
    got = [e.sign for e in recognise(sure_as(probability), LABELS, settings, stream).emissions]
    needed = SHORT_SURE if frames - 1 < PIECE_LENGTHS * extent else SETTINGS.threshold
    assert got == (["thanks"] if probability >= needed else [])
    assert [e.sign for e in recognise(sure_as(probability), LABELS, SETTINGS, stream).emissions] == ["thanks"]


@pytest.mark.parametrize("probability", [0.61, 0.69, SHORT_SURE])
@pytest.mark.parametrize("frames", [5, SPAN])
@pytest.mark.parametrize("before, after", [(SETTINGS.gap, SETTINGS.gap), (30, 30), (SETTINGS.gap - 1, 30),
                                           (30, SETTINGS.gap - 1), (0, 30), (30, 0)])
def test_a_stretch_with_nothing_detected_on_either_side_is_a_whole_sign(probability, frames, before, after):
    """A short stretch, or one well short of its sign's extent (24 frames here), may be a piece of a sign a
    hold split, and needs SHORT_SURE - not where nothing was detected for `gap` frames before it and after
    it (the signer came into view, signed and left it): no hold looks like that.  It needs the threshold.
    (0: the signer held still there instead.)"""
    thanks = sign(1, frames)
    stream = np.concatenate([nothing(before) if before else still(thanks[0], 10), thanks,
                             nothing(after) if after else still(thanks[-1], 30)])
    settings = replace(SETTINGS, sign_frames=(24,) * len(LABELS))
    got = [e.sign for e in recognise(sure_as(probability), LABELS, settings, stream).emissions]
    needed = SETTINGS.threshold if min(before, after) >= SETTINGS.gap else SHORT_SURE
    assert got == (["thanks"] if probability >= needed else [])


def sure_as(probability: float):
    """The oracle, with its top sign at `probability`."""
    def predict(X: np.ndarray) -> np.ndarray:
        probs = oracle(X)
        return np.where(probs == probs.max(axis=1, keepdims=True), probability, (1 - probability) / 2)
    return predict


@pytest.mark.parametrize("pause", [SETTINGS.gap, SETTINGS.wait - 1])
def test_nothing_detected_ends_a_short_sign_without_waiting_for_more(pause):
    """A short sign the model is not sure of as a whole waits `wait` still frames for the rest of it (a
    hold inside); with nothing detected it has ended: the next sign after a pause shorter than `wait`
    is its own."""
    predict = sure_as(0.8)
    parts = [sign(0, frames=5)]
    for k in (1, 2):
        parts += [nothing(pause), sign(k, frames=5, seed=k)]
    assert [e.sign for e in recognise(predict, LABELS, SETTINGS, np.concatenate(parts)).emissions] == \
        ["hello", "thanks", "yes"]
    held = [parts[0], still(parts[0][-1], pause), parts[2], still(parts[2][-1], pause), parts[4]]
    assert len(recognise(predict, LABELS, SETTINGS, np.concatenate(held)).emissions) < 3  # one stretch goes on


@pytest.mark.parametrize("length", [5, 8, SPAN])
def test_nothing_detected_is_not_movement(length):
    frames = np.concatenate([sign(0, length), nothing(30)])
    assert [(e.sign, e.frame) for e in recognise(oracle, LABELS, SETTINGS, frames).emissions] == \
        [("hello", length - 1 + SETTINGS.gap)]


@pytest.mark.parametrize("probability", [0.61, 0.69, SHORT_SURE, 0.9])
@pytest.mark.parametrize("frames", [5, SPAN])
def test_a_stretch_shorter_than_half_a_recording_is_said_only_when_the_model_is_sure(probability, frames):
    """A short stretch may be a piece of a sign that a hold split: it needs SHORT_SURE, a whole one the threshold."""
    thanks = sign(1, frames)
    stream = np.concatenate([thanks, still(thanks[-1], 30)])
    got = [e.sign for e in recognise(sure_as(probability), LABELS, SETTINGS, stream).emissions]
    needed = SHORT_SURE if frames - 1 < SPAN // 2 else SETTINGS.threshold
    assert got == (["thanks"] if probability >= needed else [])


@pytest.mark.parametrize("probability", [0.8, WHOLE_SURE, 0.95])
@pytest.mark.parametrize("pause", [SETTINGS.gap, SETTINGS.wait - 1])
def test_a_short_sign_the_model_is_sure_of_ends_without_waiting(probability, pause):
    """...while one it is less sure of may be a piece of a sign and waits for the rest: a pause shorter
    than `wait` joins it to the next."""
    parts = [sign(0, frames=5)]
    for k in (1, 2):
        parts += [still(parts[-1][-1], pause), sign(k, frames=5, seed=k)]
    got = recognise(sure_as(probability), LABELS, SETTINGS, np.concatenate(parts)).emissions
    if probability >= WHOLE_SURE:
        assert [(e.sign, e.frame) for e in got] == [("hello", 4 + SETTINGS.gap), ("thanks", 9 + pause + SETTINGS.gap),
                                                     ("yes", 14 + 2 * pause)]  # the stream's end
    else:
        assert len(got) < 3


def read_by_extent(whole: float):
    """A model that reads a window showing at most SPAN raw frames of a sign as `thanks` (0.9), and one showing
    more of it (the stretch seen whole) as `yes` at `whole` - a long sign whose every window looks like another
    sign.  Each frame carries its index (value 1, in hundredths)."""
    def predict(X: np.ndarray) -> np.ndarray:
        out = []
        for window in X:
            index = np.round(window[:, 1] * 100)
            probs = np.full(len(LABELS), (1 - whole) / 2)
            if index.max() - index.min() < SPAN:
                probs[:] = 0.05
                probs[1] = 0.9
            else:
                probs[2] = whole
            out.append(probs)
        return np.array(out)
    return predict


@pytest.mark.parametrize("frames", [2 * SPAN, 3 * SPAN])
@pytest.mark.parametrize("stride, hold", [(3, 2), (1, 1), (4, 1)])
@pytest.mark.parametrize("whole", [0.6, SHORT_SURE, 0.9])
def test_a_long_sign_whose_windows_look_like_another_says_only_itself(frames, stride, hold, whole):
    """A stretch longer than a recording is read as it goes, window by window; the first sign said inside it
    must not be one the stretch so far, seen whole, surely reads otherwise - a slow sign's middle can look like
    another sign.  (Signs joined without a pause, seen whole, seldom read surely as one: they are said.)"""
    yes = np.zeros((frames, WIDTH), np.float32)
    yes[:, 0], yes[:, 1] = 3, np.arange(frames) / 100
    stream = np.concatenate([still(yes[0], 10), yes, still(yes[-1], 30)])
    settings = replace(SETTINGS, stride=stride, hold=hold)
    got = [e.sign for e in recognise(read_by_extent(whole), LABELS, settings, stream).emissions]
    assert got[0] == ("yes" if whole >= SHORT_SURE else "thanks")
    assert got[-1] == "yes"  # at its end, seen whole
    windowed = replace(settings, resample=False, length=SPAN)  # padded/cut windows: no whole view to ask
    assert [e.sign for e in recognise(read_by_extent(whole), LABELS, windowed, stream).emissions][0] == "thanks"


LIVE = replace(SETTINGS, stride=1, hold=HOLD)  # LiveSettings.of's decisions inside a long stretch: every frame


@pytest.mark.parametrize("settings", [SETTINGS, LIVE], ids=["stride3-hold2", "defaults"])
@pytest.mark.parametrize("lengths", [(3 * SPAN, 3 * SPAN), (SPAN, 2 * SPAN, SPAN), (2 * SPAN, SPAN + 3, 2 * SPAN),
                                     (SPAN + 2, SPAN + 2, SPAN + 2, SPAN + 2)])
def test_signs_joined_without_a_pause_are_each_said(lengths, settings):
    order = [0, 2, 1, 2][:len(lengths)]
    joined = np.concatenate([sign(k, frames=n, seed=i) for i, (k, n) in enumerate(zip(order, lengths))])
    assert said(joined, settings) == [LABELS[k] for k in order]


@pytest.mark.parametrize("frames", [3 * SPAN, 4 * SPAN])
@pytest.mark.parametrize("middle", [SPAN + 4, 2 * SPAN])
def test_a_long_sign_said_as_it_goes_has_no_other_sign_said_in_its_middle(frames, middle):
    """A long sign is said as it goes, before its end; later windows of it (from frame `middle` on) can look like
    another sign, but every sign said inside a stretch must not be one the stretch since the window that said the
    last sign, seen whole, surely reads otherwise - so the middle is not said, nor the sign again at its end."""
    def predict(X: np.ndarray) -> np.ndarray:
        probs = np.full((len(X), len(LABELS)), 0.05, np.float32)
        for i, window in enumerate(X):
            index = np.round(window[:, 1] * 100)
            one_span = index.max() - index.min() < SPAN
            probs[i, 1 if one_span and index.max() >= middle else 2] = 0.9
        return probs
    yes = np.zeros((frames, WIDTH), np.float32)
    yes[:, 0], yes[:, 1] = 3, np.arange(frames) / 100
    stream = np.concatenate([still(yes[0], 10), yes, still(yes[-1], 30)])
    emissions = recognise(predict, LABELS, LIVE, stream).emissions
    assert [e.sign for e in emissions] == ["yes"] and emissions[0].frame < 10 + middle


def reads_the_last_frame(X: np.ndarray) -> np.ndarray:
    """A model that reads a window as the sign its last frame carries, at 0.9: what it reads changes the frame
    the stream does."""
    probs = np.full((len(X), len(LABELS)), 0.05, np.float32)
    probs[np.arange(len(X)), X[:, -1, 0].round().astype(int) - 1] = 0.9
    return probs


@pytest.mark.parametrize("blip", range(1, SMOOTH + HOLD + 3))
@pytest.mark.parametrize("at", [2 * SPAN, 2 * SPAN + 5])  # after yes is said (a span in, and HOLD more)
def test_inside_a_long_stretch_a_sign_is_said_from_the_mean_of_the_last_frames_windows(blip, at):
    """Inside a stretch of signs joined without a pause every frame is read, and a decision is the mean of the
    windows of the last SMOOTH frames, said at INSIDE_SURE once it holds `hold` decisions: a window straddling
    two signs can read surely as a third, but only briefly - so a reading that lasts fewer frames than SMOOTH
    (whose mean stays under INSIDE_SURE) and `hold` decisions more is not said, and one that lasts longer is."""
    stream = sign(2, frames=4 * SPAN)
    stream[at:at + blip, 0] = 2  # these frames read as thanks
    got = [e.sign for e in recognise(reads_the_last_frame, LABELS, LIVE, stream).emissions]
    lasts = blip >= SMOOTH + HOLD - 1  # SMOOTH frames of it in the mean (0.9 > INSIDE_SURE; 4 of 5: 0.73), HOLD times
    assert 0.05 + (SMOOTH - 1) * 0.9 < INSIDE_SURE * SMOOTH < 0.9 * SMOOTH
    assert got == (["yes", "thanks", "yes"] if lasts else ["yes"])


def test_the_window_is_training_s_resampling_of_the_span_with_a_still_lead_in():
    frames = sign(1, frames=30)
    seen = []
    recognizer = Recognizer(lambda X: seen.append(X[0].copy()) or np.array([[0.9, 0.05, 0.05]]), LABELS, SETTINGS)
    for frame in frames[:20]:
        recognizer.push(frame)
    assert np.array_equal(recognizer.window(), resample(frames[20 - SPAN:20], SETTINGS.length))
    early = Recognizer(oracle, LABELS, SETTINGS)
    for frame in frames[:5]:
        early.push(frame)
    lead = np.concatenate([still(frames[0], SPAN - 5), frames[:5]])
    assert np.array_equal(early.window(), resample(lead, SETTINGS.length))


def test_a_camera_fed_frame_by_frame_says_what_the_recording_says():
    frames = np.concatenate([sign(0), still(sign(0)[-1], 10), sign(1), still(sign(1)[-1], 40)])
    whole = recognise(oracle, LABELS, SETTINGS, frames).emissions
    live, heard = Recognizer(oracle, LABELS, SETTINGS, on_emission=lambda e: heard.append(e)), []
    for frame in frames:
        live.push(frame)
    live.finish()
    assert [(e.sign, e.frame) for e in heard] == [(e.sign, e.frame) for e in whole] and len(whole) == 2


def test_each_sign_is_said_soon_after_its_last_frame():
    frames = np.concatenate([sign(0), still(sign(0)[-1], 30)])
    emission = recognise(oracle, LABELS, SETTINGS, frames).emissions[0]
    assert SPAN - 1 < emission.frame <= SPAN - 1 + SETTINGS.gap + 1


def test_settings_come_from_the_run_and_scale_with_the_frame_rate():
    from types import SimpleNamespace

    from signtrain.config import load_config

    meta = SimpleNamespace(live={"recording_frames": 45, "fps": 30, "motion": 0.003}, sequence_length=48,
                           config=load_config())
    at30, at15 = LiveSettings.of(meta, 30), LiveSettings.of(meta, 15)
    assert (at30.span, at30.length, at30.resample, at30.motion) == (45, 48, True, 0.003)
    assert at15.span == 22 or at15.span == 23
    older = SimpleNamespace(live=None, sequence_length=30, config=load_config("base"))
    assert LiveSettings.of(older).span == 30 and not LiveSettings.of(older).resample


def test_calibration_reads_length_and_movement_from_recordings():
    facts = calibrate([sign(0, frames=20), sign(1, frames=40), sign(2, frames=30)])
    assert facts["recording_frames"] == 30 and 0 < facts["motion"] < 0.05


def smooth_sign(k: int, frames: int) -> np.ndarray:
    """Sign k without jitter: the same path whatever the frame count (a slower or faster signer)."""
    t = np.linspace(0, 3, frames)
    return np.stack([np.full(frames, k + 1.0), *(np.sin(t * (j + 1)) * (k + 1) * 0.1 for j in range(3))],
                    axis=1).astype(np.float32)


@pytest.mark.parametrize("lengths", [(12, 20, 16), (20, 45, 30), (48, 48, 48), (70, 107, 90), (7, 60, 107)])
def test_calibration_of_resampled_recordings_is_at_the_cameras_rate(lengths):
    """Training stores recordings resampled to sequence_length: a 107-frame recording squeezed to 48
    moves more per stored frame than the signer did per camera frame.  The movement threshold the live
    path compares camera frames with must be the raw recordings' (the same within a few percent)."""
    raw = [smooth_sign(k % 3, n) for k, n in enumerate(lengths)]
    stored = [resample(r, 48) for r in raw]
    expected, got = calibrate(raw), calibrate(stored, list(lengths))
    assert got["recording_frames"] == expected["recording_frames"] == int(np.median(lengths))
    assert got["motion"] == pytest.approx(expected["motion"], rel=0.05)


def test_alignment_and_scoring_count_what_a_user_would():
    assert align(["a", "b", "c"], ["a", "c"]) == [(0, 0), (1, None), (2, 1)]
    assert align(["a", "b"], ["a", "a", "b"]) in ([(0, 0), (None, 1), (1, 2)], [(None, 0), (0, 1), (1, 2)])
    assert align(["a", "b"], ["a", "a", "b"], [0, 20], [12, 15, 32]) == [(0, 0), (None, 1), (1, 2)]
    # a sign signed twice, said three times: what came before the second began is not the second's
    assert align(["a", "a"], ["a", "a", "a"], [0, 20], [12, 15, 32]) == [(0, 0), (None, 1), (1, 2)]
    from signtrain.deploy.live import Emission

    sentence = Sentence(np.zeros((100, 2)), ["a", "b", "b"], [10, 30, 50], 51, repeat=True)
    row = Row("still", 0.5, 0, 0)
    score(row, sentence, [Emission("a", 14, 0, 0.9), Emission("b", 33, 0, 0.9), Emission("b", 33, 0, 0.9),
                          Emission("b", 55, 0, 0.9), Emission("a", 90, 0, 0.9)], fps=30.0)
    assert (row.errors, row.words, row.rest_emissions, row.repeats_asked, row.repeats_said) == (1, 3, 1, 1, 1)
    assert row.repeated == 1 and row.missed == 0 and row.delays[0] == pytest.approx(4 / 30)


def _distance(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return len(a) + len(b)
    return min(_distance(a[1:], b) + 1, _distance(a, b[1:]) + 1, _distance(a[1:], b[1:]) + (a[0] != b[0]))


@pytest.mark.parametrize("seed", range(40))
def test_the_alignment_counts_the_fewest_errors(seed):
    rng = np.random.default_rng(seed)
    reference, said = ([str(c) for c in rng.integers(0, 3, rng.integers(0, 6))] for _ in range(2))
    timed = rng.uniform(0, 100, len(reference)), rng.uniform(0, 100, len(said))
    pairs = align(reference, said, *timed) if seed % 2 else align(reference, said)
    assert [r for r, _ in pairs if r is not None] == list(range(len(reference)))   # every word once, in order
    assert [s for _, s in pairs if s is not None] == list(range(len(said)))       # every emission once, in order
    errors = sum(1 for r, s in pairs if r is None or s is None or reference[r] != said[s])
    assert errors == _distance(reference, said)


@pytest.mark.parametrize("words, at, copies", [(["a", "b", "c"], 0, 2), (["a", "b", "c"], 1, 2),
                                               (["a", "b", "c"], 2, 3), (["a", "b", "b", "c"], 1, 2), (["a"], 0, 3),
                                               (["a", "b"], 1, 2)])
def test_a_sign_said_on_time_and_again_later_is_timed_by_its_first_emission(words, at, copies):
    from signtrain.deploy.live import Emission

    starts = [30 * k + 3 for k in range(len(words))]
    ends = [start + 16 for start in starts]
    emissions = [Emission(w, end + 2, 0, 0.9) for w, end in zip(words, ends)]
    # the same sign said again, later - before the next sign is said, or (a sign twice) while it is signed
    emissions[at + 1:at + 1] = [Emission(words[at], ends[at] + 2 + 2 * k, 0, 0.9) for k in range(1, copies)]
    row = Row("still", 0.5, 0, 0)
    score(row, Sentence(np.zeros((200, 2)), words, ends, ends[-1] + 1, starts=starts), emissions, fps=30.0)
    assert row.errors == copies - 1 and row.delays == [pytest.approx(2 / 30)] * len(words)
    early = [Emission(words[at], ends[at] - 8, 0, 0.9)]        # said while signed (a long sign), and again after
    row = Row("still", 0.5, 0, 0)
    score(row, Sentence(np.zeros((200, 2)), words, ends, ends[-1] + 1, starts=starts), early + emissions[:at + 1]
          if at == 0 else emissions[:at] + early + emissions[at:at + 1], fps=30.0)
    assert row.delays[at] == pytest.approx(-8 / 30)


def test_sentences_are_built_from_the_recordings_with_the_pause_asked():
    recordings = [(LABELS[k % 3], sign(k % 3, seed=k)) for k in range(9)]
    rng = np.random.default_rng(0)
    sentence = build(recordings, rng, pause=9, kind="nothing", fps=30.0)
    assert 3 <= len(sentence.words) <= 5 and sentence.rest_from == sentence.ends[-1] + 1
    assert len(sentence.frames) == sentence.rest_from + 90 and not sentence.frames[sentence.ends[0] + 1:][:9].any()
    twice = build(recordings, np.random.default_rng(1), pause=9, kind="still", repeat=True, fps=30.0)
    assert any(a == b for a, b in zip(twice.words, twice.words[1:]))


@pytest.mark.parametrize("seed", range(6))
def test_a_sentence_names_the_recordings_it_is_made_of(seed):
    recordings = [(LABELS[k % 3], sign(k % 3, frames=10 + k, seed=k)) for k in range(9)]
    sentence = build(recordings, np.random.default_rng(seed), pause=5, kind="still", repeat=seed % 2 == 1, fps=30.0)
    assert [recordings[i][0] for i in sentence.recordings] == sentence.words
    starts = [end - len(recordings[i][1]) + 1 for i, end in zip(sentence.recordings, sentence.ends)]
    for i, start, end in zip(sentence.recordings, starts, sentence.ends):
        assert np.array_equal(sentence.frames[start:end + 1], recordings[i][1])


@pytest.mark.parametrize("alone, misread", [((True, True, True), 0), ((True, False, True), 2), ((False, True, True), 1),
                                            ((False, False, False), 3)])
def test_a_row_counts_the_words_the_model_misreads_even_alone(alone, misread):
    from signtrain.deploy.live import Emission

    # recording 1 is signed twice: misread alone, it counts twice
    sentence = Sentence(np.zeros((100, 2)), ["a", "b", "b"], [10, 30, 50], 51, repeat=True, recordings=[0, 1, 1])
    row = Row("still", 0.5, 0, 0)
    score(row, sentence, [Emission("a", 14, 0, 0.9), Emission("b", 33, 0, 0.9)], 30.0, alone)
    assert row.misread_alone == misread and row.to_dict()["wer_alone"] == round(misread / 3, 4)
    assert row.errors == 1  # the live path's own count is not touched


@pytest.mark.parametrize("resample_frames", [True, False])
def test_reading_alone_shows_the_model_each_recording_as_training_did(resample_frames):
    from signtrain.data.assemble import to_length
    from signtrain.deploy.sentences import read_alone

    settings = LiveSettings(**{**SETTINGS.to_dict(), "resample": resample_frames})
    recordings = [(LABELS[k % 3], sign(k % 3, frames=5 + 3 * k, seed=k)) for k in range(6)]
    seen = []

    def misreads_thanks(X):
        seen.append(X)
        best = oracle(X).argmax(axis=1)
        return np.eye(len(LABELS))[np.where(best == 1, 0, best)]

    assert read_alone(misreads_thanks, LABELS, settings, recordings) == [word != "thanks" for word, _ in recordings]
    expected = [to_length(frames, settings.length, resample_frames, settings.truncate) for _, frames in recordings]
    assert np.array_equal(seen[0], np.stack(expected))


def test_the_golden_sentences_say_what_they_said():
    """tests/golden/live.json: the cases the browser page's port of the rule replays too (test_web.py)."""
    import json
    import sys
    from pathlib import Path

    golden_dir = Path(__file__).parent / "golden"
    sys.path.insert(0, str(golden_dir))
    try:
        from make_live import predict
    finally:
        sys.path.remove(str(golden_dir))
    golden = json.loads((golden_dir / "live.json").read_text())
    assert len(golden["cases"]) >= 10
    for case in golden["cases"]:
        settings = LiveSettings(**case["settings"])
        said = recognise(predict, golden["labels"], settings, np.asarray(case["frames"], np.float32)).emissions
        assert [{"sign": e.sign, "frame": e.frame, "start_frame": e.start_frame} for e in said] == case["said"], \
            case["name"]


@pytest.mark.parametrize("resampled", [True, False])
@pytest.mark.parametrize("lengths", [(12, 20, 16, 30), (20, 45, 30, 40), (7, 33, 48, 25), (7, 60, 107, 25)])
def test_a_run_records_the_movement_of_its_raw_recordings(tmp_path, resampled, lengths):
    """What training saves for the live path (training/save._live_facts), from the rows as the data
    stores them - resampled to 48 frames, or padded or cut at the camera's rate - is the calibration of
    the recordings themselves (of the frames kept, where they were cut)."""
    from types import SimpleNamespace

    from signtrain.data.assemble import fit_length
    from signtrain.training.save import _live_facts

    raw = [smooth_sign(k % 3, n) for k, n in enumerate(lengths)]
    rows = [resample(r, 48) if resampled else fit_length(r, 48, "keep_start")[0] for r in raw]
    signs = np.arange(len(lengths)) % 3
    dataset = SimpleNamespace(X=np.stack(rows), lengths=np.array(lengths), root=str(tmp_path), y=signs, labels=LABELS)
    prepared = SimpleNamespace(dataset=dataset, split=SimpleNamespace(train=np.arange(len(lengths))))
    kept = raw if resampled else [r[:48] for r in raw]
    facts, expected = _live_facts(prepared, resampled), calibrate(kept)
    assert facts["recording_frames"] == int(np.median(lengths)) and facts["fps"] is None
    assert facts["motion"] == pytest.approx(expected["motion"], rel=0.05)
    # each sign's extent, at the camera's rate: these signs move from their first frame to their last
    for k, label in enumerate(LABELS):
        own = [len(r) for r, s in zip(kept, signs) if s == k]
        assert facts["sign_frames"][label] == pytest.approx(np.median(own), abs=1.5)


@pytest.mark.parametrize("lengths", [(12, 20, 16), (20, 45, 30), (7, 60, 107)])
@pytest.mark.parametrize("rest", [0, 5, 20])
def test_a_signs_extent_is_its_movement_not_the_rest_around_it(lengths, rest):
    """Still frames before and after a sign are not the sign; a stored (resampled) recording gives the extent
    of the raw one; the typical extent is the median of the sign's recordings."""
    raw = [np.concatenate([still(r[0], rest), r, still(r[-1], rest)]) for r in (smooth_sign(0, n) for n in lengths)]
    motion = calibrate([smooth_sign(0, n) for n in lengths])["motion"]
    assert sign_extents(raw, [len(r) for r in raw], ["hello"] * 3, motion) == {"hello": int(np.median(lengths))}
    stored = [resample(r, 48) for r in raw]
    got = sign_extents(stored, [len(r) for r in raw], ["hello"] * 3, motion)["hello"]
    assert got == pytest.approx(np.median(lengths), abs=max(2.0, 0.05 * np.median(lengths)))
    assert sign_extents([still(raw[0][0], 10)], [10], ["hello"], motion) == {}  # nothing moves: nothing known
