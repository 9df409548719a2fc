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
