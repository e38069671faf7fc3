"""The full list of skipped games, one line each, so that a user can find every one.

Counts by reason say how much was lost; this list says which games: ``stats --skipped
FILE`` and every ``prepare`` (``DATASET/skipped.tsv``) write it, as tab-separated
columns with a header line::

    source    reason    move    detail

``source`` names the game as :mod:`gopolicy.sgf.archives` does (``ARCHIVE:MEMBER``, with
``#N`` for the N-th game of a collection, or the file's path), ``move`` is the 1-based
number of the move at fault (empty when no single move is), ``detail`` the rest of the
message. Tabs and line breaks inside a field become spaces.
"""
from __future__ import annotations

import re
from typing import Iterable, NamedTuple, Optional

from gopolicy.errors import RecordError
from gopolicy.util.files import PathLike, write_bytes_atomic

COLUMNS = ("source", "reason", "move", "detail")
MAX_DETAIL = 300  # characters of detail kept per game


class SkippedGame(NamedTuple):
    """One game a command could not use (a tuple: it pickles from worker processes and
    serialises to JSON as a list)."""

    source: str
    reason: str
    move: Optional[int] = None
    detail: str = ""

    @classmethod
    def from_error(cls, error: RecordError) -> "SkippedGame":
        return cls(error.source, error.reason, error.move_number, error.detail[:MAX_DETAIL])


_SPACE = re.compile(r"[\t\r\n]+")


def _cell(value) -> str:
    return "" if value is None else _SPACE.sub(" ", str(value))


def write_skipped(path: PathLike, games: Iterable[Iterable]) -> int:
    """Writes ``games`` (SkippedGame rows, or lists of the same four fields) as the TSV above,
    atomically; returns how many rows it wrote."""
    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join(_cell(value) for value in game) for game in games]
    write_bytes_atomic(path, ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))
    return len(lines) - 1


def read_skipped(path: PathLike) -> list[SkippedGame]:
    """The rows of a file written by :func:`write_skipped`."""
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    return [SkippedGame(source, reason, int(move) if move else None, detail) for source, reason, move, detail in rows]
