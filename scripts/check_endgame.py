#!/usr/bin/env python3
"""End-of-game judgement against GNU Go and the records: dead stones and the winner.

For every game that ended by counting (a result such as ``B+3.5``, not a resignation or a
loss on time), replays the record to its end and compares

* the dead stones of :func:`gopolicy.go.ownership.dead_stones` with GNU Go's
  ``final_status_list dead`` (the same set, and stone by stone), and
* the winner by :func:`gopolicy.go.ownership.final_score` with the recorded winner (and GNU
  Go's ``final_score`` with it, for scale).

    python scripts/check_endgame.py data/sample/kgs-sample.tar.gz --games 100
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from gopolicy.errors import RecordError  # noqa: E402
from gopolicy.go.coords import from_gtp  # noqa: E402
from gopolicy.go.ownership import PLAYOUTS, dead_stones, final_score, ownership  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import read_game, replay  # noqa: E402
from gopolicy.util.args import existing_path, positive_int  # noqa: E402

COUNTED = re.compile(r"^([BW])\+(\d+(\.\d+)?)$")


class Gnugo:
    """GNU Go over GTP, for its judgement of finished games."""

    def __init__(self, command: str):
        self.process = subprocess.Popen(command.split(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        lines = []
        while (line := self.process.stdout.readline()) not in ("\n", ""):
            lines.append(line.rstrip("\n"))
        answer = "\n".join(lines)
        if not answer.startswith("="):
            raise RuntimeError(f"gnugo: {command}: {answer}")
        return answer[1:].strip()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def finished_games(inputs, limit: int):
    for source, data in iter_sgf(inputs):
        try:
            record = read_game(data, source, size=19)
        except RecordError:
            continue
        winner = COUNTED.match(record.result.strip())
        if not winner:
            continue
        steps = replay(record)
        try:
            game = next(steps)[0]
            for _ in steps:  # the live game plays each move as the next one is asked for
                pass
        except (RecordError, StopIteration):
            continue
        yield source, data, record, game, winner.group(1)
        limit -= 1
        if limit == 0:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=existing_path, help="SGF files, folders or archives")
    parser.add_argument("--games", type=positive_int, default=100, help="games that ended by counting to check")
    parser.add_argument("--playouts", type=positive_int, default=PLAYOUTS)
    parser.add_argument("--gnugo", default="/usr/games/gnugo --mode gtp --level 10 --chinese-rules")
    args = parser.parse_args()
    gnugo = Gnugo(args.gnugo)
    games = same_set = stones = same_stones = our_winner = gnugo_winner = 0
    our_dead_total = gnugo_dead_total = 0
    start = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "game.sgf"
        for _source, data, _record, game, winner in finished_games(args.inputs, args.games):
            path.write_bytes(data)
            gnugo.ask(f"loadsgf {path}")
            answer = gnugo.ask("final_status_list dead")
            theirs = {from_gtp(v, 19) for v in answer.split()}
            gnugo_score = gnugo.ask("final_score")
            owner = ownership(game, args.playouts)
            ours = set(dead_stones(game, owner=owner))
            on_board = (game.stones().reshape(-1) != 0).sum()
            games += 1
            same_set += ours == theirs
            stones += int(on_board)
            same_stones += int(on_board) - len(ours ^ theirs)
            our_dead_total += len(ours)
            gnugo_dead_total += len(theirs)
            our_winner += ("B" if final_score(game, dead=sorted(ours)) > 0 else "W") == winner
            gnugo_winner += gnugo_score[:1].upper() == winner
    gnugo.close()
    print(f"{games} games that ended by counting, {args.playouts} playouts each, {time.time() - start:.0f} s")
    print(f"dead stones: the same set as GNU Go's in {same_set / games:.1%} of games; "
          f"{same_stones / stones:.2%} of {stones:,} stones judged alike "
          f"(dead: ours {our_dead_total:,}, GNU Go's {gnugo_dead_total:,})")
    print(f"winner by final_score: ours names the recorded winner in {our_winner / games:.1%}, "
          f"GNU Go's in {gnugo_winner / games:.1%}")


if __name__ == "__main__":
    main()
