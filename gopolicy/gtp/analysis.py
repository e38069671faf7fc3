"""The analysis commands that Sabaki and GoGui display: the network's probabilities over the
moves genmove considers (its candidates, :mod:`gopolicy.play.candidates`).

* Sabaki / Leela Zero: ``lz-analyze``, ``analyze`` ``[colour] [interval] [key value...]``
  stream ``info move D4 visits 120 winrate 5000 prior 1200 order 0 pv D4 info move ...``
  (one line, best move first) every ``interval`` centiseconds until the next command
  arrives. ``prior`` is in 1/10000; with no search there are no real visits or winrates,
  so visits are pseudo-visits, the prior x 1000 (at least 1), which makes Sabaki's heat
  map the policy, and the winrate is 50% throughout. ``lz-genmove_analyze`` and
  ``genmove_analyze`` ``colour [interval]`` send one such line, then ``play VERTEX``, and
  play the move as ``genmove`` does.
* GoGui (``gogui-analyze_commands``): a heat map (``gfx``: field colours, pale yellow to red
  by probability relative to the best move, the same for either colour to move), the top
  moves as labels (``gfx`` LABEL), the raw probabilities (``dboard``, which GoGui draws as
  dark squares sized by the value, so only moves above about 1% show) and the top moves
  as text. Moves whose rounded percentage would read 0 are left out of labels and text.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np

from gopolicy.go.coords import colour_title, parse_colour, to_gtp
from gopolicy.gtp.move_commands import MoveCommands
from gopolicy.gtp.protocol import GtpError, GtpProtocol, Handler, colour_arg
from gopolicy.gtp.state import GameState

DEFAULT_INTERVAL = 1.0  # seconds between analysis lines when the GUI gives none
PSEUDO_VISITS = 1000  # visits per unit of prior in analysis lines
TOP_MOVES = 10  # moves labelled on the board by GoGui's top-moves command
TEXT_MOVES = 20  # moves listed by the text command
# Heat map field colours by probability relative to the best move, strongest first; below the last: none.
HEAT_COLOURS = ((0.5, "#d7191c"), (0.25, "#f46d43"), (0.1, "#fdae61"), (0.03, "#fee08b"), (0.01, "#ffffbf"))

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


def percent(p: float) -> str:
    """A label: whole percents from 9.5%, else one decimal."""
    return f"{100 * p:.0f}%" if p >= 0.095 else f"{100 * p:.1f}%"


class AnalysisCommands:
    """The analysis commands on ``state``, streamed through ``protocol``; ``player.policy(game,
    colour)`` gives the probabilities (waiting for a player still loading, if need be) and
    ``moves`` plays the move of the genmove_analyze commands."""

    def __init__(self, protocol: GtpProtocol, state: GameState, player, moves: MoveCommands):
        self.protocol, self.state, self.player, self.moves = protocol, state, player, moves

    def commands(self) -> dict[str, Handler]:
        return {"lz-analyze": self.analyze, "analyze": self.analyze,
                "lz-genmove_analyze": self.genmove_analyze, "genmove_analyze": self.genmove_analyze,
                "gogui-analyze_commands": self.gogui_analyze_commands,
                "gopolicy-policy_heatmap": self.heatmap, "gopolicy-policy_top": self.top_moves,
                "gopolicy-policy_board": self.probability_board, "gopolicy-policy_text": self.text}

    # -- Sabaki ---------------------------------------------------------------------------------
    def analyze(self, args: list[str]) -> str:
        colour, interval, maxmoves = self._analyze_args(args, colour_required=False)
        line = info_line(self.player.policy(self.state.game, colour), self.state.size, maxmoves)
        self.protocol.stream(line)
        while not self._wait(interval):
            self.protocol.stream(line)
        return ""

    def genmove_analyze(self, args: list[str]) -> str:
        colour, _, maxmoves = self._analyze_args(args, colour_required=True)
        line = info_line(self.player.policy(self.state.game, colour), self.state.size, maxmoves)
        vertex = self.moves.genmove(args[:1])  # plays it, as genmove does
        self.protocol.stream(line)
        self.protocol.stream(f"play {vertex}")
        return ""

    def _analyze_args(self, args: list[str], colour_required: bool) -> tuple[int, float, Optional[int]]:
        """``[colour] [interval] [key value...]`` -> (colour, seconds between lines, maxmoves)."""
        words = list(args)
        colour, interval, maxmoves = self.state.game.to_move, DEFAULT_INTERVAL, None

        def centiseconds(text: str) -> float:
            if not (text.isascii() and text.lstrip("-").isdigit() and len(text) < 12):
                raise ValueError(text)
            return int(text) / 100

        try:
            if words and not words[0].lstrip("-").isdigit() and words[0].lower() not in _ANALYZE_KEYS:
                colour = parse_colour(words.pop(0))
            elif colour_required:
                raise ValueError("a colour is required")
            if words and words[0].lstrip("-").isdigit():
                interval = centiseconds(words.pop(0))
            while words:
                key = words.pop(0).lower()
                arity = _ANALYZE_KEYS[key]
                if len(words) < arity:
                    raise ValueError(f"{key} needs {arity} value(s)")
                values, words = words[:arity], words[arity:]
                if key == "interval":
                    interval = centiseconds(values[0])
                elif key == "maxmoves":
                    maxmoves = max(int(values[0]), 1)
        except (ValueError, KeyError):
            raise GtpError("syntax error") from None
        return colour, max(interval, 0.0), maxmoves

    def _wait(self, seconds: float) -> bool:
        """Waits up to ``seconds`` (0: for ever) for the next command; True when it came."""
        deadline = time.monotonic() + seconds
        while not self.protocol.interrupted():
            if seconds and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    # -- GoGui ----------------------------------------------------------------------------------
    def gogui_analyze_commands(self, args: list[str]) -> str:
        return "\n".join(GOGUI_COMMANDS)

    def _policy(self, args: list[str]) -> tuple[int, np.ndarray]:
        colour = colour_arg(args[0]) if args else self.state.game.to_move
        return colour, self.player.policy(self.state.game, colour)

    def _ranked(self, probs: np.ndarray, count: int, least: float) -> list[tuple[str, float]]:
        """The ``count`` most probable moves with a probability of at least ``least`` (> 0), as (vertex, p)."""
        best = [int(p) for p in np.argsort(-probs, kind="stable")[:count] if probs[p] >= least and probs[p] > 0]
        return [(to_gtp(p, self.state.size), float(probs[p])) for p in best]

    def heatmap(self, args: list[str]) -> str:
        """Field colours by probability relative to the best move (HEAT_COLOURS), whichever colour is to play."""
        _, probs = self._policy(args)
        if not probs.any():
            return "TEXT no move left but pass"
        scaled, lines, upper = probs / probs.max(), [], np.inf
        for lower, colour in HEAT_COLOURS:
            points = np.flatnonzero((scaled >= lower) & (scaled < upper))
            if len(points):
                lines.append(f"COLOR {colour} " + " ".join(to_gtp(int(p), self.state.size) for p in points))
            upper = lower
        vertex, p = self._ranked(probs, 1, 0)[0]
        return "\n".join(lines + [f"TEXT best {vertex} {percent(p)}"])

    def top_moves(self, args: list[str]) -> str:
        """LABEL the best moves with their probabilities (none that would read 0.0%)."""
        _, probs = self._policy(args)
        ranked = self._ranked(probs, TOP_MOVES, 0.0005)
        if not ranked:
            return "TEXT no move left but pass" if not probs.any() else "TEXT no move above 0.05%"
        labels = " ".join(f"{vertex} {percent(p)}" for vertex, p in ranked)
        return f"LABEL {labels}\nTEXT {labels}"

    def probability_board(self, args: list[str]) -> str:
        """Every point's probability, top row first (GoGui's board layout)."""
        _, probs = self._policy(args)
        size = self.state.size
        grid = probs.reshape(size, size)
        return "\n".join(" ".join(f"{p:.4f}" for p in grid[row]) for row in reversed(range(size)))

    def text(self, args: list[str]) -> str:
        colour, probs = self._policy(args)
        ranked = self._ranked(probs, TEXT_MOVES, 0.00005)
        head = f"{colour_title(colour)} to play, policy network's best moves:"
        return "\n".join([head] + [f"{vertex} {100 * p:.2f}%" for vertex, p in ranked] if ranked else [head, "pass"])
