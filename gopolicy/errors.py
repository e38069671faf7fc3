"""The base of every exception gopolicy raises on bad input, and the types several layers share.

Every error about bad input (a record, an archive, a dataset, a model file, a GTP command, a
run directory) is a :class:`GopolicyError`, so a command catches them all in one place and
prints a one-line message. The types shared across layers live here (illegal moves, unusable
records); each subsystem's own type lives with it and subclasses GopolicyError:
``DatasetError`` (gopolicy.dataset.format), ``ModelFileError`` (gopolicy.nn.modelfile),
``TrainingError`` (gopolicy.training.train), ``EvaluationError`` (gopolicy.training.evaluate), ``RunError`` (gopolicy.rl.reinforce) and
``GtpError`` (gopolicy.gtp.protocol).
"""
from __future__ import annotations

from typing import Optional


class GopolicyError(Exception):
    """Base class for errors about bad input (records, archives, datasets, models, commands)."""


class IllegalMoveError(GopolicyError, ValueError):
    """A move the rules do not allow. ``reason`` is one of ``REASONS``."""

    REASONS = ("occupied", "ko", "superko", "suicide", "off board")

    def __init__(self, reason: str, move: str = "", colour: str = ""):
        self.reason, self.move, self.colour = reason, move, colour
        super().__init__(f"illegal move {colour} {move}: {reason}".replace("  ", " "))


class RecordError(GopolicyError):
    """A game record that cannot be used. ``reason`` is a short category for counting
    (e.g. ``'malformed sgf'``, ``'illegal move'``); ``source`` names the file or archive
    member; ``move_number`` (1-based) is set when one move is at fault."""

    def __init__(self, reason: str, source: str = "", detail: str = "", move_number: Optional[int] = None):
        self.reason, self.source, self.detail, self.move_number = reason, source, detail, move_number
        where = source + (f", move {move_number}" if move_number is not None else "")
        super().__init__(f"{where}: {reason}" + (f": {detail}" if detail else ""))
