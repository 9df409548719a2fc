"""Saying the signs, offline: pyttsx3 over espeak-ng (the signtrain[speech] extra; Debian's espeak-ng).

A sign is said as the text the config maps it to (speech.words: ["iloveyou=I love you"]), else
as its name with _ and - read as spaces.  `Speaker.say` speaks now; `write_wav` puts the spoken
sentence in a WAV file, published whole like every file signtrain writes."""

from __future__ import annotations

import contextlib
import io
import time
import wave
from pathlib import Path
from typing import Any

from signtrain.errors import SigntrainError

INSTALL = ("pip install 'signtrain[speech]' (pyttsx3) and the espeak-ng speech engine "
           "(Debian/Ubuntu: apt-get install espeak-ng; macOS and Windows have their own voices)")


WRITE_WAIT_S = 10.0  # at most this long for the engine to finish a WAV after runAndWait returned


class SpeechUnavailable(SigntrainError):
    exit_code = 1


def mapping(words: tuple[str, ...]) -> dict[str, str]:
    """speech.words entries 'sign=text' -> {sign: text}."""
    return dict(entry.split("=", 1) for entry in words if "=" in entry)


def spoken(sign: str, words: dict[str, str]) -> str:
    return words.get(sign) or sign.replace("_", " ").replace("-", " ")


def _engine() -> Any:
    try:
        import pyttsx3
    except ImportError:
        raise SpeechUnavailable(f"speaking needs pyttsx3, which is not installed: {INSTALL}") from None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return pyttsx3.init()
    except Exception as exc:  # noqa: BLE001 - no driver, no library: the same advice
        raise SpeechUnavailable(f"no speech engine could be started ({type(exc).__name__}: "
                                f"{str(exc)[:120]}): {INSTALL}") from None


class Speaker:
    """Says each text as it comes (blocking for the length of the words)."""

    def __init__(self) -> None:
        self.engine = _engine()

    def say(self, text: str) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # the espeak driver announces what it does
            self.engine.say(text)
            self.engine.runAndWait()


def write_wav(texts: list[str], path: Path) -> Path:
    """The spoken sentence as a WAV file (a short silence when nothing was said)."""
    from signtrain.store import publish

    path = Path(path)
    publish.check_target(path, folder=False)
    staged = publish.staging_path(path, ".wav")
    engine = _engine()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(". ".join(texts) if texts else " ", str(staged))
            engine.runAndWait()
            finished = _finished(engine, staged, WRITE_WAIT_S)
        if not finished:
            raise SpeechUnavailable(f"{path}: the speech engine wrote nothing; {INSTALL}")
        publish.place(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return path


def _finished(engine: Any, staged: Path, timeout: float) -> bool:
    """Whether the engine wrote a whole WAV to `staged` within `timeout` s.  pyttsx3's espeak driver
    writes it from espeak's callback thread and its runAndWait can return before that (seen under
    load; nateshmbhat/pyttsx3#219 "Espeak returns early"): wait, bounded, until the engine is idle
    and the file holds every frame its header names."""
    deadline = time.monotonic() + timeout
    while True:
        if not engine.isBusy() and _whole_wav(staged):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _whole_wav(path: Path) -> bool:
    try:
        with wave.open(str(path)) as w:
            return path.stat().st_size >= w.getnframes() * w.getsampwidth() * w.getnchannels()
    except (OSError, EOFError, wave.Error):
        return False
