"""The Go Text Protocol (GTP v2) itself: framing, the command loop, streaming responses, and
registering command sets. It knows no Go: the commands come from command sets
(:mod:`gopolicy.gtp.board_commands` and the others), wired together in :mod:`gopolicy.gtp.engine`.

Framing follows the GTP v2 specification to the letter: control characters other than tab
and newline are dropped, tabs become spaces, ``#`` starts a comment, empty lines are
ignored, an optional numeric id is echoed, every response is ``=[id] text`` or ``?[id]
error`` followed by one empty line, commands are answered strictly in order, stdout
carries nothing but GTP and is flushed after each response.

Commands that run until interrupted (``lz-analyze`` and friends) ask :meth:`GtpProtocol.interrupted`
whether another command is waiting; the reader thread queues input as it arrives, so a GUI
can stop analysis by sending anything. Such a command streams its response with
:meth:`GtpProtocol.stream`: the first call sends the ``=[id]`` line at once, each call then
sends lines, and the response ends with the empty line when the command returns (Leela
Zero's multi-line form, which Sabaki reads line by line).

A *command set* is any object with a ``commands()`` method returning ``{name: handler}``;
a handler takes the command's arguments (a list of words) and returns the response text,
or raises :class:`GtpError` (or another :class:`~gopolicy.errors.GopolicyError`) whose
message becomes the ``?`` answer.
"""
from __future__ import annotations

import queue
import re
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, TextIO

from gopolicy import __version__
from gopolicy.errors import GopolicyError
from gopolicy.go.coords import Move, from_gtp, parse_colour


class GtpError(GopolicyError):
    """A command failed; the message is the error text sent after ``?``."""


Handler = Callable[[list[str]], str]


class CommandSet(Protocol):
    def commands(self) -> dict[str, Handler]:
        """The commands this set answers, by name."""


@dataclass
class Command:
    id: Optional[int]
    name: str
    args: list[str]


MAX_ID_DIGITS = 18  # a longer number is no id (it becomes the command's name: an unknown command)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse_line(line: str) -> Optional[Command]:
    """One input line -> a Command, or None for an empty or comment-only line."""
    line = _CONTROL.sub("", line.rstrip("\n")).replace("\t", " ")
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    words = line.split()
    ident = None
    if words[0].isascii() and words[0].isdigit() and len(words[0]) <= MAX_ID_DIGITS:
        ident = int(words.pop(0))
        if not words:
            return Command(ident, "", [])
    return Command(ident, words[0], words[1:])


def format_response(ident: Optional[int], ok: bool, text: str) -> str:
    """``=[id] text\\n\\n`` or ``?[id] text\\n\\n``; text never contains an empty line."""
    text = re.sub(r"\n\s*\n", "\n", text.rstrip())
    head = ("=" if ok else "?") + ("" if ident is None else str(ident))
    return f"{head} {text}\n\n" if text else f"{head}\n\n"


def _lines(text: str) -> str:
    """``text`` as lines each ending in a newline, without empty ones ('' for no text)."""
    return "".join(line + "\n" for line in text.splitlines() if line.strip())


# -- reading arguments: the same errors for every command set ------------------------------

def require_args(args: list[str], n: int) -> None:
    """GtpError ``syntax error`` unless there are at least ``n`` arguments."""
    if len(args) < n:
        raise GtpError("syntax error")


def colour_arg(text: str) -> int:
    try:
        return parse_colour(text)
    except ValueError:
        raise GtpError("syntax error") from None


def vertex_arg(text: str, size: int) -> Move:
    """A vertex (or ``pass``) on a ``size`` board; ``syntax error`` if it is not one, ``illegal
    move`` if it is off this board."""
    if not re.fullmatch(r"(?i)pass|[a-hj-z][0-9]{1,2}", text) or not text.isascii():
        raise GtpError("syntax error")
    try:
        return from_gtp(text, size)
    except ValueError:
        raise GtpError("illegal move") from None


def number_arg(text: str, kind: type = int, finite: bool = True):
    """An int or float argument; ``syntax error`` if it is not one (or, for floats, not finite)."""
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise GtpError("syntax error") from None
    if finite and (value != value or value in (float("inf"), float("-inf"))):
        raise GtpError("syntax error")
    return value


class GtpProtocol:
    """GTP's framing and command loop, the administrative commands, and the command table
    that :meth:`add` fills from command sets."""

    def __init__(self, name: str = "gopolicy"):
        self.name = name
        self.done = False
        self.commands: dict[str, Handler] = {}
        self._out: Optional[TextIO] = None
        self._id: Optional[int] = None
        self._streamed: Optional[str] = None
        self._interrupted: Callable[[], bool] = lambda: True
        self.commands.update(self._administrative())

    def add(self, command_set: CommandSet) -> None:
        """Registers ``command_set``'s commands (a later set's command replaces an earlier one of its name)."""
        self.commands.update(command_set.commands())

    # -- the loop --------------------------------------------------------------
    def respond(self, line: str) -> str:
        """The framed response to one input line, as :meth:`serve` would write it ("" for an
        empty or comment-only line): for scripts, demos and tests that drive an engine in-process."""
        command = parse_line(line)
        return "" if command is None else self.execute(command)

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

    # -- administrative commands ------------------------------------------------
    def _administrative(self) -> dict[str, Handler]:
        return {"protocol_version": lambda args: "2", "name": lambda args: self.name,
                "version": lambda args: __version__, "known_command": self._known_command,
                "list_commands": lambda args: "\n".join(sorted(self.commands)), "quit": self._quit}

    def _known_command(self, args: list[str]) -> str:
        require_args(args, 1)
        return "true" if args[0] in self.commands else "false"

    def _quit(self, args: list[str]) -> str:
        self.done = True
        return ""
