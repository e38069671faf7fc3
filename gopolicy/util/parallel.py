"""Order-preserving parallel map over worker processes, for the batch jobs (stats, prepare)."""
from __future__ import annotations

import itertools
import signal
from collections import deque
from multiprocessing import get_context
from typing import Callable, Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _start_worker(initializer: Optional[Callable[[], None]]) -> None:
    """First thing in a worker, forked with the stop signals blocked: SIGTERM must end it
    (it is how the pool ends its workers), whatever Python handler the parent had; then the
    caller's ``initializer``; only then the signals, any that came meanwhile included."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if initializer is not None:
            initializer()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def bounded_map(function: Callable[[T], R], items: Iterable[T], jobs: int, initializer: Optional[Callable[[], None]] = None) -> Iterator[R]:
    """``map`` over ``jobs`` worker processes, in order, holding only a few items in flight.

    (``Pool.imap`` would read the whole input ahead into memory.) ``jobs <= 1`` runs
    inline; ``initializer`` runs once in each process that does the work. The workers are
    forked with SIGINT and SIGTERM blocked until they are set up, so that a pool ended at
    once (an empty input, Ctrl-C) cannot leave a worker that caught the parent's stop handler
    waiting for work forever; a finished map lets its workers exit without a signal.
    """
    if jobs <= 1:
        if initializer is not None:
            initializer()
        yield from map(function, items)
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        pool = get_context().Pool(jobs, initializer=_start_worker, initargs=(initializer,))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    finished = False
    try:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(function, (item,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        finished = True
    finally:
        if finished:
            pool.close()
        else:
            pool.terminate()
        pool.join()
