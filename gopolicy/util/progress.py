"""Progress for long commands: a live tqdm bar on a terminal, a few plain lines in a log.

When stderr is not a terminal (a log file, CI, a pipe), a bar redrawn ten times a second
would write thousands of lines; there the bar updates at most every ``LOG_INTERVAL``
seconds, each update one line. ``enabled=False`` (``--no-progress``) shows nothing.
"""
from __future__ import annotations

import sys
from typing import Any, Iterable, Optional

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


def progress(iterable: Optional[Iterable] = None, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar (``kwargs`` are tqdm's) that follows the rules above."""
    if not sys.stderr.isatty():
        kwargs["mininterval"] = max(kwargs.get("mininterval", 0.1), LOG_INTERVAL)
        kwargs.setdefault("maxinterval", LOG_INTERVAL * 4)
        kwargs.setdefault("ascii", True)
        kwargs.setdefault("ncols", 100)
    return tqdm(iterable, disable=not enabled, file=sys.stderr, **kwargs)
