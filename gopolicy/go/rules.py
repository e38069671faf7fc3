"""The rules of Go: a game with its board, history, undo, ko/superko and scoring.

The board itself (strings, liberties, captures, simple ko, Zobrist hashes,
Tromp-Taylor area) is compiled (``gopolicy/csrc``) and exposed as
``gopolicy._board.Board``; :class:`Game` adds what a game needs on top of it:
whose turn it is, the move history, undo, optional positional superko, the
end of the game after two passes, and the score with komi.

Moves are flat indices (``row * size + col``, row 0 at the bottom) or
``None`` for a pass; see :mod:`gopolicy.go.coords`.
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from gopolicy import _board
from gopolicy.errors import IllegalMoveError
from gopolicy.go.coords import BLACK, GTP_COLUMNS, WHITE, Move, check_size, colour_letter, opponent, to_gtp

Board = _board.Board

_REASONS = {
    _board.ILLEGAL_OCCUPIED: "occupied",
    _board.ILLEGAL_KO: "ko",
    _board.ILLEGAL_SUICIDE: "suicide",
    _board.ILLEGAL_OFF_BOARD: "off board",
}


class Game:
    """A game in progress.

    Rules: suicide is illegal unless ``allow_suicide`` (Tromp-Taylor and New
    Zealand rules allow it); simple ko always; positional superko (no
    repetition of a whole-board position) if ``superko``. Two passes in a row
    end the game (:attr:`is_over`); moves after that are still accepted, as
    GTP clean-up phases need. Either colour may move at any time (records and
    GTP allow two moves of one colour in a row); :attr:`to_move` is the colour
    after the last move.

    ``undoable=False`` keeps no board snapshots: :meth:`undo` is unavailable,
    and replaying a record (a copy of the board per move otherwise) is several
    times faster.
    """

    def __init__(self, size: int = 19, komi: float = 7.5, *, allow_suicide: bool = False, superko: bool = False,
                 undoable: bool = True):
        self.board = Board(check_size(size))
        self.size = size
        self.komi = komi
        self.allow_suicide = allow_suicide
        self.superko = superko
        self.undoable = undoable
        self.to_move = BLACK
        self.history: list[tuple[int, Move]] = []
        self._snapshots: list[tuple[Board, int, int]] = []  # (board, to_move, len(_position_log)) before each move
        self._position_log: list[int] = [self.board.hash]  # hashes of the positions reached, in order
        self._positions: dict[int, int] = {self.board.hash: 1}  # stone hash -> times seen, for superko

    # -- moves -----------------------------------------------------------------
    def play(self, colour: int, move: Move) -> int:
        """Plays ``move`` for ``colour``; returns the number of stones captured.

        Raises IllegalMoveError (reason 'occupied', 'ko', 'superko', 'suicide'
        or 'off board') and leaves the game unchanged if the move is illegal.
        """
        if move is not None and self.superko:
            self._check_superko(colour, move)
        before = self.board.copy() if self.undoable else None
        captured = self.board.play(colour, move, self.allow_suicide)
        if captured < 0:
            raise IllegalMoveError(_REASONS[captured], self._vertex(move), colour_letter(colour))
        if before is not None:
            self._snapshots.append((before, self.to_move, len(self._position_log)))
        self.history.append((colour, move))
        self.to_move = opponent(colour)
        self._log_position()
        return captured

    def _log_position(self) -> None:
        h = self.board.hash
        self._position_log.append(h)
        self._positions[h] = self._positions.get(h, 0) + 1

    def _repeats_position(self, colour: int, move: int) -> bool:
        """Whether a legal-by-simple-ko ``move`` would recreate an earlier position."""
        return self.board.hash_after(colour, move, self.allow_suicide) in self._positions

    def _check_superko(self, colour: int, move: int) -> None:
        if self.board.check(colour, move, self.allow_suicide) == 0 and self._repeats_position(colour, move):
            raise IllegalMoveError("superko", self._vertex(move), colour_letter(colour))

    def undo(self) -> tuple[int, Move]:
        """Takes back the last move (and any setup stones placed after it) and returns it;
        IndexError if there is none."""
        if not self.history:
            raise IndexError("no move to undo")
        if not self.undoable:
            raise IndexError("this game keeps no snapshots to undo with (undoable=False)")
        board, self.to_move, logged = self._snapshots.pop()
        self.board = board.copy()  # snapshots are shared with copies of this game: never modify one
        while len(self._position_log) > logged:
            h = self._position_log.pop()
            self._positions[h] -= 1
            if not self._positions[h]:
                del self._positions[h]
        return self.history.pop()

    def setup(self, black: Iterable[int] = (), white: Iterable[int] = (), empty: Iterable[int] = ()) -> None:
        """Places setup stones (SGF AB/AW/AE, GTP handicap): no captures, no history, ko cleared."""
        for points, colour in ((black, BLACK), (white, WHITE), (empty, 0)):
            points = list(points)
            if points:
                self.board.set_stones(points, colour)
        self._log_position()

    # -- queries ---------------------------------------------------------------
    def is_legal(self, colour: int, move: Move) -> bool:
        """Whether ``colour`` may play ``move`` now (a pass always may)."""
        if move is None:
            return True
        if self.board.check(colour, move, self.allow_suicide) != 0:
            return False
        return not (self.superko and self._repeats_position(colour, move))

    def legal_mask(self, colour: int, superko: Optional[bool] = None) -> np.ndarray:
        """Boolean array (size*size,): where ``colour`` may play now (passes aside).

        ``superko``: also rule out moves that would repeat an earlier whole-board
        position; None follows the game's rules. True lets a player avoid repetitions
        even where the rules only forbid simple ko (the GTP engine does).
        """
        mask = np.zeros(self.size * self.size, np.uint8)
        self.board.legal_mask(colour, mask, self.allow_suicide)
        if self.superko if superko is None else superko:
            hashes = np.zeros(self.size * self.size, np.uint64)
            self.board.hashes_after(colour, hashes, self.allow_suicide)
            seen = self._positions  # a dict lookup per point: 3x faster than np.isin against the history
            mask &= np.fromiter((h not in seen for h in hashes.tolist()), np.uint8, len(hashes))
        return mask.view(bool)

    def stones(self) -> np.ndarray:
        """int8 array (size, size) indexed [row, col]: 0 empty, 1 black, 2 white."""
        out = np.zeros(self.size * self.size, np.int8)
        self.board.stones(out)
        return out.reshape(self.size, self.size)

    @property
    def move_number(self) -> int:
        """Moves played so far, passes included."""
        return len(self.history)

    @property
    def last_move(self) -> Optional[tuple[int, Move]]:
        return self.history[-1] if self.history else None

    @property
    def passes(self) -> int:
        """Passes at the end of the history, in a row."""
        n = 0
        for _, move in reversed(self.history):
            if move is not None:
                break
            n += 1
        return n

    @property
    def is_over(self) -> bool:
        """Two passes in a row end the game."""
        return self.passes >= 2

    def score(self) -> float:
        """Tromp-Taylor area score with komi: black's area minus white's minus komi (> 0: black leads)."""
        return self.board.area_score() - self.komi

    def result(self) -> str:
        """The score as an SGF/GTP result: ``'B+3.5'``, ``'W+0.5'`` or ``'0'`` for a draw."""
        s = self.score()
        return "0" if s == 0 else f"{'B' if s > 0 else 'W'}+{abs(s):g}"

    def copy(self, undoable: Optional[bool] = None) -> "Game":
        """An independent copy (the board is copied, history lists are shallow-copied);
        ``undoable=False`` gives a copy without undo snapshots, cheaper to play on (searches)."""
        other = Game.__new__(Game)
        other.__dict__.update(self.__dict__)
        other.board = self.board.copy()
        other.history = list(self.history)
        if undoable is not None:
            other.undoable = undoable
        other._snapshots = list(self._snapshots) if other.undoable else []
        other._position_log = list(self._position_log)
        other._positions = dict(self._positions)
        return other

    def _vertex(self, move: Move) -> str:
        if move is None or not 0 <= move < self.size * self.size:
            return str(move)
        return to_gtp(move, self.size)

    def __str__(self) -> str:
        """A text board, row 19 at the top, ``X`` black, ``O`` white."""
        stones = self.stones()
        cols = "   " + " ".join(GTP_COLUMNS[: self.size])
        rows = [f"{r + 1:2d} " + " ".join(".XO"[v] for v in stones[r]) + f" {r + 1}" for r in reversed(range(self.size))]
        return "\n".join([cols, *rows, cols])
