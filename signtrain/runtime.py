"""Importing TensorFlow quietly: its C++ start-up lines (oneDNN, CUDA probing) are noise to a user.

TF_CPP_MIN_LOG_LEVEL silences most of them; a few are written at import time
before that setting is read, so stderr is muted for the import alone (an import
error is still shown).  Set SIGNTRAIN_TF_LOGS=1 to see everything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from typing import Callable, Iterator, Optional


@contextlib.contextmanager
def muted_stderr() -> Iterator[None]:
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def import_tensorflow(stop: Optional[Callable[[], bool]] = None) -> None:
    """Import TensorFlow and Keras once, without their start-up chatter.

    stop: asked every 0.1 s while the import runs (in a thread: it takes 5-20 s, and a Ctrl-C must not
    wait for it); when it says yes this returns at once, unfinished, and the caller stops."""
    if "keras" in sys.modules and "tensorflow" in sys.modules or os.environ.get("SIGNTRAIN_TF_LOGS"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    failure: list[BaseException] = []

    def load() -> None:
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            failure.append(exc)

    pressed: list[int] = []
    previous = None
    if stop is None and threading.current_thread() is threading.main_thread():
        # no caller watching Ctrl-C: watch it here, and raise it the moment it comes
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
        stop = lambda: bool(pressed)  # noqa: E731
    try:
        with muted_stderr():
            if stop is None:
                load()
            else:
                loader = threading.Thread(target=load, name="import-tensorflow", daemon=True)
                loader.start()
                while loader.is_alive():
                    loader.join(0.1)
                    if stop():
                        break
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt
    if stop is not None and stop():
        return
    if failure:
        raise failure[0]
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")


@contextlib.contextmanager
def quiet_tensorflow() -> Iterator[None]:
    """Converters (TFLite, tf2onnx) talk on stderr and through warnings; a user needs none of it.
    SIGNTRAIN_TF_LOGS=1 lets it through."""
    if os.environ.get("SIGNTRAIN_TF_LOGS"):
        yield
        return
    loggers = [logging.getLogger(name) for name in ("absl", "tensorflow", "tf2onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), muted_stderr():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def missing_modules(*names: str) -> list[str]:
    """The optional packages among names that are not installed (looked up, not imported)."""
    import importlib.util

    return [name for name in names if importlib.util.find_spec(name) is None]
