"""The ``gopolicy gtp`` command, and the one place where a GTP engine is wired together: the
protocol (:mod:`gopolicy.gtp.protocol`) with the shared game state and the command sets for
the board and rules, time, SGF, move generation and analysis.

``GtpEngine()`` without a player is a rules-only engine (``genmove`` answers ``? no move
generator loaded``); with a player (an :class:`~gopolicy.play.player.EnginePlayer`, or a
:class:`~gopolicy.gtp.loading.BackgroundPlayer` loading one) it plays and analyses.

The command line loads the bundled policy model (or ``--model``) and, when there is one, a
value network (``--value``, by default ``value.pt`` beside the bundled model): with it the
engine searches (about a second a move unless ``--playouts`` / ``--seconds`` say otherwise,
never longer than the clock allows) and resigns below ``--resign-below``; without it, or with
``--playouts 0``, it plays the raw policy.
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
from gopolicy.play.player import BATCH_SIZE, DEFAULT_SECONDS, EnginePlayer
from gopolicy.play.search import VALUE_SOURCES
from gopolicy.util import args as types
from gopolicy.util.args import add_batch_size, add_device, add_precision

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "default.pt"
DEFAULT_VALUE = DEFAULT_MODEL.parent / "value.pt"
RESIGN_BELOW = 0.1  # win rate: the paper's resignation threshold, a value of -0.8


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
        moves = MoveCommands(self.state, player, self.clock)
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
                 allow_suicide: bool = False, threads: Optional[int] = None,
                 value: Optional[Union[os.PathLike, str]] = None, **options) -> GtpEngine:
    """The GTP engine for a model file (None: the bundled model, if there is one) and a value
    network's file (None: no search), loaded in the background; ``options`` are EnginePlayer's."""
    if model is None and DEFAULT_MODEL.exists():
        model = DEFAULT_MODEL
    if model is None:
        load = _no_model
    else:
        def load() -> EnginePlayer:
            return load_player(model, threads, value_path=value, **options)
    return GtpEngine(BackgroundPlayer(load), superko=superko, allow_suicide=allow_suicide)


# -- the command line --------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help=f"policy model file (default: the bundled {DEFAULT_MODEL.name})")
    parser.add_argument("--value", metavar="PATH", type=types.existing_file,
                        help=f"value model file: the engine searches with it (default: {DEFAULT_VALUE.name} beside "
                             "the bundled model, when it exists; without one the raw policy plays)")
    parser.add_argument("--playouts", metavar="N", type=types.non_negative_int,
                        help="search playouts a move (0: no search, the raw policy; default: no limit but --seconds)")
    parser.add_argument("--seconds", metavar="S", type=types.positive_float,
                        help=f"search seconds a move (default: {DEFAULT_SECONDS:g} when --playouts is not given, "
                             "else no limit); never more than the game's clock allows")
    add_batch_size(parser, BATCH_SIZE, "search leaves per network pass")
    parser.add_argument("--value-from", choices=VALUE_SOURCES, default="head",
                        help="the search's values: the value network's output (head, the default), the area its "
                             "ownership head expects with komi (score), or the mean of the two")
    parser.add_argument("--temperature", type=types.non_negative_float, default=0.0,
                        help="0 plays the best move (default); T > 0 samples with p ** (1/T), or visits ** (1/T) "
                             "when searching")
    parser.add_argument("--sample-moves", metavar="N", type=types.non_negative_int, default=0,
                        help="sample the game's first N moves at temperature 1 (varied games in matches; default 0)")
    parser.add_argument("--symmetries", action="store_true",
                        help="average the raw policy over the 8 board symmetries; searching, evaluate each "
                             "position under a random one of them (AlphaGo's search)")
    add_precision(parser, fp32_alias=True)
    add_device(parser)
    parser.add_argument("--resign-below", metavar="WINRATE", type=types.fraction, default=RESIGN_BELOW,
                        help=f"searching, resign when the engine's win rate is below this (default {RESIGN_BELOW:g}, "
                             "the paper's value -0.8; 0: never)")
    resign = parser.add_mutually_exclusive_group()
    resign.add_argument("--resign", action="store_true",
                        help="also resign hopeless games without a search (behind by a third of the board late "
                             "in the game, by the count; default: play them out)")
    resign.add_argument("--no-resign", action="store_true", help="never resign (the same as --resign-below 0)")
    parser.add_argument("--superko", action="store_true",
                        help="rules: forbid repeating a whole-board position (the engine never repeats one anyway)")
    parser.add_argument("--allow-suicide", action="store_true", help="rules: allow suicide (Tromp-Taylor, New Zealand)")
    parser.add_argument("--seed", type=int, help="random seed for sampling with a temperature")
    parser.add_argument("--threads", type=types.positive_int, help="CPU threads for the networks (default: torch's choice)")


def run(args: argparse.Namespace) -> int:
    """Serves GTP on stdin/stdout until ``quit`` or end of input."""
    if args.model is not None and not os.path.isfile(args.model):
        log(f"no such model file: {args.model}")
        return 1
    value = args.value if args.value is not None else (DEFAULT_VALUE if DEFAULT_VALUE.is_file() else None)
    engine = build_engine(args.model, superko=args.superko, allow_suicide=args.allow_suicide, threads=args.threads,
                          value=value, playouts=args.playouts, seconds=args.seconds, batch_size=args.batch_size,
                          resign_below=0.0 if args.no_resign else args.resign_below,
                          temperature=args.temperature, symmetries=args.symmetries, precision=args.precision,
                          device=args.device, resign=args.resign, seed=args.seed, value_from=args.value_from,
                          sample_moves=args.sample_moves)
    engine.serve(sys.stdin, sys.stdout)
    # Leave at once: neither wait for a model still loading nor for torch's slow clean-up
    # (GUIs expect an engine to be gone soon after quit).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
