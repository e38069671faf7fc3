"""The ``gopolicy gtp`` command: a GTP engine that plays with a policy network, and the
analysis commands that Sabaki and GoGui display.

The engine answers at once: torch and the model load in a background thread while the
first commands (``name``, ``list_commands``, setting up the board) are answered; the first
command that needs the network waits for it.

Analysis commands (the network's probabilities over the moves genmove considers, see
:mod:`gopolicy.play.player`):

* Sabaki / Leela Zero: ``lz-analyze``, ``analyze`` ``[colour] [interval] [key value...]``
  stream ``info move D4 visits 120 winrate 5000 prior 1200 order 0 pv D4 info move ...``
  (one line, best move first) every ``interval`` centiseconds until the next command
  arrives. ``prior`` is in 1/10000; with no search there are no real visits or winrates,
  so visits are pseudo-visits, the prior x 1000 (at least 1), which makes Sabaki's heat
  map the policy, and the winrate is 50% throughout. ``lz-genmove_analyze`` and
  ``genmove_analyze`` ``colour [interval]`` send one such line, then ``play VERTEX``, and
  play the move as ``genmove`` does.
* GoGui: ``gogui-analyze_commands`` lists a heat map (``gfx`` INFLUENCE), the top moves as
  labels (``gfx`` LABEL), the raw probabilities (``dboard``) and the top moves as text.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from gopolicy.go.coords import BLACK, Move, parse_colour, to_gtp
from gopolicy.errors import GopolicyError
from gopolicy.gtp.protocol import GtpEngine, GtpError, Handler
from gopolicy.play.player import PolicyPlayer
from gopolicy.go.rules import Game

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "data" / "models" / "default.pt"
DEFAULT_INTERVAL = 1.0  # seconds between analysis lines when the GUI gives none
PSEUDO_VISITS = 1000  # visits per unit of prior in analysis lines
TOP_MOVES = 10  # moves labelled on the board by GoGui's top-moves command
TEXT_MOVES = 20  # moves listed by the text command

# Keys of KataGo's / Leela Zero's analyze commands and how many values follow each; only
# interval and maxmoves mean something here, the rest are accepted and ignored.
_ANALYZE_KEYS = {"interval": 1, "maxmoves": 1, "minmoves": 1, "ownership": 1, "ownershipstdev": 1,
                 "movesownership": 1, "pvvisits": 1, "pvedgevisits": 1, "rootinfo": 1, "avoid": 3, "allow": 3}

GOGUI_COMMANDS = (
    "gfx/Policy heat map/gopolicy-policy_heatmap %m",
    "gfx/Policy top moves/gopolicy-policy_top %m",
    "dboard/Policy probabilities/gopolicy-policy_board %m",
    "string/Policy as text/gopolicy-policy_text %m",
)


def log(message: str) -> None:
    """Engine messages go to stderr: stdout carries GTP only."""
    print(f"gopolicy gtp: {message}", file=sys.stderr, flush=True)


# -- analysis ---------------------------------------------------------------------------------

def info_line(probs: np.ndarray, size: int, maxmoves: Optional[int] = None) -> str:
    """Leela Zero's analysis line for move probabilities (flat): every move with a prior of at
    least 1/10000, best first (``maxmoves`` of them at most); a pass when there is none."""
    entries = []
    for order, point in enumerate(np.argsort(-probs, kind="stable")[:maxmoves]):
        prior = round(float(probs[point]) * 10000)
        if prior < 1:
            break
        visits = max(1, round(float(probs[point]) * PSEUDO_VISITS))
        vertex = to_gtp(int(point), size)
        entries.append(f"info move {vertex} visits {visits} winrate 5000 prior {prior} order {order} pv {vertex}")
    return " ".join(entries) or "info move pass visits 1 winrate 5000 prior 10000 order 0 pv pass"


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%" if p >= 0.095 else f"{100 * p:.1f}%"


class AnalysisCommands:
    """Sabaki's and GoGui's analysis commands for ``engine``; ``player`` gives the player
    (waiting for it to load if need be)."""

    def __init__(self, engine: GtpEngine, player: Callable[[], PolicyPlayer]):
        self.engine, self.player = engine, player

    def table(self) -> dict[str, Handler]:
        return {"lz-analyze": self.analyze, "analyze": self.analyze,
                "lz-genmove_analyze": self.genmove_analyze, "genmove_analyze": self.genmove_analyze,
                "gogui-analyze_commands": self.gogui_analyze_commands,
                "gopolicy-policy_heatmap": self.heatmap, "gopolicy-policy_top": self.top_moves,
                "gopolicy-policy_board": self.probability_board, "gopolicy-policy_text": self.text}

    # -- Sabaki ---------------------------------------------------------------------------------
    def analyze(self, args: list[str]) -> str:
        colour, interval, maxmoves = self._analyze_args(args, colour_required=False)
        line = info_line(self.player().policy(self.engine.game, colour), self.engine.game.size, maxmoves)
        self.engine.stream(line)
        while not self._wait(interval):
            self.engine.stream(line)
        return ""

    def genmove_analyze(self, args: list[str]) -> str:
        colour, _, maxmoves = self._analyze_args(args, colour_required=True)
        line = info_line(self.player().policy(self.engine.game, colour), self.engine.game.size, maxmoves)
        vertex = self.engine.cmd_genmove(args[:1])  # plays it, as genmove does
        self.engine.stream(line)
        self.engine.stream(f"play {vertex}")
        return ""

    def _analyze_args(self, args: list[str], colour_required: bool) -> tuple[int, float, Optional[int]]:
        """``[colour] [interval] [key value...]`` -> (colour, seconds between lines, maxmoves)."""
        words = list(args)
        colour, interval, maxmoves = self.engine.game.to_move, DEFAULT_INTERVAL, None
        try:
            if words and not words[0].lstrip("-").isdigit() and words[0].lower() not in _ANALYZE_KEYS:
                colour = parse_colour(words.pop(0))
            elif colour_required:
                raise ValueError("a colour is required")
            if words and words[0].lstrip("-").isdigit():
                interval = int(words.pop(0)) / 100
            while words:
                key = words.pop(0).lower()
                arity = _ANALYZE_KEYS[key]
                if len(words) < arity:
                    raise ValueError(f"{key} needs {arity} value(s)")
                values, words = words[:arity], words[arity:]
                if key == "interval":
                    interval = int(values[0]) / 100
                elif key == "maxmoves":
                    maxmoves = max(int(values[0]), 1)
        except (ValueError, KeyError):
            raise GtpError("syntax error") from None
        return colour, max(interval, 0.0), maxmoves

    def _wait(self, seconds: float) -> bool:
        """Waits up to ``seconds`` (0: for ever) for the next command; True when it came."""
        deadline = time.monotonic() + seconds
        while not self.engine.interrupted():
            if seconds and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    # -- GoGui ----------------------------------------------------------------------------------
    def gogui_analyze_commands(self, args: list[str]) -> str:
        return "\n".join(GOGUI_COMMANDS)

    def _policy(self, args: list[str]) -> tuple[int, np.ndarray]:
        colour = self.engine.game.to_move
        if args:
            try:
                colour = parse_colour(args[0])
            except ValueError:
                raise GtpError("syntax error") from None
        return colour, self.player().policy(self.engine.game, colour)

    def _ranked(self, probs: np.ndarray, count: int) -> list[tuple[str, float]]:
        """The ``count`` most probable moves with a probability above 0, as (vertex, p)."""
        best = [int(p) for p in np.argsort(-probs, kind="stable")[:count] if probs[p] > 0]
        return [(to_gtp(p, self.engine.game.size), float(probs[p])) for p in best]

    def heatmap(self, args: list[str]) -> str:
        """INFLUENCE squares sized by probability relative to the best move, in the colour to play."""
        colour, probs = self._policy(args)
        if not probs.any():
            return "TEXT no move left but pass"
        sign, scaled = (1 if colour == BLACK else -1), probs / probs.max()
        shown = np.flatnonzero(scaled >= 0.01)
        influence = " ".join(f"{to_gtp(int(p), self.engine.game.size)} {sign * scaled[p]:.3f}" for p in shown)
        vertex, p = self._ranked(probs, 1)[0]
        return f"INFLUENCE {influence}\nTEXT best {vertex} {_percent(p)}"

    def top_moves(self, args: list[str]) -> str:
        """LABEL the best moves with their probabilities."""
        _, probs = self._policy(args)
        ranked = self._ranked(probs, TOP_MOVES)
        if not ranked:
            return "TEXT no move left but pass"
        labels = " ".join(f"{vertex} {_percent(p)}" for vertex, p in ranked)
        return f"LABEL {labels}\nTEXT {labels}"

    def probability_board(self, args: list[str]) -> str:
        """Every point's probability, top row first (GoGui's board layout)."""
        _, probs = self._policy(args)
        size = self.engine.game.size
        grid = probs.reshape(size, size)
        return "\n".join(" ".join(f"{p:.4f}" for p in grid[row]) for row in reversed(range(size)))

    def text(self, args: list[str]) -> str:
        colour, probs = self._policy(args)
        ranked = self._ranked(probs, TEXT_MOVES)
        head = f"{'Black' if colour == BLACK else 'White'} to play, policy network's best moves:"
        return "\n".join([head] + [f"{vertex} {100 * p:.2f}%" for vertex, p in ranked] if ranked else [head, "pass"])


def analysis_commands(engine: GtpEngine, player: Callable[[], PolicyPlayer]) -> dict[str, Handler]:
    """The analysis command table to merge into ``engine``'s commands."""
    return AnalysisCommands(engine, player).table()


