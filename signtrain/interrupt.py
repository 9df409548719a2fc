"""Ctrl-C during a training, at any moment.

Installed before anything slow starts (importing TensorFlow, reading the data), so no press
is lost.  The first press asks to stop: before the first epoch has finished, `poll()` raises
`Interrupted` at the next check (nothing is written); once training runs, the training loop
stops after the current batch and commits what it has.  The second press aborts at once
(KeyboardInterrupt): whatever was being staged stays invisible, the previous run intact.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable, Optional

from signtrain.errors import Interrupted

_ACTIVE: Optional["InterruptScope"] = None


class InterruptScope:
    def __init__(self, say: Callable[[str], None]) -> None:
        self.requested = False
        self.keep_going = False  # True once there is something worth committing: stop softly
        self.say = say
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.keep_going:
            self.say("Ctrl-C: stopping after this batch and saving; press Ctrl-C again to abort")
        else:
            self.say("Ctrl-C: stopping; press Ctrl-C again to abort at once")

    def __enter__(self) -> "InterruptScope":
        global _ACTIVE
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        self._outer, _ACTIVE = _ACTIVE, self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _ACTIVE
        _ACTIVE = self._outer
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def check(self, phase: str) -> None:
        """Between phases: a stop asked for before there is anything to keep ends the run here."""
        if self.requested and not self.keep_going:
            raise Interrupted(f"stopped by Ctrl-C while {phase}, before the first epoch finished: nothing was "
                              f"written, the previous run is intact")


def poll(phase: str = "reading the data") -> None:
    """For long loops (reading a large tree): end them promptly after Ctrl-C."""
    if _ACTIVE is not None:
        _ACTIVE.check(phase)
