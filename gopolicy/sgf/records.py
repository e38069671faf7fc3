"""Read one SGF game record (via sgfmill) into a :class:`GameRecord`, and replay it under the rules.

A record keeps what training, filtering and statistics need: board size, komi,
handicap, setup stones (``AB``/``AW``/``AE``, in the root or in later nodes, kept in
order relative to the moves), ``PL``, the main line's moves with passes, result,
players, ranks and date.

Parsing is sgfmill's (``sgf_grammar.parse_sgf_game``, what ``Sgf_game.from_bytes``
runs); the main line is then read from its raw property maps rather than through
``Node.get_move`` per move, which is a large part of the per-game cost otherwise.
Setup stones still go through ``Node.get_setup_stones`` (compressed point lists). Anything that makes a record unusable raises
:class:`~gopolicy.errors.RecordError` with a short ``reason`` for counting (one of
``REASONS``), the source name and, where one move is at fault, its 1-based number.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Optional

from sgfmill import sgf, sgf_grammar, sgf_properties

from gopolicy.errors import IllegalMoveError, RecordError
from gopolicy.go.coords import BLACK, WHITE, Move, check_size, colour_letter, from_sgf, parse_colour, point_to_move, to_gtp, to_sgf
from gopolicy.go.rules import Game

MALFORMED = "malformed sgf"
BOARD_SIZE = "board size"
BAD_PROPERTY = "bad property"
NO_MOVES = "no moves"
ILLEGAL_MOVE = "illegal move"
REASONS = (MALFORMED, BOARD_SIZE, BAD_PROPERTY, NO_MOVES, ILLEGAL_MOVE)

# Text properties kept in a record; they decide which encoding a record is read in.
_TEXT_PROPERTIES = ("PB", "PW", "BR", "WR", "RE", "DT")


@dataclass(frozen=True)
class Setup:
    """Stones placed (``AB``/``AW``) or removed (``AE``) by one node, as flat indices.

    ``after_moves`` is how many main-line moves come before it: 0 for the root's
    handicap stones, k for a node between move k and move k+1.
    """

    black: tuple[int, ...]
    white: tuple[int, ...]
    empty: tuple[int, ...]
    after_moves: int = 0


@dataclass(frozen=True)
class GameRecord:
    """One game's main line and the root properties we use. Text is decoded (see ``encoding``)."""

    source: str
    size: int
    moves: tuple[tuple[int, Move], ...]  # (colour, flat index or None for a pass), in order
    setups: tuple[Setup, ...] = ()
    komi: float = 0.0
    handicap: int = 0  # HA, 0 when absent
    first_player: Optional[int] = None  # PL, None when absent
    result: str = ""
    black_name: str = ""
    white_name: str = ""
    black_rank: str = ""
    white_rank: str = ""
    date: str = ""
    encoding: str = "UTF-8"  # the one the text properties were decoded with

    @property
    def winner(self) -> int:
        """BLACK or WHITE as ``RE`` says (``B+3.5``, ``W+R``, ``B+T`` ...); 0 for a draw, a void
        game or no result."""
        result = self.result.strip().upper()
        return BLACK if result.startswith("B+") else WHITE if result.startswith("W+") else 0

    @property
    def passes(self) -> int:
        """How many of the moves are passes."""
        return sum(1 for _, move in self.moves if move is None)

    @property
    def year(self) -> Optional[int]:
        """The first year in ``DT`` (``'2006-01-01'`` -> 2006), None if there is none."""
        match = _YEAR.search(self.date)
        return int(match.group(1)) if match else None

    @property
    def stronger_rank(self) -> Optional[int]:
        """The higher of the two players' ranks as a :func:`parse_rank` number, None if neither parses."""
        ranks = [r for r in (parse_rank(self.black_rank), parse_rank(self.white_rank)) if r is not None]
        return max(ranks) if ranks else None


# -- ranks -------------------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)")
_RANK = re.compile(r"^\s*(\d{1,2})\s*(kyu|k|級|级|dan|d|段|pro|p)(?![a-z])", re.IGNORECASE)
_RANK_KIND = {"k": "k", "kyu": "k", "級": "k", "级": "k", "d": "d", "dan": "d", "段": "d", "p": "p", "pro": "p"}


