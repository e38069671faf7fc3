"""The ``gopolicy gtp`` command, and the one place where a GTP engine is wired together: the
protocol (:mod:`gopolicy.gtp.protocol`) with the shared game state and the command sets for
the board and rules, time, SGF, move generation and analysis.

``GtpEngine()`` without a player is a rules-only engine (``genmove`` answers ``? no move
generator loaded``); with a player (an :class:`~gopolicy.play.player.EnginePlayer`, or a
:class:`~gopolicy.gtp.loading.BackgroundPlayer` loading one) it plays and analyses.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Union

from gopolicy.errors import GopolicyError
from gopolicy.go.rules import Game
from gopolicy.gtp.analysis import AnalysisCommands
from gopolicy.gtp.board_commands import BoardCommands
from gopolicy.gtp.loading import BackgroundPlayer, load_player, log
from gopolicy.gtp.move_commands import MoveCommands
from gopolicy.gtp.protocol import GtpProtocol
from gopolicy.gtp.sgf_commands import SgfCommands
from gopolicy.gtp.state import GameState
from gopolicy.gtp.time_commands import TimeCommands
from gopolicy.play.player import EnginePlayer
from gopolicy.util.args import add_device, add_precision, non_negative_float, positive_int

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "default.pt"


class GtpEngine(GtpProtocol):
    """A whole GTP engine: the protocol, the game ``state`` and every command set.

    ``player`` chooses moves and gives the analysis its probabilities (None: rules only).
    ``allow_suicide``, ``superko``: the rules.
    """

    def __init__(self, player=None, *, name: str = "gopolicy", allow_suicide: bool = False, superko: bool = False):
        super().__init__(name)
        self.player = player
        self.state = GameState(allow_suicide=allow_suicide, superko=superko)
        self.clock = TimeCommands()
        moves = MoveCommands(self.state, player, self.clock.clock)
        can_play = player.can_play if player is not None else (lambda size: True)
        for command_set in (BoardCommands(self.state, can_play), self.clock, SgfCommands(self.state), moves):
            self.add(command_set)
        if player is not None:
            self.add(AnalysisCommands(self, self.state, player, moves))

    @property
    def game(self) -> Game:
        """The current game (read it; change it through the commands or :attr:`state`)."""
        return self.state.game


def _no_model() -> EnginePlayer:
    raise GopolicyError(f"no model: start the engine with --model PATH (there is no bundled model at {DEFAULT_MODEL})")


def build_engine(model: Optional[Union[os.PathLike, str]] = None, *, superko: bool = False,
                 allow_suicide: bool = False, threads: Optional[int] = None, **options) -> GtpEngine:
    """The GTP engine for a model file (None: the bundled model, if there is one), loaded in
    the background; ``options`` are EnginePlayer's."""
    if model is None and DEFAULT_MODEL.exists():
        model = DEFAULT_MODEL
    if model is None:
        load = _no_model
    else:
        def load() -> EnginePlayer:
            return load_player(model, threads, **options)
    return GtpEngine(BackgroundPlayer(load), superko=superko, allow_suicide=allow_suicide)


# -- the command line --------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help=f"model file (default: the bundled {DEFAULT_MODEL.name})")
    parser.add_argument("--temperature", type=non_negative_float, default=0.0,
                        help="0 plays the most probable move (default); T > 0 samples with p ** (1/T)")
    parser.add_argument("--symmetries", action="store_true", help="average the network over the 8 board symmetries")
    add_precision(parser, fp32_alias=True)
    add_device(parser)
    parser.add_argument("--resign", action="store_true", help="resign hopeless games (default: play them out)")
    parser.add_argument("--superko", action="store_true",
                        help="rules: forbid repeating a whole-board position (the engine never repeats one anyway)")
    parser.add_argument("--allow-suicide", action="store_true", help="rules: allow suicide (Tromp-Taylor, New Zealand)")
    parser.add_argument("--seed", type=int, help="random seed for sampling with a temperature")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for the network (default: torch's choice)")


def run(args: argparse.Namespace) -> int:
    """Serves GTP on stdin/stdout until ``quit`` or end of input."""
    if args.model is not None and not os.path.isfile(args.model):
        log(f"no such model file: {args.model}")
        return 1
    engine = build_engine(args.model, superko=args.superko, allow_suicide=args.allow_suicide, threads=args.threads,
                          temperature=args.temperature, symmetries=args.symmetries, precision=args.precision,
                          device=args.device, resign=args.resign, seed=args.seed)
    engine.serve(sys.stdin, sys.stdout)
    # Leave at once: neither wait for a model still loading nor for torch's slow clean-up
    # (GUIs expect an engine to be gone soon after quit).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
