#!/usr/bin/env python3
"""Where an engine's games were lost: the largest swings of GNU Go's score estimate.

For every SGF of a match (``../shared/tools/match --out DIR``), replays the game into GNU Go
every ``--every`` moves (``loadsgf FILE N``) and reads ``estimate_score``; prints, for the
engine named ``--engine`` (its name in PB/PW), its best estimated lead, and the largest drop of
its estimated score within ``--window`` moves with the move numbers where it began and ended.
A drop of dozens of points within a few moves is a group lost in a fight (a tactical loss);
a steady slide is a game lost by the shape of its moves. GNU Go's estimate is rough early in a
game (it sees influence as territory), so only drops after ``--from-move`` count.

    python scripts/game_swings.py runs/vs_gnugo_L10 --engine gopolicy
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from sgfmill import sgf

GNUGO = "/usr/games/gnugo"


class GnuGo:
    """A GNU Go process over GTP (level 1: ``estimate_score`` does not depend on the level)."""

    def __init__(self, command: str = GNUGO):
        self.process = subprocess.Popen([command, "--mode", "gtp", "--level", "1"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        lines = []
        while (line := self.process.stdout.readline()) and (line.strip() or not lines):
            if line.strip():
                lines.append(line.strip())
        answer = " ".join(lines)
        if not answer.startswith("="):
            raise RuntimeError(f"GNU Go: {command}: {answer}")
        return answer[1:].strip()

    def black_lead(self, path: Path, moves: int) -> float:
        """GNU Go's estimate of Black's lead after ``moves`` moves of the game in ``path``."""
        self.ask(f"loadsgf {path} {moves + 1}")
        estimate = re.match(r"([BW])\+([\d.]+)", self.ask("estimate_score"))
        if not estimate:
            return 0.0
        return float(estimate.group(2)) * (1 if estimate.group(1) == "B" else -1)


def swings(path: Path, engine: str, gnugo: GnuGo, every: int, window: int, from_move: int) -> dict:
    game = sgf.Sgf_game.from_bytes(path.read_bytes())
    root = game.get_root()
    names = {c: root.get(p) if root.has_property(p) else "" for c, p in (("b", "PB"), ("w", "PW"))}
    colour = next((c for c, name in names.items() if engine in name), None)
    if colour is None:
        raise ValueError(f"{path}: no player named like {engine!r} ({names['b']!r} v {names['w']!r})")
    sign = 1 if colour == "b" else -1
    total = len(game.get_main_sequence()) - 1
    points = [(n, sign * gnugo.black_lead(path, n)) for n in range(from_move, total + 1, every)]
    drop, start, end = 0.0, None, None
    for i, (n, lead) in enumerate(points):
        for m, later in points[i + 1:]:
            if m - n > window:
                break
            if lead - later > drop:
                drop, start, end = lead - later, n, m
    result = root.get("RE") if root.has_property("RE") else "?"
    won = result.upper().startswith(colour.upper())
    return {"game": path.name, "colour": colour.upper(), "result": result, "won": won, "moves": total,
            "best_lead": max(lead for _, lead in points) if points else 0.0, "drop": drop, "from": start, "to": end}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a match's --out folder of SGF files")
    parser.add_argument("--engine", required=True, help="the engine's name as the SGFs' PB/PW hold it")
    parser.add_argument("--every", type=int, default=4, help="estimate every N moves (4)")
    parser.add_argument("--window", type=int, default=20, help="the largest drop within this many moves (20)")
    parser.add_argument("--from-move", type=int, default=60, help="ignore the opening's estimates (60)")
    args = parser.parse_args(argv)
    files = sorted(args.folder.glob("*.sgf"))
    if not files:
        sys.exit(f"game_swings: {args.folder}: no SGF files")
    gnugo = GnuGo()
    print("| game | engine | result | moves | best lead | largest drop | moves of the drop |\n|---|---|---|---:|---:|---:|---|")
    for path in files:
        try:
            row = swings(path, args.engine, gnugo, args.every, args.window, args.from_move)
        except (ValueError, RuntimeError) as e:
            print(f"game_swings: {e}", file=sys.stderr)
            continue
        print(f"| {row['game']} | {row['colour']} | {row['result']} | {row['moves']} | {row['best_lead']:+.1f} | "
              f"{row['drop']:.1f} | {row['from']}-{row['to']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
