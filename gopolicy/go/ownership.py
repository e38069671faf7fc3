"""Life and death at the end of a game, by Monte-Carlo ownership.

From the position, many random games are played to the end (compiled, ``Board.playout_ownership``,
``gopolicy/csrc/playout.c``: each side saves its own strings in atari, captures, else plays a
random legal move that neither fills its own true eye nor throws two or more stones into
atari). A point's *ownership* is the mean, over those games, of +1 where Black owns it at the
end and -1 where White does. On a finished game this is the classic estimate of life and death:
a living group keeps its points in every playout, a dead one is captured in nearly all of them.

* :func:`dead_stones`: stones whose points the opponent owns on average (ownership of the
  other colour's sign, beyond ``DEAD_MARGIN``).
* :func:`seki_stones`: living stones next to a point that nobody owns at the end of most
  playouts. Random play fills every dame except the shared liberties of a seki (filling one
  there would put the player's own stones in atari), so such a point is a seki's.
* :func:`final_score`: Tromp-Taylor area (with komi) once the dead stones are removed, the
  count of a game that ended by agreement (seki stones count as alive, their shared liberties
  as neutral).
* :func:`judge`: all of these from one set of playouts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gopolicy.go.coords import BLACK, WHITE
from gopolicy.go.rules import Game

PLAYOUTS = 256
DEAD_MARGIN = 0.2  # a stone is dead when its point's ownership leans to the opponent by more than this
SEKI_SHARE = 0.5  # a point nobody owns at the end of more than this share of the playouts is a seki's


@dataclass(frozen=True)
class Judgement:
    """The end-of-game verdict on one position (flat point indices, sorted)."""

    owner: np.ndarray  # float (size*size,) in [-1, 1], as :func:`ownership`
    neutral: np.ndarray  # float (size*size,): share of the playouts that end with the point nobody's
    dead: list[int]
    seki: list[int]
    score: float  # as :func:`final_score`


def _playouts(game: Game, playouts: int, seed: int, neutral: bool) -> tuple[np.ndarray, np.ndarray | None]:
    n = game.size * game.size
    total = np.zeros(n, np.int32)
    nobody = np.zeros(n, np.int32) if neutral else None
    game.board.playout_ownership(game.to_move, playouts, seed, total, allow_suicide=game.allow_suicide, neutral=nobody)
    return total / playouts, None if nobody is None else nobody / playouts


def ownership(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> np.ndarray:
    """Float (size*size,) in [-1, 1]: +1 owned by Black at the end of every playout, -1 by White."""
    return _playouts(game, playouts, seed, neutral=False)[0]


def dead_stones(game: Game, playouts: int = PLAYOUTS, seed: int = 0, owner: np.ndarray | None = None) -> list[int]:
    """The points of the stones judged dead (flat indices, sorted); ``owner``: ownership already estimated."""
    owner = ownership(game, playouts, seed) if owner is None else owner
    stones = game.stones().reshape(-1)
    dead = ((stones == BLACK) & (owner < -DEAD_MARGIN)) | ((stones == WHITE) & (owner > DEAD_MARGIN))
    return [int(p) for p in np.flatnonzero(dead)]


def _seki(game: Game, dead: list[int], neutral: np.ndarray) -> list[int]:
    """The living stones next to a point that ends nobody's in most playouts (see the module's docstring)."""
    size = game.size
    stones = game.stones().reshape(-1).copy()
    stones[dead] = 0
    shared = (neutral > SEKI_SHARE) & (stones == 0)
    board = np.zeros((size + 2, size + 2), bool)
    board[1:-1, 1:-1] = shared.reshape(size, size)
    beside = (board[:-2, 1:-1] | board[2:, 1:-1] | board[1:-1, :-2] | board[1:-1, 2:]).reshape(-1)
    touching = set(np.flatnonzero(beside & (stones != 0)).tolist())
    if not touching:
        return []
    return sorted(p for p in _strings_of(game, stones, touching))


def _strings_of(game: Game, stones: np.ndarray, points: set[int]) -> set[int]:
    """Every stone of the strings through ``points`` (flood fill over same-coloured neighbours)."""
    size, found, todo = game.size, set(points), list(points)
    while todo:
        p = todo.pop()
        row, col = divmod(p, size)
        for q, ok in ((p - size, row > 0), (p + size, row < size - 1), (p - 1, col > 0), (p + 1, col < size - 1)):
            if ok and q not in found and stones[q] == stones[p]:
                found.add(q)
                todo.append(q)
    return found


def seki_stones(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> list[int]:
    """The points of the stones judged to be in seki (alive, sharing liberties nobody can fill)."""
    return judge(game, playouts, seed).seki


def without_dead(game: Game, dead: list[int]) -> Game:
    """A copy of ``game`` with the ``dead`` stones removed (as prisoners are at the count)."""
    cleared = game.copy(undoable=False)
    cleared.setup(empty=dead)
    return cleared


def final_score(game: Game, playouts: int = PLAYOUTS, seed: int = 0, dead: list[int] | None = None) -> float:
    """Black's area minus White's minus komi, the dead stones removed (> 0: Black wins)."""
    dead = dead_stones(game, playouts, seed) if dead is None else dead
    return without_dead(game, dead).score()


def judge(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> Judgement:
    """Ownership, dead stones, seki and the count, from one set of playouts."""
    owner, neutral = _playouts(game, playouts, seed, neutral=True)
    dead = dead_stones(game, owner=owner)
    return Judgement(owner, neutral, dead, _seki(game, dead, neutral), final_score(game, dead=dead))
