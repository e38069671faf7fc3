"""Order-preserving parallel map over worker processes, for the batch jobs (stats, prepare)."""
from __future__ import annotations

import itertools
from collections import deque
from multiprocessing import get_context
from typing import Callable, Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def bounded_map(function: Callable[[T], R], items: Iterable[T], jobs: int, initializer: Optional[Callable[[], None]] = None) -> Iterator[R]:
    """``map`` over ``jobs`` worker processes, in order, holding only a few items in flight.

    (``Pool.imap`` would read the whole input ahead into memory.) ``jobs <= 1`` runs
    inline; ``initializer`` runs once in each process that does the work.
    """
    if jobs <= 1:
        if initializer is not None:
            initializer()
        yield from map(function, items)
        return
    with get_context().Pool(jobs, initializer=initializer) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(function, (item,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
