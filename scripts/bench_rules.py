"""Times the rules engine on real games: moves per second replaying archived games with
``Game`` (history, undo snapshots, optional superko) and with the bare compiled ``Board``.

SGF parsing is not timed: the first N games of the archive are read (gopolicy.sgf.archives +
gopolicy.sgf.records) into plain lists of setup stones and (colour, flat move) first, then
replayed ``--repeats`` times; the best run is reported, as moves per CPU-second (the
process's own CPU time, the fair per-core figure on a shared machine) and per wall-second.
One process, one thread (``--cpu K`` also pins the process to core K).

    python scripts/bench_rules.py [ARCHIVE] [--games 1000] [--repeats 5] [--superko] [--cpu 0]

Default archive: the bundled sample, data/sample/kgs-sample.tar.gz (222 19x19 KGS games); the README's
figures come from ../shared/data/kgs6d-human-train.tar.gz.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gopolicy.errors import RecordError  # noqa: E402
from gopolicy.go.rules import Board, Game  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import GameRecord, read_game  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = str(REPO / "data" / "sample" / "kgs-sample.tar.gz")  # in the checkout; the README passes the KGS set

# One game, ready to replay: size, then a list of steps, each either
# ("setup", black, white, empty) or (colour, move).
Prepared = tuple[int, list[tuple]]


def prepare(record: GameRecord) -> Prepared:
    steps: list[tuple] = []
    pending = list(reversed(record.setups))
    for number, (colour, move) in enumerate(record.moves, start=1):
        while pending and pending[-1].after_moves < number:
            setup = pending.pop()
            steps.append(("setup", setup.black, setup.white, setup.empty))
        steps.append((colour, move))
    return record.size, steps


def load(archive: str, games: int) -> tuple[list[Prepared], int]:
    """The first ``games`` readable games; returns them and how many records were skipped."""
    out, skipped = [], 0
    for source, data in iter_sgf([archive]):
        try:
            out.append(prepare(read_game(data, source)))
        except RecordError:
            skipped += 1
            continue
        if len(out) == games:
            break
    return out, skipped


def replay_game(games: list[Prepared], superko: bool = False) -> None:
    for size, steps in games:
        game = Game(size, superko=superko)
        play, setup = game.play, game.setup
        for step in steps:
            if step[0] == "setup":
                setup(step[1], step[2], step[3])
            else:
                play(step[0], step[1])


def replay_board(games: list[Prepared]) -> None:
    bad = 0
    for size, steps in games:
        board = Board(size)
        play, set_stones = board.play, board.set_stones
        for step in steps:
            if step[0] == "setup":
                for points, colour in ((step[1], 1), (step[2], 2), (step[3], 0)):
                    if points:
                        set_stones(points, colour)
            elif play(step[0], step[1]) < 0:
                bad += 1
    if bad:
        raise RuntimeError(f"{bad} illegal moves in the bare-board replay")


def best_seconds(run: Callable[[], None], repeats: int) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) time of ``repeats`` runs. On a shared machine the
    CPU time is the fairer per-core figure: wall time also counts time spent descheduled."""
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def census(games: list[Prepared]) -> dict[str, int]:
    """Untimed: moves, passes, captures and ko captures in the games (checks they replay legally)."""
    counts = {"moves": 0, "passes": 0, "capturing moves": 0, "stones captured": 0, "ko captures": 0, "setup nodes": 0}
    for size, steps in games:
        game = Game(size)
        for step in steps:
            if step[0] == "setup":
                game.setup(step[1], step[2], step[3])
                counts["setup nodes"] += 1
                continue
            captured = game.play(step[0], step[1])
            counts["moves"] += 1
            counts["passes"] += step[1] is None
            counts["capturing moves"] += captured > 0
            counts["stones captured"] += captured
            counts["ko captures"] += game.board.ko is not None
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", nargs="?", default=DEFAULT_ARCHIVE)
    parser.add_argument("--games", type=int, default=1000, help="replay the first N games (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the best is reported (default 5)")
    parser.add_argument("--superko", action="store_true", help="also time Game(superko=True)")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this core")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    start = time.perf_counter()
    games, skipped = load(args.archive, args.games)
    parse_seconds = time.perf_counter() - start
    if not games:
        print(f"no readable games in {args.archive}", file=sys.stderr)
        return 1
    counts = census(games)
    moves = counts["moves"]
    print(f"{args.archive}: {len(games)} games ({skipped} skipped), parsed in {parse_seconds:.1f} s (not timed below)")
    print("  " + ", ".join(f"{value:,} {name}" for name, value in counts.items()))

    rows = [
        ("Game.play (simple ko)", lambda: replay_game(games)),
        ("bare compiled Board.play", lambda: replay_board(games)),
    ]
    if args.superko:
        rows.insert(1, ("Game.play (superko=True)", lambda: replay_game(games, superko=True)))
    loadavg = os.getloadavg()[0]
    print(f"  best of {args.repeats} runs, one thread (load average {loadavg:.1f} on {os.cpu_count()} cores):")
    print(f"  {'':<26} {'moves/CPU-s':>12} {'us/move':>8}   {'moves/wall-s':>12}")
    for name, run in rows:
        wall, cpu = best_seconds(run, args.repeats)
        print(f"  {name:<26} {moves / cpu:>12,.0f} {cpu * 1e6 / moves:>8.2f}   {moves / wall:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
