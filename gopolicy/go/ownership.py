"""Life and death at the end of a game, by Monte-Carlo ownership and a look at what encloses what.

From the position, many random games are played to the end (compiled, ``Board.playout_ownership``,
``gopolicy/csrc/playout.c``: each side saves its own strings in atari, captures, else plays a
random legal move that neither fills its own true eye nor throws two or more stones into
atari). A point's *ownership* is the mean, over those games, of +1 where Black owns it at the
end and -1 where White does. On a finished game this is the classic estimate of life and death:
a living group keeps its points in every playout, a dead one is captured in nearly all of them.

* :func:`dead_stones`: stones whose points the opponent owns on average (ownership of the
  other colour's sign, beyond ``DEAD_MARGIN``), and stones the playouts leave undecided
  (``|ownership| < DEAD_MARGIN``) in an open area (``|ownership| < UNSETTLED``) that one colour's
  settled points enclose all round. Random play turns a capturing race between a group without eyes and the wall
  around it into a coin toss; in a game both players ended, the wall has won it.
* :func:`seki_stones`: living strings whose liberties nobody owns at the end of the playouts
  (``SEKI_LIBERTIES`` of them on average). Random play fills every dame except the shared
  liberties of a seki (filling one of the last two would put the player's own stones in atari).
* :func:`final_score`: Tromp-Taylor area (with komi) once the dead stones are removed, the
  count of a game that ended by agreement (seki stones count as alive, their shared liberties
  as neutral).
* :func:`judge`: all of these from one set of playouts.
* :func:`final_ownership`: each point's owner at that count (:func:`area` without the dead
  stones), a value network's training target.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gopolicy.go.coords import BLACK, WHITE, neighbours
from gopolicy.go.rules import Game

PLAYOUTS = 256
DEAD_MARGIN = 0.2  # a stone is dead when its point's ownership leans to the opponent by more than this
UNSETTLED = 0.35  # |ownership| below which a point is still open (for the enclosure test)
SEKI_LIBERTIES = 0.5  # a string keeping this many liberties nobody owns, on average over the playouts, is in seki


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


def _flood(starts, size: int, inside: np.ndarray, seen: np.ndarray) -> tuple[list[int], set[int]]:
    """The points connected to ``starts`` through ``inside`` points (marked in ``seen``), and the
    points just outside them."""
    area, todo, border = list(starts), list(starts), set()
    seen[area] = True
    while todo:
        for q in neighbours(todo.pop(), size):
            if not inside[q]:
                border.add(q)
            elif not seen[q]:
                seen[q] = True
                area.append(q)
                todo.append(q)
    return area, border


def _enclosed(size: int, stones: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Bool per point: undecided stones in an open area whose settled surroundings are all one colour's."""
    unsettled = np.abs(owner) < UNSETTLED
    seen = np.zeros(size * size, bool)
    dead = np.zeros(size * size, bool)
    for start in np.flatnonzero(unsettled & (stones != 0)):
        if seen[start]:
            continue
        area, border = _flood([int(start)], size, unsettled, seen)
        walls = {BLACK if owner[q] > 0 else WHITE for q in border}
        if len(walls) == 1:
            inside = np.array(area)
            prey = inside[(stones[inside] == BLACK + WHITE - walls.pop()) & (np.abs(owner[inside]) < DEAD_MARGIN)]
            dead[prey] = True
    return dead


def dead_stones(game: Game, playouts: int = PLAYOUTS, seed: int = 0, owner: np.ndarray | None = None) -> list[int]:
    """The points of the stones judged dead (flat indices, sorted); ``owner``: ownership already estimated."""
    owner = ownership(game, playouts, seed) if owner is None else owner
    stones = game.stones().reshape(-1)
    dead = ((stones == BLACK) & (owner < -DEAD_MARGIN)) | ((stones == WHITE) & (owner > DEAD_MARGIN))
    dead |= _enclosed(game.size, stones, owner)
    return [int(p) for p in np.flatnonzero(dead)]


def _seki(game: Game, dead: list[int], neutral: np.ndarray) -> list[int]:
    """The living strings whose liberties end nobody's in the playouts, ``SEKI_LIBERTIES`` of them on average."""
    size = game.size
    stones = game.stones().reshape(-1).copy()
    stones[dead] = 0
    seen = np.zeros(size * size, bool)
    found: list[int] = []
    for p in np.flatnonzero(stones):
        if not seen[p]:
            string, border = _flood([int(p)], size, stones == stones[p], seen)
            if sum(neutral[q] for q in border if not stones[q]) >= SEKI_LIBERTIES:
                found += string
    return sorted(found)


def seki_stones(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> list[int]:
    """The points of the stones judged to be in seki (alive, sharing liberties nobody can fill)."""
    return judge(game, playouts, seed).seki


def without_dead(game: Game, dead: list[int]) -> Game:
    """A copy of ``game`` with the ``dead`` stones removed (as prisoners are at the count)."""
    cleared = game.copy(undoable=False)
    cleared.setup(empty=dead)
    return cleared


def area(game: Game) -> np.ndarray:
    """int8 (size*size,): the Tromp-Taylor area of each point, +1 Black's, -1 White's, 0 neither's:
    a stone's colour, and an empty region's when only stones of one colour border it (the
    compiled count's own map). Its sum is Black's area minus White's, the count before komi."""
    owner = np.zeros(game.size * game.size, np.int8)
    game.board.area_score(owner)
    return np.where(owner == BLACK, 1, np.where(owner == WHITE, -1, 0)).astype(np.int8)


def final_ownership(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> np.ndarray:
    """int8 (size*size,): who owns each point at the count of ``game`` taken as finished, +1 Black,
    -1 White, 0 neither: the :func:`area` once the :func:`dead_stones` are removed. A value
    network's dense target (the game's outcome point by point, as KataGo learns it)."""
    return area(without_dead(game, dead_stones(game, playouts, seed)))


def final_score(game: Game, playouts: int = PLAYOUTS, seed: int = 0, dead: list[int] | None = None) -> float:
    """Black's area minus White's minus komi, the dead stones removed (> 0: Black wins)."""
    dead = dead_stones(game, playouts, seed) if dead is None else dead
    return without_dead(game, dead).score()


def judge(game: Game, playouts: int = PLAYOUTS, seed: int = 0) -> Judgement:
    """Ownership, dead stones, seki and the count, from one set of playouts."""
    owner, neutral = _playouts(game, playouts, seed, neutral=True)
    dead = dead_stones(game, owner=owner)
    return Judgement(owner, neutral, dead, _seki(game, dead, neutral), final_score(game, dead=dead))
