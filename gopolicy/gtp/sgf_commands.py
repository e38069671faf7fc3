"""GTP's SGF commands: ``loadsgf FILE [MOVE_NUMBER]`` and ``printsgf [FILE]``.

``loadsgf`` reads regular files only, of at most :data:`MAX_SGF_BYTES` (a named pipe, a
device or a larger file is refused at once, never read), and makes the loaded game the
state's history, so moves can be undone and played on. ``printsgf`` writes the game in one
pass over its history (linear in its length; the history itself is bounded by what a file
of that size or the controller's commands can hold).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from gopolicy import __version__
from gopolicy.errors import IllegalMoveError, RecordError
from gopolicy.go.coords import BLACK, colour_letter, to_sgf
from gopolicy.gtp.protocol import GtpError, Handler, number_arg, require_args
from gopolicy.gtp.state import Event, GameState, Placement, Played
from gopolicy.util.files import write_bytes_atomic

MAX_SGF_BYTES = 1 << 20  # 1 MiB: a few hundred thousand moves, far more than any real game
NODES_PER_LINE = 10


def read_sgf_file(path: str) -> bytes:
    """The bytes of a regular file of at most MAX_SGF_BYTES; GtpError ``cannot load file`` otherwise."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise GtpError(f"cannot load file: {path}: not a regular file")
        if info.st_size > MAX_SGF_BYTES:
            raise GtpError(f"cannot load file: {path}: larger than {MAX_SGF_BYTES >> 20} MiB")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never blocks, whatever the path became since
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise GtpError(f"cannot load file: {path}: not a regular file")
            data = f.read(MAX_SGF_BYTES + 1)
    except OSError as e:
        raise GtpError(f"cannot load file: {path}: {e.strerror or e}") from None
    if len(data) > MAX_SGF_BYTES:
        raise GtpError(f"cannot load file: {path}: larger than {MAX_SGF_BYTES >> 20} MiB")
    return data


def _points(tag: str, points, size: int) -> str:
    return tag + "".join(f"[{to_sgf(p, size)}]" for p in points) if points else ""


def sgf_text(state: GameState) -> str:
    """The state's game as SGF: setup stones before the first move in the root, then one node
    per move (and per later setup). One pass over the history."""
    size, game = state.size, state.game
    komi = f"{game.komi:.6f}".rstrip("0").rstrip(".")
    root = [f"(;FF[4]GM[1]CA[UTF-8]AP[gopolicy:{__version__}]SZ[{size}]KM[{komi}]"]
    black, white = state.root_stones()
    root.append(_points("AB", black, size) + _points("AW", white, size))
    if game.is_over:
        root.append(f"RE[{game.result()}]")
    nodes = ["".join(root)]
    started = False
    for event in state.events:
        if isinstance(event, Played):
            started = True
            nodes.append(f";{colour_letter(event.colour).upper()}[{to_sgf(event.move, size)}]")
        elif started:
            nodes.append(";" + _points("AB", event.black, size) + _points("AW", event.white, size)
                         + _points("AE", event.empty, size))
    lines = ["".join(nodes[i:i + NODES_PER_LINE]) for i in range(0, len(nodes), NODES_PER_LINE)]
    return "\n".join(lines) + ")\n"


def record_events(record, before) -> list[Event]:
    """A record's setups and moves, as the state's history, up to the position before move
    ``before`` (1-based; None: the end). A record without moves gets all its setups and the
    player to move it names."""
    events: list[Event] = []
    pending = list(reversed(record.setups))
    for number, (colour, move) in enumerate(record.moves, start=1):
        while pending and pending[-1].after_moves < number:
            setup = pending.pop()
            events.append(Placement(setup.black, setup.white, setup.empty))
        if before is not None and number >= before:
            return events
        events.append(Played(colour, move))
    if not record.moves:
        events = [Placement(s.black, s.white, s.empty) for s in record.setups]
        events.append(Placement(to_move=record.first_player or BLACK))
    return events


class SgfCommands:
    def __init__(self, state: GameState):
        self.state = state

    def commands(self) -> dict[str, Handler]:
        return {"loadsgf": self.loadsgf, "printsgf": self.printsgf}

    def loadsgf(self, args: list[str]) -> str:
        """``loadsgf FILE [MOVE_NUMBER]``: the position before move MOVE_NUMBER (1-based), or the end."""
        from gopolicy.sgf.records import check_legal, read_game  # the SGF layer; imported here to keep start-up light

        require_args(args, 1)
        before = max(number_arg(args[1]), 1) if len(args) > 1 else None
        path = args[0]
        try:
            record = read_game(read_sgf_file(path), path, require_moves=False)
            events = record_events(record, before)
            try:
                self.state.replace(record.size, record.komi, events)
            except IllegalMoveError:
                check_legal(record, **self.state.rules)  # says which move, as a RecordError
                raise
        except (RecordError, IllegalMoveError) as e:
            raise GtpError(f"cannot load file: {e}") from None
        return ""

    def printsgf(self, args: list[str]) -> str:
        """``printsgf``: the game as SGF; ``printsgf FILE``: written to FILE (a regular file or a new one)."""
        text = sgf_text(self.state)
        if not args:
            return text
        path = Path(args[0])
        try:
            if path.exists() and not path.is_file():
                raise GtpError(f"cannot write {path}: not a regular file")
            write_bytes_atomic(path, text.encode("utf-8"))
        except OSError as e:
            raise GtpError(f"cannot write {path}: {e.strerror or e}") from None
        return ""
