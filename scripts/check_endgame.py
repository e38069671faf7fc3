#!/usr/bin/env python3
"""End-of-game judgement against GNU Go and the records: dead stones and the winner.

For every game that ended by counting (a result such as ``B+3.5``, not a resignation or a
loss on time), replays the record to its end and compares

* the dead stones of :func:`gopolicy.go.ownership.dead_stones` with GNU Go's
  ``final_status_list dead`` (the same set, and stone by stone), and
* the winner by :func:`gopolicy.go.ownership.final_score` with the recorded winner (and GNU
  Go's ``final_score`` with it, for scale).

GNU Go is not the truth (its own count misses the recorded winner in about 5% of games), so
``--show N`` prints the first N games where the two judgements differ, for a person to read.

    python scripts/check_endgame.py data/sample/kgs-sample.tar.gz data/sample/tygem-sample.tar.gz --games 100
    python scripts/check_endgame.py ../shared/data/kgs6d-human-train.tar.gz --skip 25 --every 50 --games 200 \\
        --exclude data/sample/kgs-sample.tar.gz --cache /tmp/gnugo-answers.json

``--skip K`` passes over the first K games that ended by counting, ``--every N`` then takes every
N-th one (a sample spread over the years of an archive), and ``--exclude`` passes over any game
also found in those inputs (such as the sample games), so games used while tuning can be held
out. ``--cache FILE`` keeps GNU Go's answers by game, so a rerun asks GNU Go only about games it
has not seen (GNU Go at level 10 takes most of the time).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np  # noqa: E402

from gopolicy.errors import RecordError  # noqa: E402
from gopolicy.go.coords import BLACK, from_gtp  # noqa: E402
from gopolicy.go.ownership import PLAYOUTS, judge  # noqa: E402
from gopolicy.go.rules import Game  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import read_game, replay  # noqa: E402
from gopolicy.util.args import existing_path, non_negative_int, positive_int  # noqa: E402

COUNTED = re.compile(r"^([BW])\+(\d+(\.\d+)?)$")
COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"


class Gnugo:
    """GNU Go over GTP, for its judgement of finished games."""

    def __init__(self, command: str):
        self.command = command
        self.process: subprocess.Popen | None = None

    def ask(self, command: str) -> str:
        if self.process is None:  # started on first use: a run answered from the cache needs none
            self.process = subprocess.Popen(self.command.split(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            text=True)
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        lines = []
        while (line := self.process.stdout.readline()) not in ("\n", ""):
            lines.append(line.rstrip("\n"))
        answer = "\n".join(lines)
        if not answer.startswith("="):
            raise RuntimeError(f"gnugo: {command}: {answer}")
        return answer[1:].strip()

    def judge(self, path: Path) -> dict:
        self.ask(f"loadsgf {path}")
        return {"dead": self.ask("final_status_list dead").split(), "seki": self.ask("final_status_list seki").split(),
                "score": self.ask("final_score")}

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def finished_games(inputs, limit: int, skip: int = 0, every: int = 1, exclude: frozenset[str] = frozenset()):
    """(source, data, game at its end, recorded winner letter) for games that ended by counting:
    after the first ``skip`` of them, every ``every``-th one, ``limit`` in all."""
    index = 0
    for source, data in iter_sgf(inputs):
        if digest(data) in exclude:
            continue
        try:
            record = read_game(data, source, size=19)
        except RecordError:
            continue
        winner = COUNTED.match(record.result.strip())
        if not winner:
            continue
        if skip > 0:
            skip -= 1
            continue
        index += 1
        if (index - 1) % every:
            continue
        steps = replay(record)
        try:
            game = next(steps)[0]
            for _ in steps:  # the live game plays each move as the next one is asked for
                pass
        except (RecordError, StopIteration):
            continue
        yield source, data, game, winner.group(1)
        limit -= 1
        if limit == 0:
            return


def diagram(game: Game, ours: set[int], theirs: set[int], owner: np.ndarray, seki: set[int]) -> str:
    """The board three times: our dead stones (lower case, seki ``s``/``z``), GNU Go's, and the ownership."""
    size, stones = game.size, game.stones().reshape(-1)

    def mark(p: int, dead: set[int]) -> str:
        c = int(stones[p])
        if c == 0:
            return "."
        if p in seki:
            return "s" if c == BLACK else "z"
        return ("x" if c == BLACK else "o") if p in dead else ("X" if c == BLACK else "O")

    def own(p: int) -> str:
        v = owner[p]
        return "B" if v > 0.8 else "b" if v > 0.2 else "W" if v < -0.8 else "w" if v < -0.2 else "."

    head = " ".join(COLUMNS[:size])
    lines = [f"   {head}   {head}   {head}", "   ours" + " " * (2 * size - 2) + "GNU Go" + " " * (2 * size - 5)
             + "ownership"]
    for row in reversed(range(size)):
        points = range(row * size, row * size + size)
        lines.append(f"{row + 1:2d} " + " ".join(mark(p, ours) for p in points) + "   "
                     + " ".join(mark(p, theirs) for p in points) + "   " + " ".join(own(p) for p in points))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=existing_path, help="SGF files, folders or archives")
    parser.add_argument("--games", type=positive_int, default=100, help="games that ended by counting to check")
    parser.add_argument("--skip", type=non_negative_int, default=0,
                        help="pass over the first K games that ended by counting")
    parser.add_argument("--every", type=positive_int, default=1,
                        help="then take every N-th game that ended by counting (a sample spread over the inputs)")
    parser.add_argument("--exclude", nargs="+", type=existing_path, default=[],
                        help="pass over every game also found in these inputs (e.g. the sample games)")
    parser.add_argument("--playouts", type=positive_int, default=PLAYOUTS)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="of the playouts")
    parser.add_argument("--gnugo", default="/usr/games/gnugo --mode gtp --level 10 --chinese-rules")
    parser.add_argument("--cache", type=Path, help="JSON file of GNU Go's answers by game, read and extended")
    parser.add_argument("--show", type=non_negative_int, default=0,
                        help="print the first N games where our dead stones differ from GNU Go's")
    args = parser.parse_args()
    exclude = frozenset(digest(data) for _, data in iter_sgf(args.exclude))
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    gnugo = Gnugo(args.gnugo)
    games = same_set = stones = same_stones = our_winner = gnugo_winner = both_wrong = shown = 0
    our_dead_total = gnugo_dead_total = our_seki_total = gnugo_seki_total = same_seki = 0
    seconds: list[float] = []
    start = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "game.sgf"
        for source, data, game, winner in finished_games(args.inputs, args.games, args.skip, args.every, exclude):
            key = f"{digest(data)} {args.gnugo}"
            if key not in cache:
                path.write_bytes(data)
                cache[key] = gnugo.judge(path)
                if args.cache and len(cache) % 20 == 0:  # an interrupted run keeps most of its answers
                    args.cache.write_text(json.dumps(cache))
            answer = cache[key]
            theirs = {from_gtp(v, 19) for v in answer["dead"]}
            began = time.process_time()  # CPU time: steady on a busy machine
            verdict = judge(game, args.playouts, args.seed)
            score = verdict.score
            seconds.append(time.process_time() - began)
            ours = set(verdict.dead)
            on_board = int((game.stones().reshape(-1) != 0).sum())
            games += 1
            same_set += ours == theirs
            stones += on_board
            same_stones += on_board - len(ours ^ theirs)
            our_dead_total += len(ours)
            gnugo_dead_total += len(theirs)
            our_seki_total += len(verdict.seki)
            gnugo_seki = {from_gtp(v, 19) for v in answer["seki"]}
            gnugo_seki_total += len(gnugo_seki)
            same_seki += len(gnugo_seki & set(verdict.seki))
            ours_right = ("B" if score > 0 else "W") == winner
            gnugo_right = answer["score"][:1].upper() == winner
            our_winner += ours_right
            gnugo_winner += gnugo_right
            both_wrong += not ours_right and not gnugo_right and ours == theirs
            if ours != theirs and shown < args.show:
                shown += 1
                print(f"\n{source}: recorded {'B' if winner == 'B' else 'W'} wins; ours {score:+g} "
                      f"({'right' if ours_right else 'wrong'}), GNU Go {answer['score']}; dead only ours: "
                      f"{len(ours - theirs)}, only GNU Go's: {len(theirs - ours)}; {game.to_move == BLACK and 'B' or 'W'}"
                      f" to move, komi {game.komi:g}")
                print(diagram(game, ours, theirs, verdict.owner, set(verdict.seki)))
    gnugo.close()
    if args.cache:
        args.cache.write_text(json.dumps(cache))
    if not games:
        sys.exit("no game that ended by counting")
    print(f"{games} games that ended by counting, {args.playouts} playouts each, {time.time() - start:.0f} s")
    print(f"dead stones: the same set as GNU Go's in {same_set / games:.1%} of games; "
          f"{same_stones / stones:.2%} of {stones:,} stones judged alike "
          f"(dead: ours {our_dead_total:,}, GNU Go's {gnugo_dead_total:,}; "
          f"seki: ours {our_seki_total:,}, GNU Go's {gnugo_seki_total:,}, both {same_seki:,})")
    print(f"winner by final_score: ours names the recorded winner in {our_winner / games:.1%}, "
          f"GNU Go's in {gnugo_winner / games:.1%}; of our {games - our_winner} misses, {both_wrong} with GNU Go's "
          f"dead stones and its count missing too (area counting against a record counted otherwise)")
    print(f"our judgement (dead stones, seki and the count): {np.mean(seconds) * 1000:.0f} ms of CPU a game on "
          f"average, {np.max(seconds) * 1000:.0f} ms at most")


if __name__ == "__main__":
    main()
