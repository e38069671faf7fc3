"""GTP's move generation: ``genmove``, ``reg_genmove`` and ``kgs-genmove_cleanup``, asked of a
player (any object with ``genmove(game, colour, seconds, allow_resign=, cleanup=)``, such as
:class:`gopolicy.play.player.EnginePlayer`); without one they answer ``? no move generator loaded``.

Each move gets the seconds the clock allows (:mod:`gopolicy.gtp.time_commands`), and the
time it took is charged to the clock."""
from __future__ import annotations

import time
from typing import Optional

from gopolicy.go.coords import to_gtp
from gopolicy.gtp.protocol import GtpError, Handler, colour_arg, require_args
from gopolicy.gtp.state import GameState
from gopolicy.gtp.time_commands import TimeCommands

RESIGN = "resign"


class MoveCommands:
    """The move commands on ``state``; ``clock``: the time commands' clock (None: untimed)."""

    def __init__(self, state: GameState, player, clock: Optional[TimeCommands] = None):
        self.state, self.player, self.clock = state, player, clock

    def commands(self) -> dict[str, Handler]:
        return {"genmove": self.genmove, "reg_genmove": self.reg_genmove, "kgs-genmove_cleanup": self.genmove_cleanup}

    def generate(self, colour: int, play: bool = True, **options) -> str:
        """The player's move for ``colour`` as a GTP vertex (or ``resign``), played if ``play``;
        ``options`` go to the player's genmove."""
        if self.player is None:
            raise GtpError("no move generator loaded")
        start = time.monotonic()
        seconds = self.clock.clock(colour) if self.clock is not None else None
        move = self.player.genmove(self.state.game, colour, seconds, **options)
        if self.clock is not None:
            self.clock.charge(colour, time.monotonic() - start)
        if move == RESIGN:
            return RESIGN
        if play:
            self.state.play(colour, move)
        return to_gtp(move, self.state.size)

    def _generate(self, args: list[str], play: bool, **options) -> str:
        require_args(args, 1)
        return self.generate(colour_arg(args[0]), play, **options)

    def genmove(self, args: list[str]) -> str:
        """Chooses a move for the colour and plays it."""
        return self._generate(args, play=True)

    def reg_genmove(self, args: list[str]) -> str:
        """Chooses a move without playing it (regression tests); never resigns."""
        return self._generate(args, play=False, allow_resign=False)

    def genmove_cleanup(self, args: list[str]) -> str:
        """The clean-up phase's genmove: dead stones are captured before passing."""
        return self._generate(args, play=True, cleanup=True)