# -- loading in the background ----------------------------------------------------------------

class BackgroundPlayer:
    """Stands in for a :class:`PolicyPlayer` that ``load`` makes in a background thread: the
    engine answers commands meanwhile, and whatever needs the player waits for it. A load
    that fails makes those commands fail with its message."""

    def __init__(self, load: Callable[[], PolicyPlayer]):
        self._player: Optional[PolicyPlayer] = None
        self._error = "the model is not loaded"
        self._loaded = threading.Event()
        threading.Thread(target=self._load, args=(load,), name="load model", daemon=True).start()

    def _load(self, load: Callable[[], PolicyPlayer]) -> None:
        try:
            self._player = load()
        except (GopolicyError, OSError, ValueError) as e:
            self._error = str(e)
            log(self._error)
        except Exception as e:  # whatever happens there, the engine must keep answering
            self._error = f"cannot load the model: {type(e).__name__}: {e}"
            log(self._error)
        finally:
            self._loaded.set()

    @property
    def loading(self) -> bool:
        return not self._loaded.is_set()

    def player(self) -> PolicyPlayer:
        """The player, once loaded; GtpError if it could not be."""
        self._loaded.wait()
        if self._player is None:
            raise GtpError(self._error)
        return self._player

    can_play = staticmethod(PolicyPlayer.can_play)

    def genmove(self, game: Game, colour: int, seconds: Optional[float] = None, **options) -> Move | str:
        return self.player().genmove(game, colour, seconds, **options)

    def gtp_commands(self, engine: GtpEngine) -> dict[str, Handler]:
        return analysis_commands(engine, self.player)