def parse_rank(text: str) -> Optional[int]:
    """A rank as a number that orders by strength: 30k = -29 .. 1k = 0, 1d = 1 .. 9d = 9, 1p = 10 .. 9p = 18.

    Accepts ``'7d'``, ``'3k'``, ``'2p'``, ``'9d?'`` (uncertain ranks count), ``'5 dan'``,
    ``'1 kyu'``, ``'9段'``; returns None for anything else (``''``, ``'-'``, ``'?'``, ``'10d'``).
    Professionals rank above amateurs, which is what a ``--min-rank`` filter wants.
    """
    match = _RANK.match(text or "")
    if not match:
        return None
    number, kind = int(match.group(1)), _RANK_KIND[match.group(2).lower()]
    if kind == "k":
        return 1 - number if number >= 1 else None
    if not 1 <= number <= 9:
        return None
    return number if kind == "d" else 9 + number


def rank_label(value: int) -> str:
    """Inverse of :func:`parse_rank`: 9 -> ``'9d'``, 0 -> ``'1k'``, 12 -> ``'3p'``."""
    if value <= 0:
        return f"{1 - value}k"
    return f"{value}d" if value <= 9 else f"{value - 9}p"


# -- reading -----------------------------------------------------------------------


def _ascii(raw: bytes) -> str:
    return raw.decode("ascii", "replace").strip()


def _board_size(root: dict, source: str, required: Optional[int]) -> int:
    raw = root.get("SZ", [b"19"])[0]
    try:
        size = check_size(int(raw))
    except ValueError:
        raise RecordError(BOARD_SIZE, source, f"SZ[{_ascii(raw)}] is not a supported board size") from None
    if required is not None and size != required:
        raise RecordError(BOARD_SIZE, source, f"{size}x{size}, not {required}x{required}")
    return size


def _known_codec(name: str) -> Optional[str]:
    try:
        return sgf_properties.normalise_charset_name(name)
    except (LookupError, ValueError):
        return None


def _choose_encoding(root: dict, override: Optional[str]) -> str:
    """The first of (override or CA, UTF-8, ISO-8859-1) that decodes all the text we keep.

    SGF's default is ISO-8859-1, but files without ``CA`` are mostly UTF-8 nowadays,
    and valid UTF-8 is rarely anything else. A broken ``CA`` is ignored.
    """
    if override is not None and _known_codec(override) is None:
        raise ValueError(f"unknown encoding: {override}")
    declared = override or (_ascii(root["CA"][0]) if "CA" in root else "")
    candidates = [_known_codec(declared) if declared else None, "UTF-8", "ISO-8859-1"]
    texts = [value for name in _TEXT_PROPERTIES for value in root.get(name, ())]
    for encoding in candidates:
        if encoding is None:
            continue
        try:
            for value in texts:
                value.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return encoding
    return "ISO-8859-1"  # not reached: every byte string decodes as ISO-8859-1


def _text(root: dict, name: str, encoding: str) -> str:
    values = root.get(name)
    if not values:
        return ""
    return sgf_grammar.simpletext_value(values[0]).decode(encoding, "replace").strip()


def _number(root: dict, name: str, source: str, kind: type, default):
    """A numeric root property (``KM``, ``HA``); empty counts as absent, garbage raises RecordError."""
    values = root.get(name)
    text = _ascii(values[0]) if values else ""
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or (kind is int and value < 0):
        raise RecordError(BAD_PROPERTY, source, f"{name}[{text}]")
    return value


def _first_player(root: dict, source: str) -> Optional[int]:
    if "PL" not in root:
        return None
    text = _ascii(root["PL"][0])
    try:
        return parse_colour(text)
    except ValueError:
        raise RecordError(BAD_PROPERTY, source, f"PL[{text}]") from None


_NOT_A_POINT = object()


@lru_cache(maxsize=None)
def _move_table(size: int) -> dict[bytes, Move]:
    """Raw SGF move value -> flat move (None for a pass) on a ``size`` board, built with coords."""
    table: dict[bytes, Move] = {to_sgf(move, size).encode(): move for move in range(size * size)}
    for raw in (b"", b"tt"):
        try:
            table[raw] = from_sgf(raw.decode(), size)
        except ValueError:  # 'tt' is a point, not a pass, above 19x19
            pass
    return table


def _setup(node: sgf.Node, source: str, moves_before: int) -> Setup:
    """The AB/AW/AE stones of one node, read by sgfmill (which expands compressed point lists)."""
    try:
        black, white, empty = node.get_setup_stones()
    except ValueError:
        properties = node.get_raw_property_map()
        detail = " ".join(f"{p}[{_ascii(b']['.join(properties[p]))}]" for p in ("AB", "AW", "AE") if p in properties)
        raise RecordError(BAD_PROPERTY, source, f"setup stones {detail[:80]}", moves_before + 1 if moves_before else None) from None
    size = node.get_size()
    return Setup(*(tuple(sorted(point_to_move(p, size) for p in points)) for points in (black, white, empty)), moves_before)


