"""AlphaGo's input feature planes (Silver et al. 2016, Extended Data Table 2), as named feature sets.

The planes are computed by the compiled core (``gopolicy/csrc/features.c``); this
module names them, picks prefixes of them, and encodes positions from a
:class:`~gopolicy.go.rules.Game`, a bare board, or a whole SGF record.

Layout: ``uint8`` arrays ``(planes, size, size)`` indexed ``[plane, row, col]``,
row 0 the bottom row (sgfmill's orientation, see :mod:`gopolicy.go.coords`). Every
plane is 0/1 and relative to the *player* to move ("P"); "O" is the opponent.

Planes of ``alphago48`` (``alphago49`` adds plane 48, "player colour": 1 everywhere
when Black is to move, for a value network)::

    0-2    stone: player / opponent / empty
    3      ones
    4-11   turns since: 1..7, >=8
    12-19  liberties: 1..7, >=8
    20-27  capture size: 0..6, >=7
    28-35  self-atari size: 1..7, >=8
    36-43  liberties after move: 1..7, >=8
    44     ladder capture
    45     ladder escape
    46     sensibleness
    47     zeros

``alphago4``, ``alphago12`` and ``alphago20`` are the paper's prefixes (stone
colour + ones; + turns since; + liberties).

Conventions (those of ``shared/docs/alphago-features.md``):

* **Legality** everywhere in the features is suicide illegal plus simple ko (a
  move capturing exactly one stone whose capturing stone is then a single stone
  with one liberty bars the other colour from the captured point on the very
  next move only; a pass or any other move clears it). Never superko, even when
  the game enforces it. Non-legal points (occupied, suicide, ko) are 0 in every
  look-ahead plane (20-46); empty points are 0 in the per-stone planes (4-19).
* **Turns since** (4-11): a stone's age is the number of moves, passes
  included, made after it was placed; the last move has age 0 and sets plane 4;
  age ``a`` sets plane ``4 + min(a, 7)``. Stones with no move in the record
  (setup and handicap stones, ``AB``/``AW``) are in plane 11.
* **Liberties** (12-19): plane ``12 + min(L, 8) - 1``, ``L`` the liberty count
  of the stone's string.
* **Capture size** (20-27): for every legal move, ``n`` opponent stones
  removed, plane ``20 + min(n, 7)``: plane 20 marks the legal moves that capture
  nothing.
* **Self-atari size** (28-35): for every legal move after which P's string
  holding the new stone has exactly 1 liberty (captures removed first), plane
  ``28 + min(n, 8) - 1`` with ``n`` that string's size. A legal ko capture
  leaves its stone with one liberty, so it is a self-atari of size 1.
* **Liberties after move** (36-43): for every legal move, plane
  ``36 + min(L, 8) - 1``, ``L`` the liberties of that string after captures
  (a capture's freed points count, shared liberties of merged strings once).
* **Ladder capture** (44): a legal move p for P next to an O string S with
  exactly 2 liberties (p one of them) after which S is *ladder-captured*: with
  S in atari and O to move, every escape fails. O's escapes are S's last
  liberty and the last liberty of each P string next to S that is in atari
  (capturing it); an illegal escape fails. After an escape, the O string T
  holding S's stones with >= 3 liberties escapes; with 1 it fails; with 2 it
  fails iff some legal P move on one of T's two liberties leaves T
  ladder-captured (recursively).
* **Ladder escape** (45): a legal move p for P that saves a P string S in
  atari, by playing its last liberty or by capturing an O string next to S
  (p need not touch S), after which the P string holding S has >= 3
  liberties, or exactly 2 and no legal O move on either of them leaves it
  ladder-captured (the same definition, colours swapped).
* **Ladder bounds**: the candidate move p is ply 1 and each move read after it
  one more ply; a line that would need a move after ply 100 counts as *not
  captured*. Each query may also visit at most ``LADDER_BUDGET`` (20,000,
  ``features.c``) positions, a guard against pathological positions only;
  running out also means "not captured". Hence an unresolved ladder is never a
  capture (plane 44 = 0) and always an escape (plane 45 = 1).
* **Sensibleness** (46): legal and not P's own true eye. A point is P's true
  eye when every on-board neighbour is a P stone and, of its diagonal points,
  at most 1 is an O stone when all four are on the board, none when the point
  is on the edge or in a corner.
* **Passes** are moves (they age stones and clear ko); positions before a pass
  are still positions (:func:`game_planes` yields them with move ``None``), only
  the pass is no policy target.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np

from gopolicy.go.coords import colour_letter, move_to_point, parse_colour
from gopolicy.go.rules import Board, Game
from gopolicy.sgf.records import GameRecord, read_game, replay

ALL_PLANES = 49  # the most the compiled core computes


def _group(title: str, values: list[str]) -> list[str]:
    return [f"{title}: {value}" for value in values]


_ONE_TO_EIGHT = ["1", "2", "3", "4", "5", "6", "7", ">=8"]
PLANE_NAMES: tuple[str, ...] = tuple(
    ["stone: player", "stone: opponent", "stone: empty", "ones"]
    + _group("turns since", _ONE_TO_EIGHT)
    + _group("liberties", _ONE_TO_EIGHT)
    + _group("capture size", ["0", "1", "2", "3", "4", "5", "6", ">=7"])
    + _group("self-atari size", _ONE_TO_EIGHT)
    + _group("liberties after move", _ONE_TO_EIGHT)
    + ["ladder capture", "ladder escape", "sensibleness", "zeros", "player colour"]
)
assert len(PLANE_NAMES) == ALL_PLANES


@dataclass(frozen=True)
class FeatureSet:
    """A named prefix of the 49 planes: ``planes`` of them, called ``plane_names``."""

    name: str
    planes: int
    description: str

    @property
    def plane_names(self) -> list[str]:
        return list(PLANE_NAMES[: self.planes])


FEATURE_SETS: dict[str, FeatureSet] = {
    fs.name: fs
    for fs in (
        FeatureSet("alphago4", 4, "stone colour, ones"),
        FeatureSet("alphago12", 12, "stone colour, ones, turns since"),
        FeatureSet("alphago20", 20, "stone colour, ones, turns since, liberties"),
        FeatureSet("alphago48", 48, "the SL policy network's 48 planes"),
        FeatureSet("alphago49", 49, "the 48 planes + player colour (value network)"),
    )
}


def get_feature_set(name: Union[str, FeatureSet]) -> FeatureSet:
    """The feature set called ``name`` (a FeatureSet passes through); ValueError naming the valid ones."""
    if isinstance(name, FeatureSet):
        return name
    try:
        return FEATURE_SETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown feature set {name!r}; valid names: {', '.join(FEATURE_SETS)}") from None


def _colour(colour: Union[int, str]) -> int:
    return parse_colour(colour) if isinstance(colour, str) else colour


def encode(game_or_board: Union[Game, Board], colour: Union[int, str], feature_set: Union[str, FeatureSet] = "alphago48",
           out: Optional[np.ndarray] = None) -> np.ndarray:
    """The planes of one position for ``colour`` (BLACK/WHITE or ``'b'``/``'w'``) to move.

    Returns a ``uint8`` array ``(planes, size, size)``, ``[plane, row, col]``, row 0 at
    the bottom; any board size the rules support. With ``out`` (a C-contiguous ``uint8``
    array of that shape, e.g. one row of a batch) the planes are written there instead of a
    new array: the one way every caller reaches the compiled core.
    """
    board = game_or_board.board if isinstance(game_or_board, Game) else game_or_board
    if out is None:
        out = np.empty((get_feature_set(feature_set).planes, board.size, board.size), np.uint8)
    board.planes(_colour(colour), out)
    return out


# -- reading positions' planes back: what callers need to know of the layout --------------

CAPTURE_SIZE_PLANES = slice(PLANE_NAMES.index("capture size: 0"), PLANE_NAMES.index("capture size: >=7") + 1)
EMPTY_PLANE = PLANE_NAMES.index("stone: empty")
SENSIBLENESS_PLANE = PLANE_NAMES.index("sensibleness")


def _points(plane):
    """``(..., size, size)`` -> ``(..., size*size)``: the flat point order of :mod:`gopolicy.go.coords`."""
    return plane.reshape(*plane.shape[:-2], -1)


def legal_points(planes):
    """Bool ``(..., size*size)``: the legal points of the positions whose planes are
    ``planes`` ``(..., planes, size, size)`` (numpy or torch, any dtype, batched or not).

    Exact (suicide and simple ko barred, never superko, as everywhere in the features)
    when the capture-size planes are present, since every legal move is in exactly one
    of them; with fewer planes (``alphago4/12/20``) the empty points stand in.
    """
    if planes.shape[-3] >= CAPTURE_SIZE_PLANES.stop:
        return _points(planes[..., CAPTURE_SIZE_PLANES, :, :].sum(-3) > 0)
    return _points(planes[..., EMPTY_PLANE, :, :] > 0)


def sensible_points(planes):
    """Bool ``(..., size*size)``: plane 46 (legal and not the player's own true eye) of
    ``planes`` ``(..., planes, size, size)``, or None when the feature set lacks it."""
    if planes.shape[-3] <= SENSIBLENESS_PLANE:
        return None
    return _points(planes[..., SENSIBLENESS_PLANE, :, :] > 0)


SgfSource = Union[str, os.PathLike, bytes]


def _read_record(sgf: SgfSource) -> GameRecord:
    if isinstance(sgf, (bytes, bytearray, memoryview)):
        return read_game(bytes(sgf))
    return read_game(Path(sgf).read_bytes(), str(sgf))


def game_planes(sgf: SgfSource, feature_set: str = "alphago48") -> Iterator[tuple[np.ndarray, str, Optional[tuple[int, int]]]]:
    """``(planes, colour, move)`` for every move of the main line of one SGF game.

    ``sgf``: a path or the bytes of one game. ``planes``: the position before the
    move, ``uint8 (planes, size, size)`` (19x19 for the model), ``[plane, row,
    col]``, row 0 at the bottom, for the colour that actually moves
    (``'b'``/``'w'``, even when one colour moves twice in a row). ``move``:
    ``(row, col)``, or None for a pass. Setup stones (``AB``/``AW``/``AE``, in the
    root or later nodes) are placed where the record has them. Raises
    RecordError for a bad record (after the positions before an illegal move).
    """
    record = _read_record(sgf)
    features = get_feature_set(feature_set)  # an unknown name fails before any replay
    for game, colour, move in replay(record):
        yield encode(game, colour, features), colour_letter(colour), move_to_point(move, record.size)
