"""The analysis commands that Sabaki, Lizzie and GoGui display: the search's statistics when a
value network is loaded, else the policy network's probabilities over the moves genmove
considers (its candidates, :mod:`gopolicy.play.candidates`).

* Sabaki / Leela Zero: ``lz-analyze``, ``analyze`` ``[colour] [interval] [key value...]``
  stream ``info move D4 visits 120 winrate 5000 prior 1200 lcb 4800 order 0 pv D4 Q16 ...
  info move ...`` (one line, best move first) every ``interval`` centiseconds until the next
  command arrives. Winrates, priors and lcbs are in 1/10000, for the colour analysed.
  Searching, the line has the root's visited moves (``minmoves`` tops them up with the most
  probable unvisited ones, ``maxmoves`` caps them), their visits, win rates (the value
  network's, backed up by the search), lower confidence bounds and principal variations;
  the search goes on between lines, in the tree the next genmove uses, up to
  ``MAX_ANALYSIS_VISITS`` playouts (memory). Without a search there are no real visits or
  win rates: visits are pseudo-visits, the prior x 1000 (at least 1), which makes Sabaki's
  heat map the policy, the winrate is 50% throughout and there is no lcb.
  ``lz-genmove_analyze`` and ``genmove_analyze`` ``colour [interval]`` stream such lines
  while the move's search runs (one line without a search), then ``play VERTEX``, and play
  the move as ``genmove`` does.
* KataGo: ``kata-analyze`` and ``kata-genmove_analyze`` take the same arguments and give
  the same lines with win rates, priors and lcbs in [0, 1] (no score fields: there is no
  score estimate); ``ownership true`` appends ``ownership`` and one value per point in
  [-1, 1], positive for the colour analysed, top row first: the value network's ownership
  head on the position where it has one (one network pass), else Monte-Carlo ownership
  (:func:`gopolicy.go.ownership.ownership`, 256 random games, about 0.15 s on 19x19) from
  the end of the best move's principal variation, computed again only when that changes.
  Random games judge life and death well at the end of a game, crudely earlier.
* GoGui (``gogui-analyze_commands``): for the policy, a heat map (``gfx``: field colours,
  pale yellow to red by probability relative to the best move, the same for either colour
  to move), the top moves as labels (``gfx`` LABEL), the raw probabilities (``dboard``,
  which GoGui draws as dark squares sized by the value, so only moves above about 1% show)
  and the top moves as text. Moves whose rounded percentage would read 0 are left out of
  labels and text. With a value network, also the search: win rates and visits (``gfx``:
  fields coloured by visits relative to the best move, the top moves labelled, the best
  line in the text: drawn as a variation its stones would hide the labels) and ownership (``gfx`` INFLUENCE, as for ``kata-analyze``), each
  run searching ``GOGUI_SECONDS`` more on the same tree; these are listed only where there
  is a search for the board size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from gopolicy.errors import IllegalMoveError
from gopolicy.go.coords import BLACK, colour_title, parse_colour, to_gtp
from gopolicy.go.ownership import ownership
from gopolicy.gtp.move_commands import MoveCommands
from gopolicy.gtp.protocol import GtpError, GtpProtocol, Handler, colour_arg
from gopolicy.gtp.state import GameState
from gopolicy.play.search import SearchResult

DEFAULT_INTERVAL = 1.0  # seconds between analysis lines when the GUI gives none
PSEUDO_VISITS = 1000  # visits per unit of prior in analysis lines without a search
MAX_ANALYSIS_VISITS = 50_000  # analysis stops growing the tree here (about 350 MB on 19x19)
GOGUI_SECONDS = 1.0  # each GoGui search command searches this much more
TOP_MOVES = 10  # moves labelled on the board by GoGui's top-moves commands
TEXT_MOVES = 20  # moves listed by the text command
# Heat map field colours by probability (or visits) relative to the best move, strongest first; below the last: none.
HEAT_COLOURS = ((0.5, "#d7191c"), (0.25, "#f46d43"), (0.1, "#fdae61"), (0.03, "#fee08b"), (0.01, "#ffffbf"))

# Keys of KataGo's / Leela Zero's analyze commands and how many values follow each; interval,
# maxmoves, minmoves and ownership mean something here, the rest are accepted and ignored.
_ANALYZE_KEYS = {"interval": 1, "maxmoves": 1, "minmoves": 1, "ownership": 1, "ownershipstdev": 1,
                 "movesownership": 1, "pvvisits": 1, "pvedgevisits": 1, "rootinfo": 1, "avoid": 3, "allow": 3}

POLICY_COMMANDS = (
    "gfx/Policy heat map/gopolicy-policy_heatmap %m",
    "gfx/Policy top moves/gopolicy-policy_top %m",
    "dboard/Policy probabilities/gopolicy-policy_board %m",
    "string/Policy as text/gopolicy-policy_text %m",
)
SEARCH_COMMANDS = (
    "gfx/Search win rates/gopolicy-search_winrates %m",
    "gfx/Search visits/gopolicy-search_visits %m",
    "gfx/Search ownership/gopolicy-search_ownership %m",
)


@dataclass(frozen=True)
class Request:
    """An analyze command's arguments."""

    colour: int
    interval: float  # seconds between lines (0: one line)
    maxmoves: Optional[int] = None
    minmoves: int = 0
    ownership: bool = False