def read_game(
    data: bytes,
    source: str = "<sgf>",
    *,
    size: Optional[int] = None,
    require_moves: bool = True,
    override_encoding: Optional[str] = None,
) -> GameRecord:
    """Reads the first game in ``data`` (SGF bytes) and its main line into a :class:`GameRecord`.

    ``size``: the board size required (e.g. 19), any supported size if None.
    ``require_moves``: a game without moves raises ``'no moves'``.
    ``override_encoding``: read text in this encoding whatever ``CA`` says.
    Raises RecordError; never anything else for bad data.
    """
    try:
        tree = sgf_grammar.parse_sgf_game(data)
    except ValueError as error:
        raise RecordError(MALFORMED, source, str(error)) from None
    root = tree.sequence[0]
    if "GM" in root and _ascii(root["GM"][0]) not in ("", "1"):
        raise RecordError(BAD_PROPERTY, source, f"GM[{_ascii(root['GM'][0])}] is not a Go record")
    board_size = _board_size(root, source, size)
    encoding = _choose_encoding(root, override_encoding)
    presenter = sgf_properties.Presenter(board_size, encoding)
    move_table = _move_table(board_size)

    moves: list[tuple[int, Move]] = []
    setups: list[Setup] = []
    for properties in sgf_grammar.main_sequence_iter(tree):  # plain property maps: fast
        if "AB" in properties or "AW" in properties or "AE" in properties:
            setups.append(_setup(sgf.Node(properties, presenter), source, len(moves)))
        raw, colour = properties.get("B"), BLACK
        if raw is None:
            raw, colour = properties.get("W"), WHITE
            if raw is None:
                continue
        move = move_table.get(raw[0], _NOT_A_POINT)
        if move is _NOT_A_POINT:
            detail = f"{colour_letter(colour).upper()}[{_ascii(raw[0])}] is not a point on a {board_size}x{board_size} board"
            raise RecordError(BAD_PROPERTY, source, detail, len(moves) + 1)
        moves.append((colour, move))

    if require_moves and not moves:
        raise RecordError(NO_MOVES, source)
    return GameRecord(
        source=source,
        size=board_size,
        moves=tuple(moves),
        setups=tuple(setups),
        komi=_number(root, "KM", source, float, 0.0),
        handicap=_number(root, "HA", source, int, 0),
        first_player=_first_player(root, source),
        result=_text(root, "RE", encoding),
        black_name=_text(root, "PB", encoding),
        white_name=_text(root, "PW", encoding),
        black_rank=_text(root, "BR", encoding),
        white_rank=_text(root, "WR", encoding),
        date=_text(root, "DT", encoding),
        encoding=encoding,
    )


# -- replaying -----------------------------------------------------------------------


def replay(record: GameRecord, *, allow_suicide: bool = False, superko: bool = False) -> Iterator[tuple[Game, int, Move]]:
    """Replays the main line under the rules, yielding ``(game_before_move, colour, move)`` for every move.

    ``colour`` is the colour that moves in the record (handicap games and two moves of
    one colour in a row are fine); setup stones are placed where the record has them.
    The yielded ``game`` is the live game, valid until the next step: ``game.copy()``
    it to keep it. An illegal move raises RecordError ``'illegal move'`` with its
    1-based number, after the positions before it were yielded.
    """
    game = Game(record.size, record.komi, allow_suicide=allow_suicide, superko=superko, undoable=False)
    pending = list(reversed(record.setups))
    for number, (colour, move) in enumerate(record.moves, start=1):
        while pending and pending[-1].after_moves < number:
            setup = pending.pop()
            game.setup(setup.black, setup.white, setup.empty)
        yield game, colour, move
        try:
            game.play(colour, move)
        except IllegalMoveError as error:
            where = "pass" if move is None else f"{to_gtp(move, record.size)} ({to_sgf(move, record.size)})"
            detail = f"{colour_letter(colour).upper()} {where}: {error.reason}"
            raise RecordError(ILLEGAL_MOVE, record.source, detail, number) from None


def check_legal(record: GameRecord, *, allow_suicide: bool = False, superko: bool = False) -> GameRecord:
    """Replays ``record`` to its end and returns it; raises RecordError at its first illegal move."""
    for _ in replay(record, allow_suicide=allow_suicide, superko=superko):
        pass
    return record
