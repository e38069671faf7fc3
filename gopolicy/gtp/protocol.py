"""The Go Text Protocol (GTP v2): framing, the command loop, and the board commands.

This module knows the protocol and the rules, not how moves are chosen: the
engine delegates ``genmove`` and the analysis commands to a *player* (see
:mod:`gopolicy.play.player`). Framing follows the GTP v2 specification to the
letter: control characters other than tab and newline are dropped, tabs
become spaces, ``#`` starts a comment, empty lines are ignored, an optional
numeric id is echoed, every response is ``=[id] text`` or ``?[id] error``
followed by one empty line, commands are answered strictly in order, stdout
carries nothing but GTP and is flushed after each response.

Commands that run until interrupted (``lz-analyze`` and friends) get a
callback telling them whether another command is waiting; the reader thread
queues input as it arrives, so a GUI can stop analysis by sending anything.
Such a command streams its response with :meth:`GtpEngine.stream`: the first
call sends the ``=[id]`` line at once, each call then sends lines, and the
response ends with the empty line when the command returns (Leela Zero's
multi-line form, which Sabaki reads line by line).
"""
from __future__ import annotations

import itertools
import queue
import re
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

from sgfmill import sgf

from gopolicy import __version__
from gopolicy.go.coords import (
    BLACK,
    MAX_SIZE,
    MIN_SIZE,
    WHITE,
    Move,
    from_gtp,
    move_to_point,
    parse_colour,
    to_gtp,
)
from gopolicy.errors import GopolicyError, IllegalMoveError, RecordError
from gopolicy.go.rules import Game


class GtpError(Exception):
    """A command failed; the message is the error text sent after ``?``."""


@dataclass
class Command:
    id: Optional[int]
    name: str
    args: list[str]


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse_line(line: str) -> Optional[Command]:
    """One input line -> a Command, or None for an empty or comment-only line."""
    line = _CONTROL.sub("", line.rstrip("\n")).replace("\t", " ")
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    words = line.split()
    ident = None
    if words[0].isdigit():
        ident = int(words.pop(0))
        if not words:
            return Command(ident, "", [])
    return Command(ident, words[0], words[1:])


def format_response(ident: Optional[int], ok: bool, text: str) -> str:
    """``=[id] text\\n\\n`` or ``?[id] text\\n\\n``; text never contains an empty line."""
    text = re.sub(r"\n\s*\n", "\n", text.rstrip())
    head = ("=" if ok else "?") + ("" if ident is None else str(ident))
    return f"{head} {text}\n\n" if text else f"{head}\n\n"


# Standard handicap points (GTP v2 spec, section 4.1.1), as distances from the edges.
def handicap_points(n: int, size: int) -> list[int]:
    """The fixed handicap placement of ``n`` stones; GtpError if not defined for this size."""
    if size < 7 or not 2 <= n <= (4 if size == 7 or size % 2 == 0 else 9):
        raise GtpError("invalid number of stones")
    edge = 2 if size < 13 else 3
    lo, mid, hi = edge, size // 2, size - 1 - edge
    corners = [(lo, lo), (hi, hi), (hi, lo), (lo, hi)]  # (row, col): D4 Q16 D16 Q4 on 19x19, the spec's order
    sides = [(mid, lo), (mid, hi), (lo, mid), (hi, mid)]
    order = {2: corners[:2], 3: corners[:3], 4: corners, 5: corners + [(mid, mid)], 6: corners + sides[:2],
             7: corners + sides[:2] + [(mid, mid)], 8: corners + sides, 9: corners + sides + [(mid, mid)]}[n]
    return [r * size + c for r, c in order]


def _lines(text: str) -> str:
    """``text`` as lines each ending in a newline, without empty ones ('' for no text)."""
    return "".join(line + "\n" for line in text.splitlines() if line.strip())


Handler = Callable[[list[str]], str]