def info_line(probs: np.ndarray, size: int, maxmoves: Optional[int] = None, kata: bool = False) -> str:
    """The analysis line for move probabilities (flat), without a search: every move with a
    prior of at least 1/10000, best first (``maxmoves`` of them at most); a pass when there is none."""
    entries = []
    for point in np.argsort(-probs, kind="stable")[:maxmoves]:
        p = float(probs[point])
        if round(p * 10000) < 1:
            break
        vertex = to_gtp(int(point), size)
        entries.append((vertex, max(1, round(p * PSEUDO_VISITS)), 0.5, p, None, [vertex]))
    return _line(entries or [("pass", 1, 0.5, 1.0, None, ["pass"])], kata)


def search_line(result: SearchResult, size: int, request: Request, kata: bool = False) -> str:
    """The analysis line for a search: its visited root moves, best first, topped up to
    ``minmoves`` with unvisited ones by prior, at most ``maxmoves``."""
    chosen = [m for m in result.moves if m.visits > 0]
    chosen += sorted((m for m in result.moves if m.visits == 0), key=lambda m: -m.prior)[: max(0, request.minmoves - len(chosen))]
    entries = [(to_gtp(m.move, size), m.visits, m.winrate, m.prior, min(max(m.lcb, 0.0), 1.0) if m.visits else 0.0,
                [to_gtp(move, size) for move in m.pv]) for m in chosen[: request.maxmoves]]
    return _line(entries or [("pass", 0, result.winrate, 1.0, 0.0, ["pass"])], kata)


def _line(entries: list[tuple], kata: bool) -> str:
    """``info move V visits N winrate W prior P [lcb L] order O pv ...`` for each entry
    (vertex, visits, winrate, prior, lcb or None, pv vertices): Leela Zero's units (1/10000) or KataGo's (0-1)."""
    def number(x: float) -> str:
        return f"{x:.6f}" if kata else str(round(x * 10000))

    parts = []
    for order, (vertex, visits, winrate, prior, lcb, pv) in enumerate(entries):
        lcb_field = "" if lcb is None else f" lcb {number(lcb)}"
        parts.append(f"info move {vertex} visits {visits} winrate {number(winrate)} prior {number(prior)}{lcb_field} "
                     f"order {order} pv {' '.join(pv)}")
    return " ".join(parts)


def percent(p: float) -> str:
    """A label: whole percents from 9.5%, else one decimal."""
    return f"{100 * p:.0f}%" if p >= 0.095 else f"{100 * p:.1f}%"


def _count(n: int) -> str:
    """A short visit count for a label: 950, 1.2k, 35k."""
    return str(n) if n < 1000 else f"{n / 1000:.1f}k" if n < 10_000 else f"{n // 1000}k"


