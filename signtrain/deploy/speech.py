"""Saying the signs, offline: pyttsx3 over espeak-ng (the signtrain[speech] extra; Debian's espeak-ng).

A sign is said as the text the config maps it to (speech.words: ["iloveyou=I love you"]), else
as its name with _ and - read as spaces.  `Speaker.say` speaks now; `write_wav` puts the spoken
sentence in a WAV file, published whole like every file signtrain writes."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from signtrain.errors import SigntrainError

INSTALL = ("pip install 'signtrain[speech]' (pyttsx3) and the espeak-ng speech engine "
           "(Debian/Ubuntu: apt-get install espeak-ng; macOS and Windows have their own voices)")


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
        if not staged.is_file():
            raise SpeechUnavailable(f"{path}: the speech engine wrote nothing; {INSTALL}")
        publish.place(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return path
