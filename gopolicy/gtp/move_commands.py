"""GTP's move generation: ``genmove``, ``reg_genmove`` and ``kgs-genmove_cleanup``, asked of a
player (any object with ``genmove(game, colour, seconds, allow_resign=, cleanup=)``, such as
:class:`gopolicy.play.player.EnginePlayer`); without one they answer ``? no move generator loaded``."""
from __future__ import annotations

from typing import Callable, Optional

from gopolicy.go.coords import to_gtp
from gopolicy.gtp.protocol import GtpError, Handler, colour_arg, require_args
from gopolicy.gtp.state import GameState

RESIGN = "resign"


class MoveCommands:
    """``clock(colour)``: the seconds a move may take (None: untimed)."""

    def __init__(self, state: GameState, player, clock: Callable[[int], Optional[float]] = lambda colour: None):
        self.state, self.player, self.clock = state, player, clock

    def commands(self) -> dict[str, Handler]:
        return {"genmove": self.genmove, "reg_genmove": self.reg_genmove, "kgs-genmove_cleanup": self.genmove_cleanup}

    def _generate(self, args: list[str], play: bool, **options) -> str:
        require_args(args, 1)
        colour = colour_arg(args[0])
        if self.player is None:
            raise GtpError("no move generator loaded")
        move = self.player.genmove(self.state.game, colour, self.clock(colour), **options)
        if move == RESIGN:
            return RESIGN
        if play:
            self.state.play(colour, move)
        return to_gtp(move, self.state.size)

    def genmove(self, args: list[str]) -> str:
        """Chooses a move for the colour and plays it."""
        return self._generate(args, play=True)

    def reg_genmove(self, args: list[str]) -> str:
        """Chooses a move without playing it (regression tests); never resigns."""
        return self._generate(args, play=False, allow_resign=False)

    def genmove_cleanup(self, args: list[str]) -> str:
        """The clean-up phase's genmove: dead stones are captured before passing."""
        return self._generate(args, play=True, cleanup=True)
