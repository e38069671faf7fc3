"""The game the GTP command sets share: the rules, the board, and how it came about.

The state is the list of what happened (setup stones, moves) with the komi and rules; the
:class:`~gopolicy.go.rules.Game` is derived from it. A game keeps no board snapshots
(``undoable=False``: a loaded record of 100,000 moves would otherwise hold gigabytes);
``undo`` replays the list without its last move instead, which takes milliseconds for a
game of normal length. So a loaded game is undoable like a played one, moves played
after the load included.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

from gopolicy.go.coords import Move
from gopolicy.go.rules import Game


@dataclass(frozen=True)
class Placement:
    """Stones placed without a move (handicap, SGF AB/AW/AE); ``to_move``: who moves next, if it says."""

    black: tuple[int, ...] = ()
    white: tuple[int, ...] = ()
    empty: tuple[int, ...] = ()
    to_move: Optional[int] = None


@dataclass(frozen=True)
class Played:
    colour: int
    move: Move


Event = Union[Placement, Played]


class GameState:
    """The current game under fixed rules (``allow_suicide``, ``superko``); read :attr:`game`,
    change it only through the methods here."""

    def __init__(self, *, allow_suicide: bool = False, superko: bool = False, size: int = 19, komi: float = 7.5):
        self.rules = {"allow_suicide": allow_suicide, "superko": superko}
        self._size, self._komi = size, komi
        self.events: list[Event] = []
        self.game = self._new_game()

    def _new_game(self) -> Game:
        return Game(self._size, self._komi, undoable=False, **self.rules)

    @property
    def size(self) -> int:
        return self._size

    def clear(self, size: Optional[int] = None) -> None:
        """An empty board (of ``size``, or the same size); the komi stays."""
        self._size = self._size if size is None else size
        self.events = []
        self.game = self._new_game()

    def set_komi(self, komi: float) -> None:
        self._komi = komi
        self.game.komi = komi

    def setup(self, setup: Placement) -> None:
        self._apply(self.game, setup)
        self.events.append(setup)

    def play(self, colour: int, move: Move) -> None:
        """Plays ``move``; IllegalMoveError (the game unchanged) if the rules forbid it."""
        self.game.play(colour, move)
        self.events.append(Played(colour, move))

    def undo(self) -> bool:
        """Takes back the last move and any setup after it; False if no move was played."""
        last = max((i for i, event in enumerate(self.events) if isinstance(event, Played)), default=None)
        if last is None:
            return False
        self.replace(self._size, self._komi, self.events[:last])
        return True

    def replace(self, size: int, komi: float, events: Sequence[Event]) -> None:
        """Makes the game ``events`` lead to (IllegalMoveError, the state unchanged, if one of their moves is illegal)."""
        game = Game(size, komi, undoable=False, **self.rules)
        for event in events:
            if isinstance(event, Placement):
                self._apply(game, event)
            else:
                game.play(event.colour, event.move)
        self._size, self._komi, self.events, self.game = size, komi, list(events), game

    @staticmethod
    def _apply(game: Game, setup: Placement) -> None:
        game.setup(setup.black, setup.white, setup.empty)
        if setup.to_move is not None:
            game.to_move = setup.to_move

    def root_stones(self) -> tuple[list[int], list[int]]:
        """(black, white): the stones set up before the first move."""
        black, white = [], []
        for event in self.events:
            if isinstance(event, Played):
                break
            black = [p for p in black if p not in event.white and p not in event.empty] + list(event.black)
            white = [p for p in white if p not in event.black and p not in event.empty] + list(event.white)
        return black, white

