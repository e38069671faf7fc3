"""One interrupt scheme for long jobs: Ctrl-C or SIGTERM asks the job to stop at its next safe point.

Inside ``with StopRequest() as stop:`` the first SIGINT/SIGTERM only sets ``stop.requested``;
the job's loop checks it between steps, saves its state atomically and returns, so an
interrupted run can always be resumed. A second signal raises KeyboardInterrupt at once
(the user insists). Outside the main thread, where handlers cannot be installed, the
signals keep their usual effect.
"""
from __future__ import annotations

import signal
import threading
from typing import Optional


class StopRequest:
    """Turns SIGINT/SIGTERM into a flag for the duration of a ``with`` block."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: Optional[str] = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
