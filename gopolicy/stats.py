"""``gopolicy stats ARCHIVE...``: what is in a set of game records, and which games are unusable.

Counts games, moves (non-pass and passes), skipped games by reason, board sizes,
handicaps, the stronger player's rank, years and komi. Every game is parsed and
replayed under the rules, so the skip counts say exactly what training would lose.
The main process streams the inputs; worker processes parse and replay chunks of
games and send back small partial counts, which are merged.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional

from gopolicy.errors import RecordError
from gopolicy.sgf.archives import INPUT_REASONS, MAX_RECORD_BYTES, add_max_record_bytes, iter_sgf
from gopolicy.sgf.records import GameRecord, check_legal, rank_label, read_game
from gopolicy.sgf.skipped import SkippedGame, write_skipped
from gopolicy.util.args import add_progress, existing_path, output_file, positive_int
from gopolicy.util.parallel import bounded_map, chunked
from gopolicy.util.progress import progress as progress_bar

CHUNK_GAMES = 200  # games per worker task: a fraction of a second of work, cheap to pickle
MAX_EXAMPLES = 10  # error messages kept for the report
UNEXPECTED = "unexpected error"  # a bug, not bad data: counted so a long run still finishes



@dataclass
class Stats:
    """Counts over a set of games; partial counts from workers are merged with :meth:`merge`."""

    games: int = 0  # usable games (parsed and replayed legally)
    moves: int = 0  # non-pass moves in usable games
    passes: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> games (or inputs) skipped
    examples: list = field(default_factory=list)  # the first few error messages
    skipped_games: list = field(default_factory=list)  # every skipped game (and input): SkippedGame rows
    sizes: Counter = field(default_factory=Counter)
    handicaps: Counter = field(default_factory=Counter)  # HA (0 = even game) -> games
    ranks: Counter = field(default_factory=Counter)  # stronger player's rank value (None = unknown) -> games
    years: Counter = field(default_factory=Counter)
    komis: Counter = field(default_factory=Counter)

    def add_game(self, record: GameRecord) -> None:
        passes = record.passes
        self.games += 1
        self.moves += len(record.moves) - passes
        self.passes += passes
        self.sizes[record.size] += 1
        self.handicaps[record.handicap] += 1
        self.ranks[record.stronger_rank] += 1
        self.years[record.year] += 1
        self.komis[record.komi] += 1

    def add_error(self, error: RecordError) -> None:
        self.skipped[error.reason] += 1
        self.skipped_games.append(SkippedGame.from_error(error))
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(str(error))

    def merge(self, other: "Stats") -> "Stats":
        self.games += other.games
        self.moves += other.moves
        self.passes += other.passes
        for name in ("skipped", "sizes", "handicaps", "ranks", "years", "komis"):
            getattr(self, name).update(getattr(other, name))
        self.examples.extend(other.examples[: MAX_EXAMPLES - len(self.examples)])
        self.skipped_games.extend(other.skipped_games)
        return self

    @property
    def games_read(self) -> int:
        """Usable games plus skipped games (inputs that could not be read are not games)."""
        return self.games + sum(n for reason, n in self.skipped.items() if reason not in INPUT_REASONS)

    def to_json(self) -> dict:
        """Plain JSON-ready counts; keys are strings, ``"unknown"`` where a value is missing."""
        return {
            "games": self.games,
            "games_read": self.games_read,
            "moves": self.moves,
            "passes": self.passes,
            "skipped": dict(self.skipped.most_common()),
            "examples": self.examples,
            "board_sizes": _keyed(self.sizes, str, reverse=True),
            "handicap": _keyed(self.handicaps, str),
            "stronger_rank": _keyed(self.ranks, _rank_key, reverse=True),
            "years": _keyed(self.years, str),
            "komi": _keyed(self.komis, lambda k: f"{k:g}"),
        }


def _rank_key(value: Optional[int]) -> str:
    return "unknown" if value is None else rank_label(value)


def _keyed(counter: Counter, name: Callable, reverse: bool = False) -> dict:
    """Counter -> {name(key): count} sorted by key (missing keys last as ``"unknown"``)."""
    known = sorted((k for k in counter if k is not None), reverse=reverse)
    result = {name(k): counter[k] for k in known}
    if None in counter:
        result["unknown"] = counter[None]
    return result


# -- work ---------------------------------------------------------------------------


def game_stats(games: list[tuple[str, bytes]]) -> Stats:
    """Parses and replays a chunk of games (runs in a worker process)."""
    stats = Stats()
    for source, data in games:
        try:
            stats.add_game(check_legal(read_game(data, source)))
        except RecordError as error:
            stats.add_error(error)
        except Exception as error:  # noqa: BLE001 -- a bug must not lose a long run; it is reported
            stats.add_error(RecordError(UNEXPECTED, source, f"{type(error).__name__}: {error}"))
    return stats


def collect(inputs: list[str], jobs: int = 1, limit: Optional[int] = None, progress: bool = True,
            max_record_bytes: int = MAX_RECORD_BYTES) -> Stats:
    """Stats over every game in ``inputs`` (files, directories, archives)."""
    total = Stats()
    games = iter_sgf(inputs, on_error=total.add_error, max_record_bytes=max_record_bytes)
    if limit is not None:
        games = itertools.islice(games, limit)
    with progress_bar(unit=" games", enabled=progress, mininterval=1.0, smoothing=0.1) as bar:
        for part in bounded_map(game_stats, chunked(games, CHUNK_GAMES), jobs):
            total.merge(part)
            bar.update(part.games + sum(part.skipped.values()))
    return total


# -- report -------------------------------------------------------------------------


def _line(title: str, counts: dict, prefix: str = "") -> str:
    items = ", ".join(f"{prefix}{key}: {n:,}" for key, n in counts.items())
    return f"{title:<16}{items or '-'}"


def _most_common(counts: dict, n: int) -> dict:
    """The ``n`` largest counts, in their original key order, plus ``"others"``."""
    keep = set(sorted(counts, key=counts.get, reverse=True)[:n])
    result = {key: count for key, count in counts.items() if key in keep}
    if len(counts) > n:
        result["others"] = sum(count for key, count in counts.items() if key not in keep)
    return result


def format_report(stats: Stats, seconds: float) -> str:
    """A readable report of ``stats`` (and how long collecting them took)."""
    data = stats.to_json()
    skipped = sum(stats.skipped.values())
    handicap_games = {k: n for k, n in data["handicap"].items() if k != "0"}
    lines = [
        f"games           {stats.games:,} usable of {stats.games_read:,} read",
        f"moves           {stats.moves + stats.passes:,} ({stats.moves:,} non-pass, {stats.passes:,} passes)",
        f"skipped         {skipped:,}" + (f" ({', '.join(f'{r}: {n:,}' for r, n in data['skipped'].items())})" if skipped else ""),
        _line("board sizes", {f"{k}x{k}": n for k, n in data["board_sizes"].items()}),
        f"handicap games  {sum(handicap_games.values()):,} ({', '.join(f'HA {k}: {n:,}' for k, n in handicap_games.items()) or 'none'}); "
        f"even games {data['handicap'].get('0', 0):,}",
        _line("stronger rank", data["stronger_rank"]),
        _line("years", data["years"]),
        _line("komi", _most_common(data["komi"], 8)),
    ]
    rate = f"{stats.games_read / seconds:,.0f} games/s, {(stats.moves + stats.passes) / seconds:,.0f} moves/s" if seconds > 0 else ""
    lines.append(f"time            {seconds:.1f} s ({rate})")
    if stats.examples:
        more = len(stats.examples) < len(stats.skipped_games)
        lines.append("first problems (all of them: --skipped FILE):" if more else "problems:")
        lines.extend(f"  {message}" for message in stats.examples)
    return "\n".join(lines)


# -- command ------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=existing_path, metavar="ARCHIVE",
                        help=".sgf file, directory, .zip or .tar[.gz|.bz2|.xz] archive")
    parser.add_argument("--jobs", "-j", type=positive_int, default=available_cores(),
                        help="worker processes (default: all cores, %(default)s)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N", help="stop after N games")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON instead of a report")
    parser.add_argument("--skipped", type=output_file, metavar="FILE",
                        help="also write every skipped game (source, reason, move, detail) to FILE, tab-separated")
    add_max_record_bytes(parser)
    add_progress(parser)



def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(args: argparse.Namespace) -> int:
    """Prints the stats; exit status 1 if an input could not be read completely or no game was found."""
    start = time.perf_counter()
    stats = collect([str(i) for i in args.inputs], jobs=args.jobs, limit=args.limit, progress=args.progress,
                    max_record_bytes=args.max_record_bytes)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({**stats.to_json(), "seconds": round(seconds, 3)}, indent=2))
    else:
        print(format_report(stats, seconds))
    if args.skipped:
        count = write_skipped(args.skipped, stats.skipped_games)
        print(f"{count:,} skipped games and inputs listed in {args.skipped}", file=sys.stderr)
    sys.stdout.flush()
    if stats.games_read == 0:
        print("gopolicy stats: no SGF games found", file=sys.stderr)
        return 1
    return 1 if any(stats.skipped[reason] for reason in INPUT_REASONS) else 0
