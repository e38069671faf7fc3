"""Life and death at the end of a game, by Monte-Carlo ownership.

From the position, many random games are played to the end (compiled, ``Board.playout_ownership``:
each side plays uniformly random legal moves that do not fill its own true eyes, and passes
when it has none). A point's *ownership* is the mean, over those games, of +1 where Black
owns it at the end and -1 where White does. On a finished game this is the classic estimate
of life and death: a living group keeps its points in every playout, a dead one is captured
in nearly all of them.

* :func:`dead_stones`: stones whose points the opponent owns on average (ownership of the
  other colour's sign, beyond ``DEAD_MARGIN``).
* :func:`final_score`: Tromp-Taylor area (with komi) once the dead stones are removed, the
  count of a game that ended by agreement.

Seki is not told apart from life: stones in seki count as alive, their shared liberties as
neutral (as Tromp-Taylor counts them).
"""
from __future__ import annotations

import numpy as np

from gopolicy.go.coords import BLACK, WHITE
from gopolicy.go.rules import Game

PLAYOUTS = 256
DEAD_MARGIN = 0.2  # a stone is dead when its point's ownership leans to the opponent by more than this


def ownership(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> np.ndarray:
    """Float (size*size,) in [-1, 1]: +1 owned by Black at the end of every playout, -1 by White."""
    total = np.zeros(game.size * game.size, np.int32)
    game.board.playout_ownership(game.to_move, playouts, seed, total, allow_suicide=game.allow_suicide)
    return total / playouts


def dead_stones(game: Game, playouts: int = PLAYOUTS, seed: int = 0, owner: np.ndarray | None = None) -> list[int]:
    """The points of the stones judged dead (flat indices, sorted); ``owner``: ownership already estimated."""
    owner = ownership(game, playouts, seed) if owner is None else owner
    stones = game.stones().reshape(-1)
    dead = ((stones == BLACK) & (owner < -DEAD_MARGIN)) | ((stones == WHITE) & (owner > DEAD_MARGIN))
    return [int(p) for p in np.flatnonzero(dead)]


def without_dead(game: Game, dead: list[int]) -> Game:
    """A copy of ``game`` with the ``dead`` stones removed (as prisoners are at the count)."""
    cleared = game.copy(undoable=False)
    cleared.setup(empty=dead)
    return cleared


def final_score(game: Game, playouts: int = PLAYOUTS, seed: int = 0, dead: list[int] | None = None) -> float:
    """Black's area minus White's minus komi, the dead stones removed (> 0: Black wins)."""
    dead = dead_stones(game, playouts, seed) if dead is None else dead
    return without_dead(game, dead).score()