class AnalysisCommands:
    """The analysis commands on ``state``, streamed through ``protocol``; ``player`` gives the
    probabilities (``policy(game, colour)``) and, where ``searches(size)``, the search
    (``ponder(game, colour, seconds, stop)``), waiting for a player still loading if need be;
    ``moves`` plays the move of the genmove_analyze commands."""

    def __init__(self, protocol: GtpProtocol, state: GameState, player, moves: MoveCommands):
        self.protocol, self.state, self.player, self.moves = protocol, state, player, moves
        self._ownership: Optional[tuple] = None  # (position key, ownership for Black)

    def commands(self) -> dict[str, Handler]:
        return {"lz-analyze": self.analyze, "analyze": self.analyze, "kata-analyze": self.kata_analyze,
                "lz-genmove_analyze": self.genmove_analyze, "genmove_analyze": self.genmove_analyze,
                "kata-genmove_analyze": self.kata_genmove_analyze,
                "gogui-analyze_commands": self.gogui_analyze_commands,
                "gopolicy-policy_heatmap": self.heatmap, "gopolicy-policy_top": self.top_moves,
                "gopolicy-policy_board": self.probability_board, "gopolicy-policy_text": self.text,
                "gopolicy-search_winrates": self.search_winrates, "gopolicy-search_visits": self.search_visits,
                "gopolicy-search_ownership": self.search_ownership}

    # -- Sabaki, Lizzie, KataGo's GUIs ------------------------------------------------------------
    def analyze(self, args: list[str], kata: bool = False) -> str:
        request = self._analyze_args(args, colour_required=False)
        game = self.state.game
        if not self.player.searches(game.size):
            line = info_line(self.player.policy(game, request.colour), self.state.size, request.maxmoves, kata)
            if request.ownership:
                line += self._ownership_words(game, request.colour, None)
            self.protocol.stream(line)
            while not self._wait(request.interval):
                self.protocol.stream(line)
            return ""
        visits, first = 0, True
        while True:
            if visits < MAX_ANALYSIS_VISITS:
                result = self.player.ponder(game, request.colour, request.interval or DEFAULT_INTERVAL,
                                            self.protocol.interrupted)
            elif first or not self._wait(request.interval):  # the tree is full: the same line again
                result = self.player.ponder(game, request.colour)
            else:
                break
            visits = result.visits
            if first or request.interval:
                self.protocol.stream(self._search_line(game, result, request, kata))
            first = False
            if self.protocol.interrupted():
                break
        return ""

    def kata_analyze(self, args: list[str]) -> str:
        return self.analyze(args, kata=True)

    def genmove_analyze(self, args: list[str], kata: bool = False) -> str:
        request = self._analyze_args(args, colour_required=True)
        game = self.state.game
        if not self.player.searches(game.size):
            line = info_line(self.player.policy(game, request.colour), self.state.size, request.maxmoves, kata)
            vertex = self.moves.generate(request.colour)  # plays it, as genmove does
            self.protocol.stream(line)
        else:
            def report(result: SearchResult) -> None:
                self.protocol.stream(self._search_line(game, result, request, kata))

            vertex = self.moves.generate(request.colour, report=report, interval=request.interval or DEFAULT_INTERVAL)
        self.protocol.stream(f"play {vertex}")
        return ""

    def kata_genmove_analyze(self, args: list[str]) -> str:
        return self.genmove_analyze(args, kata=True)

    def _search_line(self, game, result: SearchResult, request: Request, kata: bool) -> str:
        line = search_line(result, game.size, request, kata)
        return line + self._ownership_words(game, request.colour, result) if request.ownership else line

    def _ownership_words(self, game, colour: int, result: Optional[SearchResult]) -> str:
        """`` ownership v v ...``: for ``colour``, top row first (KataGo's order)."""
        owner = self._pv_ownership(game, colour, result)[0].reshape(game.size, game.size)[::-1]
        sign = 1 if colour == BLACK else -1
        return " ownership " + " ".join(f"{sign * v:.3f}" for v in owner.reshape(-1))

    def _analyze_args(self, args: list[str], colour_required: bool) -> Request:
        """``[colour] [interval] [key value...]`` -> the request."""
        words = list(args)
        colour, interval, maxmoves, minmoves, owner = self.state.game.to_move, DEFAULT_INTERVAL, None, 0, False

        def centiseconds(text: str) -> float:
            if not (text.isascii() and text.lstrip("-").isdigit() and len(text) < 12):
                raise ValueError(text)
            return int(text) / 100

        def count(text: str) -> int:
            if not (text.isascii() and text.lstrip("-").isdigit() and len(text) < 12):
                raise ValueError(text)
            return int(text)

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
                    maxmoves = max(count(values[0]), 1)
                elif key == "minmoves":
                    minmoves = max(count(values[0]), 0)
                elif key == "ownership":
                    owner = {"true": True, "false": False}[values[0].lower()]
        except (ValueError, KeyError):
            raise GtpError("syntax error") from None
        return Request(colour, max(interval, 0.0), maxmoves, minmoves, owner)

    def _wait(self, seconds: float) -> bool:
        """Waits up to ``seconds`` (0: for ever) for the next command; True when it came."""
        deadline = time.monotonic() + seconds
        while not self.protocol.interrupted():
            if seconds and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    # -- ownership ---------------------------------------------------------------------------------
    def _pv_ownership(self, game, colour: int, result: Optional[SearchResult]) -> tuple[np.ndarray, str]:
        """Ownership for Black (flat) and where it comes from, cached by the position it is of:
        the value network's ownership head on the position itself where it has one (it
        predicts the end of the game), else Monte-Carlo ownership at the end of the best
        move's principal variation (of the position itself without a search)."""
        from_network = self.player.network_ownership(game, colour)
        if from_network is not None:
            return from_network, "the value network's ownership head"
        position = game.copy(undoable=False)
        position.to_move = colour
        line = result.moves[0].pv if result is not None and result.moves else []
        for move in line:
            try:
                position.play(position.to_move, move)
            except IllegalMoveError:
                break
        key = (position.size, position.board.hash, position.to_move)
        if self._ownership is None or self._ownership[0] != key:
            self._ownership = (key, ownership(position))
        return self._ownership[1], f"random games after the best line ({len(line)} moves)"

    # -- GoGui: the policy ------------------------------------------------------------------------
    def gogui_analyze_commands(self, args: list[str]) -> str:
        """The policy's commands, and the search's where there is a search for this board size."""
        return "\n".join(POLICY_COMMANDS + (SEARCH_COMMANDS if self.player.searches(self.state.size) else ()))

    def _policy(self, args: list[str]) -> tuple[int, np.ndarray]:
        colour = colour_arg(args[0]) if args else self.state.game.to_move
        return colour, self.player.policy(self.state.game, colour)

    def _ranked(self, probs: np.ndarray, count: int, least: float) -> list[tuple[str, float]]:
        """The ``count`` most probable moves with a probability of at least ``least`` (> 0), as (vertex, p)."""
        best = [int(p) for p in np.argsort(-probs, kind="stable")[:count] if probs[p] >= least and probs[p] > 0]
        return [(to_gtp(p, self.state.size), float(probs[p])) for p in best]

    def _heat(self, weights: np.ndarray) -> list[str]:
        """``COLOR`` lines: the points of ``weights`` (flat, some > 0) by their share of the largest."""
        scaled, lines, upper = weights / weights.max(), [], np.inf
        for lower, colour in HEAT_COLOURS:
            points = np.flatnonzero((scaled >= lower) & (scaled < upper))
            if len(points):
                lines.append(f"COLOR {colour} " + " ".join(to_gtp(int(p), self.state.size) for p in points))
            upper = lower
        return lines

    def heatmap(self, args: list[str]) -> str:
        """Field colours by probability relative to the best move (HEAT_COLOURS), whichever colour is to play."""
        _, probs = self._policy(args)
        if not probs.any():
            return "TEXT no move left but pass"
        vertex, p = self._ranked(probs, 1, 0)[0]
        return "\n".join(self._heat(probs) + [f"TEXT best {vertex} {percent(p)}"])

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

    # -- GoGui: the search ------------------------------------------------------------------------
    def _searched(self, args: list[str]) -> tuple[int, SearchResult]:
        colour = colour_arg(args[0]) if args else self.state.game.to_move
        if not self.player.searches(self.state.size):
            raise GtpError(f"no value network for {self.state.size}x{self.state.size}: no search")
        return colour, self.player.ponder(self.state.game, colour, GOGUI_SECONDS)

    def _search_gfx(self, args: list[str], label) -> str:
        colour, result = self._searched(args)
        size = self.state.size
        visited = [m for m in result.moves if m.visits > 0 and m.move is not None]
        if not visited:
            return f"TEXT {colour_title(colour)}: pass ({result.visits} playouts)"
        visits = np.zeros(size * size)
        for m in visited:
            visits[m.move] = m.visits
        top, best = visited[:TOP_MOVES], result.moves[0]
        summary = (f"TEXT {colour_title(colour)} {to_gtp(best.move, size)}: win rate {percent(best.winrate)}, "
                   f"{best.visits} of {result.visits} playouts; best line {' '.join(to_gtp(m, size) for m in best.pv)}")
        labels = "LABEL " + " ".join(f"{to_gtp(m.move, size)} {label(m)}" for m in top)
        return "\n".join(self._heat(visits) + [labels, summary])

    def search_winrates(self, args: list[str]) -> str:
        """The searched moves coloured by visits, the top ones labelled with their win rates (percent)."""
        return self._search_gfx(args, lambda m: f"{100 * m.winrate:.0f}")

    def search_visits(self, args: list[str]) -> str:
        """The searched moves coloured and labelled by visits."""
        return self._search_gfx(args, lambda m: _count(m.visits))

    def search_ownership(self, args: list[str]) -> str:
        """INFLUENCE: ownership (> 0 Black's; see ``_pv_ownership``) and the count it gives."""
        colour, result = self._searched(args)
        owner, where = self._pv_ownership(self.state.game, colour, result)
        size = self.state.size
        cells = " ".join(f"{to_gtp(p, size)} {owner[p]:.2f}" for p in range(size * size) if abs(owner[p]) >= 0.05)
        black = owner.sum() - self.state.game.komi
        return "\n".join(([f"INFLUENCE {cells}"] if cells else []) + [f"TEXT Black {black:+.1f} by {where}"])