class GtpEngine:
    """A GTP engine: the game state and the command table.

    ``player`` chooses moves (``genmove``) and gives the analysis commands
    their data; any object with the methods of :class:`gopolicy.play.player.Player`.
    """

    def __init__(self, player=None, *, name: str = "gopolicy", allow_suicide: bool = False, superko: bool = False):
        self.player = player
        self.name = name
        self.rules = {"allow_suicide": allow_suicide, "superko": superko}
        self.game = Game(19, 7.5, **self.rules)
        self.setup_stones: list[tuple[int, int]] = []  # (colour, point) placed as handicap/setup
        self.time_settings: Optional[tuple[float, float, int]] = None
        self.time_left: dict[int, tuple[float, int]] = {}
        self.done = False
        self.commands: dict[str, Handler] = {}
        for attr in dir(self):
            if attr.startswith("cmd_"):
                self.commands[attr[4:].replace("__", "-")] = getattr(self, attr)
        if player is not None:
            self.commands.update(player.gtp_commands(self))

    # -- the loop --------------------------------------------------------------
    def execute(self, command: Command, out: Optional[TextIO] = None,
                interrupted: Optional[Callable[[], bool]] = None) -> str:
        """Runs one command and returns its framed response (or, after :meth:`stream`, the
        rest of it). Never raises for bad input.

        ``out``: where streamed parts go as they come; without it they are part of the
        returned text. ``interrupted``: whether a new command is waiting; without it
        streaming commands stop after their first output.
        """
        handler = self.commands.get(command.name)
        if handler is None:
            return format_response(command.id, False, "unknown command")
        self._out, self._id, self._streamed = out, command.id, None
        self._interrupted = interrupted or (lambda: True)
        try:
            return self._finish(True, handler(command.args) or "")
        except GtpError as e:
            return self._finish(False, str(e))
        except (GopolicyError, ValueError, OSError) as e:
            return self._finish(False, str(e) or type(e).__name__)
        except Exception as e:  # a bug must not kill the engine in the middle of a game
            print(f"gopolicy gtp: internal error in {command.name}: {e!r}", file=sys.stderr)
            return self._finish(False, f"internal error: {e}")

    def _finish(self, ok: bool, text: str) -> str:
        """The response, or the end of one whose first part went out with :meth:`stream`."""
        if self._streamed is None:
            return format_response(self._id, ok, text)
        if not ok:  # too late for '?': the response began with '='
            print(f"gopolicy gtp: error in a streamed response: {text}", file=sys.stderr)
            text = ""
        return self._streamed + _lines(text) + "\n"

    def serve(self, infile: TextIO = sys.stdin, outfile: TextIO = sys.stdout) -> None:
        """Answers commands from ``infile`` until ``quit`` or end of input."""
        if hasattr(infile, "reconfigure"):
            # GTP lines end in LF; a CR is a control character the parser drops, never a line end.
            # Undecodable bytes become U+FFFD rather than stopping the reader.
            infile.reconfigure(newline="\n", errors="replace")
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def read() -> None:
            for raw in infile:
                lines.put(raw)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        while not self.done:
            raw = lines.get()
            if raw is None:
                break
            command = parse_line(raw)
            if command is None:
                continue
            outfile.write(self.execute(command, outfile, lambda: not lines.empty()))
            outfile.flush()

    def stream(self, text: str) -> None:
        """Sends lines of a streaming response (analysis) while a command runs; the first
        call also sends the ``=[id]`` line. Empty lines are dropped (they would end it)."""
        head = ""
        if self._streamed is None:
            head = "=" + ("" if self._id is None else str(self._id)) + "\n"
            self._streamed = ""
        text = head + _lines(text)
        if self._out is None:
            self._streamed += text
        else:
            self._out.write(text)
            self._out.flush()

    def interrupted(self) -> bool:
        """Whether a new command is waiting (streaming commands stop then)."""
        return self._interrupted()

    # -- argument parsing ------------------------------------------------------
    @staticmethod
    def _arity(args: list[str], n: int) -> None:
        if len(args) < n:
            raise GtpError("syntax error")

    @staticmethod
    def _colour(text: str) -> int:
        try:
            return parse_colour(text)
        except ValueError:
            raise GtpError("syntax error") from None

    def _vertex(self, text: str) -> Move:
        if not re.fullmatch(r"(?i)pass|[a-hj-z]\d{1,2}", text):
            raise GtpError("syntax error")
        try:
            return from_gtp(text, self.game.size)
        except ValueError:
            raise GtpError("illegal move") from None

    @staticmethod
    def _number(text: str, kind=int):
        try:
            return kind(text)
        except ValueError:
            raise GtpError("syntax error") from None

    # -- administrative commands ------------------------------------------------
    def cmd_protocol_version(self, args: list[str]) -> str:
        return "2"

    def cmd_name(self, args: list[str]) -> str:
        return self.name

    def cmd_version(self, args: list[str]) -> str:
        return __version__

    def cmd_known_command(self, args: list[str]) -> str:
        self._arity(args, 1)
        return "true" if args[0] in self.commands else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        return "\n".join(sorted(self.commands))

    def cmd_quit(self, args: list[str]) -> str:
        self.done = True
        return ""

    # -- setting up the game ------------------------------------------------------
    def new_game(self, size: int) -> None:
        self.game = Game(size, self.game.komi, **self.rules)
        self.setup_stones = []

    def cmd_boardsize(self, args: list[str]) -> str:
        self._arity(args, 1)
        size = self._number(args[0])
        if not MIN_SIZE <= size <= MAX_SIZE or (self.player and not self.player.can_play(size)):
            raise GtpError("unacceptable size")
        self.new_game(size)
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self.new_game(self.game.size)
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        self._arity(args, 1)
        komi = self._number(args[0], float)
        if komi != komi or abs(komi) == float("inf"):
            raise GtpError("syntax error")
        self.game.komi = komi
        return ""

    def _place_handicap(self, points: list[int]) -> str:
        if self.game.history or self.setup_stones or self.game.stones().any():
            raise GtpError("board not empty")
        if len(set(points)) != len(points) or len(points) < 2:
            raise GtpError("bad vertex list")
        self.game.setup(black=points)
        self.game.to_move = WHITE
        self.setup_stones = [(BLACK, p) for p in points]
        return " ".join(to_gtp(p, self.game.size) for p in points)

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        self._arity(args, 1)
        return self._place_handicap(handicap_points(self._number(args[0]), self.game.size))

    def cmd_place_free_handicap(self, args: list[str]) -> str:
        self._arity(args, 1)
        n, size = self._number(args[0]), self.game.size
        if not 2 <= n < size * size:
            raise GtpError("invalid number of stones")
        try:
            points = handicap_points(min(n, 9), size)
        except GtpError:
            points = []
        spread = [r * size + c for r in range(size) for c in range(size) if r % 2 == c % 2 == size // 2 % 2]
        points += [p for p in spread if p not in points][: n - len(points)]
        points += [p for p in range(size * size) if p not in points][: n - len(points)]
        return self._place_handicap(points[:n])

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        points = [self._vertex(a) for a in args]
        if None in points:
            raise GtpError("bad vertex list")
        self._place_handicap(points)
        return ""

    # -- playing -------------------------------------------------------------------
    def cmd_play(self, args: list[str]) -> str:
        self._arity(args, 2)
        colour, move = self._colour(args[0]), self._vertex(args[1])
        try:
            self.game.play(colour, move)
        except IllegalMoveError:
            raise GtpError("illegal move") from None
        return ""

    def cmd_undo(self, args: list[str]) -> str:
        if not self.game.history:
            raise GtpError("cannot undo")
        self.game.undo()
        return ""

    def _require_player(self):
        if self.player is None:
            raise GtpError("no move generator loaded")
        return self.player

    def cmd_genmove(self, args: list[str]) -> str:
        self._arity(args, 1)
        colour = self._colour(args[0])
        move = self._require_player().genmove(self.game, colour, self.clock(colour))
        if move == "resign":
            return "resign"
        self.game.play(colour, move)
        return to_gtp(move, self.game.size)

    def cmd_reg_genmove(self, args: list[str]) -> str:
        self._arity(args, 1)
        colour = self._colour(args[0])
        move = self._require_player().genmove(self.game, colour, self.clock(colour), allow_resign=False)
        return to_gtp(move, self.game.size)

    def cmd_kgs__genmove_cleanup(self, args: list[str]) -> str:
        self._arity(args, 1)
        colour = self._colour(args[0])
        move = self._require_player().genmove(self.game, colour, self.clock(colour), cleanup=True)
        self.game.play(colour, move)
        return to_gtp(move, self.game.size)

    # -- time ------------------------------------------------------------------------
    def cmd_time_settings(self, args: list[str]) -> str:
        self._arity(args, 3)
        main, byo, stones = self._number(args[0], float), self._number(args[1], float), self._number(args[2])
        self.time_settings = (main, byo, stones)
        self.time_left.clear()
        return ""

    def cmd_kgs__time_settings(self, args: list[str]) -> str:
        self._arity(args, 1)
        kind = args[0].lower()
        if kind == "none":
            self.time_settings = None
        elif kind == "absolute":
            self._arity(args, 2)
            self.time_settings = (self._number(args[1], float), 0.0, 0)
        elif kind in ("byoyomi", "canadian"):
            self._arity(args, 4)
            period, stones = self._number(args[2], float), self._number(args[3])
            self.time_settings = (self._number(args[1], float), period, stones if kind == "canadian" else 1)
        else:
            raise GtpError("syntax error")
        self.time_left.clear()
        return ""

    def cmd_time_left(self, args: list[str]) -> str:
        self._arity(args, 3)
        self.time_left[self._colour(args[0])] = (self._number(args[1], float), self._number(args[2]))
        return ""

    def clock(self, colour: int) -> Optional[float]:
        """Seconds this move may take at most, from the time settings and time_left; None if untimed."""
        if colour in self.time_left:
            left, stones = self.time_left[colour]
            return left / max(stones, 1) if stones else left / 40
        if self.time_settings:
            main, byo, stones = self.time_settings
            return main / 40 if main > 0 else (byo / max(stones, 1) if byo > 0 else None)
        return None

    # -- looking at the board ----------------------------------------------------------
    def cmd_showboard(self, args: list[str]) -> str:
        black, white = self.game.board.captures
        return f"\n{self.game}\nkomi {self.game.komi:g}, captures: black {black}, white {white}"

    def cmd_list_stones(self, args: list[str]) -> str:
        self._arity(args, 1)
        colour = self._colour(args[0])
        stones = self.game.stones().reshape(-1)
        return " ".join(to_gtp(int(p), self.game.size) for p in (stones == colour).nonzero()[0])

    def cmd_is_legal(self, args: list[str]) -> str:
        self._arity(args, 2)
        return "1" if self.game.is_legal(self._colour(args[0]), self._vertex(args[1])) else "0"

    def cmd_final_score(self, args: list[str]) -> str:
        return self.game.result()

    def cmd_final_status_list(self, args: list[str]) -> str:
        """Tromp-Taylor: every stone on the board is alive; none dead, none in seki."""
        self._arity(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GtpError("syntax error")
        if status != "alive":
            return ""
        stones = self.game.stones().reshape(-1)
        return " ".join(to_gtp(int(p), self.game.size) for p in stones.nonzero()[0])

    # -- SGF -----------------------------------------------------------------------------
    def cmd_loadsgf(self, args: list[str]) -> str:
        """``loadsgf FILE [MOVE_NUMBER]``: the position before move MOVE_NUMBER (1-based), or the end."""
        from gopolicy.sgf.records import read_game, replay  # the SGF layer; imported here to keep start-up light

        self._arity(args, 1)
        before = max(self._number(args[1]), 1) if len(args) > 1 else None
        try:
            with open(args[0], "rb") as f:
                record = read_game(f.read(), args[0], require_moves=False)
            game = Game(record.size, record.komi, **self.rules)
            for game, _, _ in itertools.islice(replay(record, **self.rules), before):
                pass  # the live game before move `before`; an exhausted replay has played every move
            if not record.moves:
                for setup in record.setups:
                    game.setup(setup.black, setup.white, setup.empty)
                game.to_move = record.first_player or BLACK
        except (OSError, RecordError) as e:
            raise GtpError(f"cannot load file: {e}") from None
        self.game = game
        root = [setup for setup in record.setups if setup.after_moves == 0]
        self.setup_stones = [(colour, p) for setup in root for colour, points in ((BLACK, setup.black), (WHITE, setup.white))
                             for p in points]
        return ""

    def cmd_printsgf(self, args: list[str]) -> str:
        text = self.to_sgf()
        if args:
            with open(args[0], "w", encoding="utf-8") as f:
                f.write(text)
            return ""
        return text

    def to_sgf(self) -> str:
        """The current game as SGF (setup stones in the root, then the moves)."""
        size = self.game.size
        record = sgf.Sgf_game(size)
        root = record.get_root()
        root.set("KM", self.game.komi)
        root.set("AP", ("gopolicy", __version__))
        black = [move_to_point(p, size) for c, p in self.setup_stones if c == BLACK]
        white = [move_to_point(p, size) for c, p in self.setup_stones if c == WHITE]
        if black or white:
            root.set_setup_stones(black, white)
        if self.game.is_over:
            root.set("RE", self.game.result())
        for colour, move in self.game.history:
            record.extend_main_sequence().set_move("b" if colour == BLACK else "w", move_to_point(move, size))
        return record.serialise().decode("utf-8")
