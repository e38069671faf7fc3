"""The one rule for the moves a player considers, shared by every caller (the GTP engine's
player, batched self-play, the RL stage, duels and the environment's opponents), so that a
network is trained under the rules it plays by.

*Candidates* (:func:`candidates`), the moves the probabilities are spread over:
  * legal under the game's rules;
  * not repeating an earlier whole-board position (positional superko), even when the rules
    only forbid simple ko: repetitions could make a game endless;
  * not filling the player's own true eye (AlphaGo's "sensibleness", feature plane 46).

*Choosing* (:func:`choose`): the best (or a sampled) candidate that does not throw stones
away, i.e. leave two or more of the player's stones in atari without capturing anything
(checked only for the move about to be played: it needs a trial move). None, a pass, when
no candidate is left.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from gopolicy.features import sensible_points
from gopolicy.go.coords import Move
from gopolicy.go.rules import Board, Game

Pick = Callable[[np.ndarray], int]  # weights (N,) float64 with some > 0 -> an index with weight > 0


def _four_neighbours(mask: np.ndarray, off_board: bool) -> list[np.ndarray]:
    """For every point of ``mask`` (size, size), its four neighbours' values (``off_board`` off the board)."""
    framed = np.full((mask.shape[0] + 2, mask.shape[1] + 2), off_board)  # np.pad is slow for this
    framed[1:-1, 1:-1] = mask
    return [framed[:-2, 1:-1], framed[2:, 1:-1], framed[1:-1, :-2], framed[1:-1, 2:]]


def surrounded(stones: np.ndarray, colour: int) -> np.ndarray:
    """Flat bool: points whose on-board neighbours are all ``colour``'s stones (eye candidates)."""
    return np.logical_and.reduce(_four_neighbours(stones == colour, True)).reshape(-1)


def touching(stones: np.ndarray, colour: int) -> np.ndarray:
    """Flat bool: points next to at least one of ``colour``'s stones."""
    return np.logical_or.reduce(_four_neighbours(stones == colour, False)).reshape(-1)


def candidates(game: Game, colour: int, planes: Optional[np.ndarray] = None) -> np.ndarray:
    """Flat bool (size*size,): the moves ``colour`` considers (see the module's docstring).
    ``planes``: this position's feature planes; their sensibleness plane, when present,
    saves asking the board for true eyes."""
    mask = game.legal_mask(colour, superko=True)
    sensible = None if planes is None else sensible_points(planes)
    if sensible is not None:
        return mask & sensible
    for point in np.flatnonzero(mask & surrounded(game.stones(), colour)):
        if game.board.is_true_eye(colour, int(point)):
            mask[point] = False
    return mask


def throws_stones_away(board: Board, colour: int, move: int, allow_suicide: bool = False) -> bool:
    """Whether ``move`` captures nothing and leaves a string of 2+ of ``colour``'s stones in
    atari (or removes its own stones: suicide)."""
    after = board.copy()
    captured = after.play(colour, move, allow_suicide)
    if after.colour_at(move) != colour:
        return True
    return captured == 0 and after.liberties(move) == 1 and len(after.string(move)) >= 2


def greedy(weights: np.ndarray) -> int:
    """The index of the largest weight."""
    return int(np.argmax(weights))


def sampler(rng: np.random.Generator) -> Pick:
    """Picks an index with probability proportional to its weight."""
    def pick(weights: np.ndarray) -> int:
        cumulative = np.cumsum(weights)
        return min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), len(weights) - 1)
    return pick


def choose(game: Game, colour: int, weights: np.ndarray, pick: Pick) -> Move:
    """The move ``pick`` takes from ``weights`` (flat, > 0 on the candidates only) that does
    not throw stones away; None (a pass) when none is left."""
    weights = np.array(weights, np.float64)
    while weights.any():
        move = pick(weights)
        if weights[move] > 0 and not throws_stones_away(game.board, colour, move, game.allow_suicide):
            return move
        weights[move] = 0.0
    return None
