"""One coordinate vocabulary for the whole package: every form of a point, a pass and a colour,
and the only functions that convert between them.

A *point* is a pair ``(row, col)`` with row 0 at the **bottom** of the board (sgfmill's
orientation), or its *flat index* ``row * size + col``, which is what the rules core, the
feature planes and the policy network's outputs use. A *move* is a flat index or a pass.

=====================  ==================  ===============  ==============================
form                   a point             a pass           used by
=====================  ==================  ===============  ==============================
move (``Move``)        flat ``row*size+col``  ``None``      rules, players, search, records
(row, col)             ``(row, col)``      ``None``         sgfmill, :func:`move_to_point`
action / target index  flat index          ``size*size``    environment actions, loader targets,
                                                            :func:`move_to_action`
stored move (int16)    flat index          ``PASS`` (-1)    dataset shards, :func:`move_to_stored`
GTP vertex             ``"D4"`` (no I)     ``"pass"``       GTP, :func:`to_gtp` / :func:`from_gtp`
SGF point              ``"dp"`` (from top)  ``""`` / ``"tt"``  SGF files, :func:`to_sgf` / :func:`from_sgf`
=====================  ==================  ===============  ==============================

GTP vertices: ``A1`` is the bottom-left corner, columns skip ``I`` (``H`` is followed by
``J``), case-insensitive. SGF points: two letters, column then row counted from the **top**
(``aa`` is the top-left corner); ``tt`` is a pass on boards up to 19x19.

Colours are the ints ``BLACK`` and ``WHITE`` inside the package. At the edges:
``'b'``/``'w'`` (:func:`colour_letter`, sgfmill's and SGF's names), ``"black"``/``"white"``
(:func:`colour_name`, options and messages; :func:`colour_title` capitalises it), and
:func:`parse_colour` reads any of them. "Colour" or "to_move" names a colour; "player" is
reserved for an object that chooses moves.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

EMPTY, BLACK, WHITE = 0, 1, 2
MIN_SIZE, MAX_SIZE = 2, 25
GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # no I; 25 letters, one per column up to 25x25

Move = Optional[int]  # flat index, or None for a pass
PASS = -1  # a pass as a stored move (dataset shards, int16)


def opponent(colour: int) -> int:
    """The other colour."""
    return BLACK + WHITE - colour


def parse_colour(text: str) -> int:
    """``'b'``, ``'black'``, ``'w'``, ``'white'`` (any case) -> BLACK / WHITE."""
    name = text.strip().lower()
    if name in ("b", "black"):
        return BLACK
    if name in ("w", "white"):
        return WHITE
    raise ValueError(f"not a colour: {text!r}")


def colour_letter(colour: int) -> str:
    """BLACK / WHITE -> ``'b'`` / ``'w'`` (sgfmill's names)."""
    return {BLACK: "b", WHITE: "w"}[colour]


def colour_name(colour: int) -> str:
    """BLACK / WHITE -> ``"black"`` / ``"white"``."""
    return {BLACK: "black", WHITE: "white"}[colour]


def colour_title(colour: int) -> str:
    """BLACK / WHITE -> ``"Black"`` / ``"White"`` (for messages and board captions)."""
    return colour_name(colour).capitalize()


def move_to_action(move: Move, size: int) -> int:
    """A move -> its action / target index: the flat index, or ``size*size`` for a pass."""
    return size * size if move is None else move


def action_to_move(action: int, size: int) -> Move:
    """An action / target index (``0..size*size``) -> a move; ValueError outside that range."""
    if not 0 <= action <= size * size:
        raise ValueError(f"action {action} is not in 0..{size * size}")
    return None if action == size * size else action


def move_to_stored(move: Move) -> int:
    """A move -> its stored form (dataset shards): the flat index, or ``PASS``."""
    return PASS if move is None else move


def stored_to_move(stored: int) -> Move:
    """A stored move -> a move."""
    return None if stored == PASS else int(stored)


def stored_to_actions(stored: np.ndarray, size: int) -> np.ndarray:
    """Stored moves (an array) -> their action / target indices (``PASS`` -> ``size*size``), vectorised."""
    return np.where(stored == PASS, size * size, stored)


def check_size(size: int) -> int:
    """Returns ``size`` if it is a supported board size, else raises ValueError."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"board size {size} is not in {MIN_SIZE}..{MAX_SIZE}")
    return size


def to_flat(row: int, col: int, size: int) -> int:
    """(row, col) -> flat index; raises ValueError off the board."""
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"({row}, {col}) is off a {size}x{size} board")
    return row * size + col


def from_flat(point: int, size: int) -> tuple[int, int]:
    """Flat index -> (row, col); raises ValueError off the board."""
    if not 0 <= point < size * size:
        raise ValueError(f"point {point} is off a {size}x{size} board")
    return divmod(point, size)


def neighbours(point: int, size: int) -> list[int]:
    """The flat indices of ``point``'s on-board neighbours (2 to 4 of them)."""
    row, col = divmod(point, size)
    return [point + step for step, on_board in ((-size, row > 0), (size, row < size - 1), (-1, col > 0), (1, col < size - 1))
            if on_board]


def move_to_point(move: Move, size: int) -> Optional[tuple[int, int]]:
    """A move (flat or None) -> (row, col) or None, sgfmill's move form."""
    return None if move is None else from_flat(move, size)


def point_to_move(point: Optional[tuple[int, int]], size: int) -> Move:
    """(row, col) or None (sgfmill's move form) -> flat index or None."""
    return None if point is None else to_flat(point[0], point[1], size)


def to_gtp(move: Move, size: int) -> str:
    """Flat index or None -> ``'D4'`` / ``'pass'``."""
    if move is None:
        return "pass"
    row, col = from_flat(move, size)
    return f"{GTP_COLUMNS[col]}{row + 1}"


def from_gtp(vertex: str, size: int) -> Move:
    """``'D4'``, ``'d4'``, ``'pass'`` -> flat index or None; ValueError if not a vertex on this board."""
    text = vertex.strip().upper()
    if text == "PASS":
        return None
    if len(text) < 2 or text[0] not in GTP_COLUMNS or not text[1:].isdigit() or text[1] == "0":
        raise ValueError(f"not a GTP vertex: {vertex!r}")
    col, row = GTP_COLUMNS.index(text[0]), int(text[1:]) - 1
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"vertex {vertex!r} is off a {size}x{size} board")
    return row * size + col


def to_sgf(move: Move, size: int) -> str:
    """Flat index or None -> SGF point text (``''`` for a pass)."""
    if move is None:
        return ""
    row, col = from_flat(move, size)
    return "abcdefghijklmnopqrstuvwxyz"[col] + "abcdefghijklmnopqrstuvwxyz"[size - 1 - row]


def from_sgf(text: str, size: int) -> Move:
    """SGF point text -> flat index or None (``''`` and, up to 19x19, ``'tt'`` are passes)."""
    if text == "" or (text == "tt" and size <= 19):
        return None
    if len(text) != 2 or not text.isalpha() or not text.islower():
        raise ValueError(f"not an SGF point: {text!r}")
    col, row_from_top = ord(text[0]) - ord("a"), ord(text[1]) - ord("a")
    return to_flat(size - 1 - row_from_top, col, size)
