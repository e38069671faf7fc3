"""A slow, obviously-correct reference of the 49 feature planes: the oracle for the compiled core.

Every look-ahead plane is read off a copy of the board after the move has really
been played (``Board.copy``, ``Board.play`` and the captures it reports,
``Board.liberties``, ``Board.string``); legality is whatever ``Board.play`` accepts;
ladders are read by plain recursion over board copies, straight from the
definitions in ``shared/docs/alphago-features.md`` (summarised in
:mod:`gopolicy.features`). There is no node budget here, only the 100-ply bound.

Turns since comes from the game's move history: a stone's age is counted from the
last move played on its point; a stone no move placed (setup) is in plane 11. (A
setup stone added mid-game where a captured stone of its colour was once played
would be miscounted; no position tested here has one.)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np

from gopolicy.go.coords import BLACK, EMPTY, opponent
from gopolicy.go.rules import Board, Game

MAX_PLY = 100


def neighbours(board: Board, p: int) -> tuple[int, ...]:
    return _around(board.size, p, ((-1, 0), (1, 0), (0, -1), (0, 1)))


def diagonals(board: Board, p: int) -> tuple[int, ...]:
    return _around(board.size, p, ((-1, -1), (-1, 1), (1, -1), (1, 1)))


@lru_cache(maxsize=None)
def _around(size: int, p: int, steps: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """The on-board points at ``steps`` (row, col) from ``p``."""
    row, col = divmod(p, size)
    return tuple((row + dr) * size + col + dc for dr, dc in steps if 0 <= row + dr < size and 0 <= col + dc < size)


def liberties_of(board: Board, stone: int) -> set[int]:
    """The empty points next to the string at ``stone``."""
    return {q for s in board.string(stone) for q in neighbours(board, s) if board.colour_at(q) == EMPTY}


def adjacent_strings(board: Board, stone: int, colour: int) -> list[int]:
    """One stone of each ``colour`` string touching the string at ``stone``."""
    found: dict[int, int] = {}
    for s in board.string(stone):
        for q in neighbours(board, s):
            if board.colour_at(q) == colour:
                found.setdefault(min(board.string(q)), q)
    return list(found.values())


def played(board: Board, colour: int, move: int) -> tuple[Optional[Board], int]:
    """A copy of ``board`` after ``colour`` plays ``move`` and the stones it captured; None if illegal."""
    after = board.copy()
    captured = after.play(colour, move)
    return (after, captured) if captured >= 0 else (None, 0)


# -- ladders -------------------------------------------------------------------------


def ladder_captured(board: Board, stone: int, ply: int) -> bool:
    """The string at ``stone`` is in atari, its owner to move, ``ply`` plies read: does every escape fail?"""
    if ply + 1 > MAX_PLY:
        return False
    prey = board.colour_at(stone)
    escapes = liberties_of(board, stone)
    for hunter_stone in adjacent_strings(board, stone, opponent(prey)):
        if board.liberties(hunter_stone) == 1:
            escapes |= liberties_of(board, hunter_stone)
    return all(escape_fails(board, stone, move, ply + 1) for move in escapes)


def escape_fails(board: Board, stone: int, move: int, ply: int) -> bool:
    after, _ = played(board, board.colour_at(stone), move)
    return after is None or not is_safe(after, stone, ply + 1)


def is_safe(board: Board, stone: int, hunter_ply: int) -> bool:
    """After its owner's move: the string at ``stone`` has 3+ liberties, or 2 and no hunter move on them catches it."""
    libs = board.liberties(stone)
    return libs >= 3 or (libs == 2 and not any(hunter_catches(board, stone, q, hunter_ply) for q in liberties_of(board, stone)))


def hunter_catches(board: Board, stone: int, move: int, ply: int) -> bool:
    """Whether the hunter's ``move`` (ply ``ply``) on a liberty of the 2-liberty string at ``stone`` ladder-captures it."""
    if ply > MAX_PLY:
        return False
    after, _ = played(board, opponent(board.colour_at(stone)), move)
    return after is not None and after.liberties(stone) == 1 and ladder_captured(after, stone, ply)


def ladder_capture(board: Board, player: int, p: int) -> bool:
    targets = [q for q in neighbours(board, p) if board.colour_at(q) == opponent(player) and board.liberties(q) == 2]
    if not targets:
        return False
    after, _ = played(board, player, p)
    return after is not None and any(after.liberties(q) == 1 and ladder_captured(after, q, 1) for q in targets)


def strings_saved_by(board: Board, player: int, p: int) -> list[int]:
    """A stone of each ``player`` string in atari that p may save: p is its last liberty or captures its neighbour."""
    saved = []
    for q in neighbours(board, p):
        if board.colour_at(q) == player and board.liberties(q) == 1:
            saved.append(q)
        elif board.colour_at(q) == opponent(player) and board.liberties(q) == 1:
            saved += [s for s in adjacent_strings(board, q, player) if board.liberties(s) == 1]
    return saved


def ladder_escape(board: Board, player: int, p: int) -> bool:
    saved = strings_saved_by(board, player, p)
    if not saved:
        return False
    after, _ = played(board, player, p)
    return after is not None and any(is_safe(after, stone, 2) for stone in saved)


# -- the planes -----------------------------------------------------------------------


def is_true_eye(board: Board, colour: int, p: int) -> bool:
    if board.colour_at(p) != EMPTY or any(board.colour_at(q) != colour for q in neighbours(board, p)):
        return False
    corners = diagonals(board, p)
    enemies = sum(board.colour_at(q) == opponent(colour) for q in corners)
    return enemies <= 1 if len(corners) == 4 else enemies == 0


def ages(game: Game) -> dict[int, int]:
    """Age of every stone placed by a move still on the board (moves since it, passes included)."""
    last_move = {move: (number, colour) for number, (colour, move) in enumerate(game.history) if move is not None}
    return {p: len(game.history) - 1 - number for p, (number, colour) in last_move.items()
            if game.board.colour_at(p) == colour}


def bucket(value: int, low: int, high: int) -> int:
    """Offset of ``value`` in a one-hot group for ``low .. high-1, >=high``."""
    return min(value, high) - low


def reference_planes(game: Game, player: int) -> np.ndarray:
    """All 49 planes of ``game``'s position for ``player`` to move, uint8 (49, size, size)."""
    board, size = game.board, game.size
    planes = np.zeros((49, size * size), np.uint8)
    stone_ages = ages(game)
    planes[3] = 1
    planes[48] = player == BLACK
    for p in range(size * size):
        colour = board.colour_at(p)
        if colour != EMPTY:
            planes[0 if colour == player else 1, p] = 1
            planes[4 + bucket(stone_ages.get(p, 7), 0, 7), p] = 1
            planes[12 + bucket(board.liberties(p), 1, 8), p] = 1
            continue
        planes[2, p] = 1
        after, captured = played(board, player, p)
        if after is None:
            continue
        libs = after.liberties(p)
        planes[20 + bucket(captured, 0, 7), p] = 1
        if libs == 1:
            planes[28 + bucket(len(after.string(p)), 1, 8), p] = 1
        planes[36 + bucket(libs, 1, 8), p] = 1
        planes[44, p] = ladder_capture(board, player, p)
        planes[45, p] = ladder_escape(board, player, p)
        planes[46, p] = not is_true_eye(board, player, p)
    return planes.reshape(49, size, size)
