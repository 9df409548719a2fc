"""Speech: what a sign is said as, a spoken sentence written to a WAV that is not silent and grows with
its words, and a clear message where no engine is installed."""

import sys
import wave

import numpy as np
import pytest

from signtrain.deploy import speech


def loudness(path) -> tuple[int, float]:
    with wave.open(str(path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return len(samples), float(np.abs(samples.astype(np.float64)).mean())


def test_a_sign_is_said_as_the_config_maps_it_or_as_its_name():
    words = speech.mapping(("iloveyou=I love you", "thank-you=thanks a lot", "broken"))
    assert words == {"iloveyou": "I love you", "thank-you": "thanks a lot"}
    assert speech.spoken("iloveyou", words) == "I love you" and speech.spoken("good_morning", words) == "good morning"


def test_the_spoken_sentence_is_a_wav_that_grows_with_its_words(tmp_path):
    one = speech.write_wav(["hello"], tmp_path / "one.wav")
    three = speech.write_wav(["hello", "thank you", "I love you"], tmp_path / "three.wav")
    (n1, level1), (n3, level3) = loudness(one), loudness(three)
    assert level1 > 50 and level3 > 50  # not silence
    assert n3 > 1.5 * n1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.wav", "three.wav"]  # no staging left


def test_no_engine_is_one_line_naming_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyttsx3", None)
    with pytest.raises(speech.SpeechUnavailable, match=r"signtrain\[speech\].*espeak-ng"):
        speech.write_wav(["hello"], tmp_path / "x.wav")
    assert not list(tmp_path.iterdir())


class _LateEngine:
    """An engine whose runAndWait returns before its thread has written the WAV (pyttsx3's espeak
    driver under load), or that never writes one."""

    def __init__(self, delay, writes=True):
        self.delay, self.writes, self.busy = delay, writes, False

    def save_to_file(self, text, filename):
        self.text, self.filename = text, filename

    def runAndWait(self):
        import threading

        self.busy = True

        def write():
            import time

            time.sleep(self.delay)
            if self.writes:
                with wave.open(self.filename, "wb") as w:
                    w.setnchannels(1), w.setsampwidth(2), w.setframerate(22050)
                    w.writeframes((np.sin(np.arange(2205 * len(self.text))) * 3000).astype(np.int16).tobytes())
                self.busy = False

        threading.Thread(target=write, daemon=True).start()

    def isBusy(self):
        return self.busy


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_a_wav_the_engine_finishes_after_returning_is_waited_for(monkeypatch, tmp_path, delay):
    monkeypatch.setattr(speech, "_engine", lambda: _LateEngine(delay))
    path = speech.write_wav(["hello", "thanks"], tmp_path / "said.wav")
    assert loudness(path)[0] == 2205 * len("hello. thanks") and loudness(path)[1] > 50
    assert [p.name for p in tmp_path.iterdir()] == ["said.wav"]


@pytest.mark.parametrize("delay", [0.0, 5.0])
def test_an_engine_that_writes_nothing_is_refused_in_bounded_time(monkeypatch, tmp_path, delay):
    monkeypatch.setattr(speech, "_engine", lambda: _LateEngine(delay, writes=False))
    monkeypatch.setattr(speech, "WRITE_WAIT_S", 0.2)
    with pytest.raises(speech.SpeechUnavailable, match="wrote nothing"):
        speech.write_wav(["hello"], tmp_path / "said.wav")
    assert not list(tmp_path.iterdir())