def load_player(path: os.PathLike | str, threads: Optional[int] = None, **options) -> PolicyPlayer:
    """Reads a model file and makes its player (``options``: PolicyPlayer's), run once to warm up."""
    import torch

    from gopolicy.nn.modelfile import load_model

    if threads:
        torch.set_num_threads(threads)
    model, info = load_model(path)
    player = PolicyPlayer(model, info, **options)
    player.policy(Game(model.board_size), BLACK)  # the first run sets up the kernels: not during a game
    log(f"loaded {path}: {info.architecture}, features {info.feature_set}, "
        f"{'bf16' if player.bf16 else 'fp32'}, {torch.get_num_threads()} thread(s)")
    return player


def _no_model() -> PolicyPlayer:
    raise GopolicyError(f"no model: start the engine with --model PATH (there is no bundled model at {DEFAULT_MODEL})")


def build_engine(model: Optional[os.PathLike | str] = None, *, superko: bool = False, allow_suicide: bool = False,
                 threads: Optional[int] = None, **options) -> GtpEngine:
    """The GTP engine for a model file (None: the bundled model, if there is one), loaded in
    the background; ``options`` are PolicyPlayer's."""
    if model is None and DEFAULT_MODEL.exists():
        model = DEFAULT_MODEL
    if model is None:
        load = _no_model
    else:
        def load() -> PolicyPlayer:
            return load_player(model, threads, **options)
    return GtpEngine(BackgroundPlayer(load), superko=superko, allow_suicide=allow_suicide)


# -- the command line --------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help=f"model file (default: the bundled {DEFAULT_MODEL.name})")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0 plays the most probable move (default); T > 0 samples with p ** (1/T)")
    parser.add_argument("--symmetries", action="store_true", help="average the network over the 8 board symmetries")
    parser.add_argument("--fp32", action="store_true", help="compute in fp32 even where the CPU has native bf16")
    parser.add_argument("--resign", action="store_true", help="resign hopeless games (default: play them out)")
    parser.add_argument("--superko", action="store_true",
                        help="rules: forbid repeating a whole-board position (the engine never repeats one anyway)")
    parser.add_argument("--allow-suicide", action="store_true", help="rules: allow suicide (Tromp-Taylor, New Zealand)")
    parser.add_argument("--seed", type=int, help="random seed for sampling with a temperature")
    parser.add_argument("--threads", type=int, help="CPU threads for the network (default: torch's choice)")


def run(args: argparse.Namespace) -> int:
    """Serves GTP on stdin/stdout until ``quit`` or end of input."""
    if args.model is not None and not os.path.isfile(args.model):
        log(f"no such model file: {args.model}")
        return 1
    if args.temperature < 0:
        log("--temperature must be >= 0")
        return 2
    engine = build_engine(args.model, superko=args.superko, allow_suicide=args.allow_suicide, threads=args.threads,
                          temperature=args.temperature, symmetries=args.symmetries, bf16=False if args.fp32 else None,
                          resign=args.resign, seed=args.seed)
    engine.serve(sys.stdin, sys.stdout)
    # Leave at once: neither wait for a model still loading nor for torch's slow clean-up
    # (GUIs expect an engine to be gone soon after quit).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
