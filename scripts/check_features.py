"""Compares the compiled feature planes with the slow Python reference on every position of real games.

    python scripts/check_features.py [INPUT ...] [--games N] [--features alphago49]

INPUTs are SGF files, directories or archives (default: the archives in data/sample/).
Prints the positions compared and every disagreement (plane, point); exits 1 if any.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from a checkout; the reference lives with the tests
from reference_features import reference_planes  # noqa: E402

from gopolicy.errors import RecordError  # noqa: E402
from gopolicy.features import PLANE_NAMES, encode, get_feature_set  # noqa: E402
from gopolicy.go.coords import to_gtp  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import read_game, replay  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", default=sorted(map(str, (ROOT / "data" / "sample").glob("*.tar.*"))))
    parser.add_argument("--games", type=int, default=None, help="stop after this many games (default: all)")
    parser.add_argument("--features", default="alphago49", help="feature set to compare (default: alphago49)")
    args = parser.parse_args()
    planes = get_feature_set(args.features).planes

    games = positions = disagreeing = skipped = 0
    start = time.perf_counter()
    for source, data in itertools.islice(iter_sgf(args.inputs), args.games):
        try:
            for game, colour, _ in replay(read_game(data, source)):
                compiled = encode(game, colour, args.features)
                different = np.argwhere(compiled != reference_planes(game, colour)[:planes])
                positions += 1
                if len(different):
                    disagreeing += 1
                    where = ", ".join(f"{PLANE_NAMES[k]} at {to_gtp(int(r) * game.size + int(c), game.size)}"
                                      for k, r, c in different[:6])
                    print(f"{source} before move {game.move_number + 1}: {where}")
        except RecordError as error:
            skipped += 1
            print(f"skipped: {error}")
        games += 1
    seconds = time.perf_counter() - start
    print(f"{games} games ({skipped} skipped), {positions} positions, {disagreeing} with disagreements ({seconds:.0f} s)")
    return 1 if disagreeing or not positions else 0


if __name__ == "__main__":
    sys.exit(main())
