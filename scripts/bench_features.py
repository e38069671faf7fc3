"""Feature-plane throughput while replaying real games, on one core (one thread, one process).

    python scripts/bench_features.py [ARCHIVE] [--games N] [--features alphago48]

Default ARCHIVE: the bundled sample, data/sample/kgs-sample.tar.gz; the README's figures
come from ../shared/data/kgs6d-human-train.tar.gz.

Reads N games into memory first (archive decompression is not timed), then times:
  * game_planes(sgf bytes): SGF parsing + replay + planes + a copy per position;
  * replay + planes into one buffer, records parsed beforehand;
  * replay alone, to show what the planes themselves cost.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gopolicy.features import encode, game_planes, get_feature_set  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import read_game, replay  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = str(REPO / "data" / "sample" / "kgs-sample.tar.gz")  # in the checkout; the README passes the KGS set


def timed(label: str, positions: int, run) -> None:
    start = time.perf_counter()
    counted = run()
    seconds = time.perf_counter() - start
    assert counted == positions, (label, counted, positions)
    print(f"{label:<40} {positions / seconds:>9,.0f} positions/s  ({seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", nargs="?", default=DEFAULT_ARCHIVE)
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--features", default="alphago48")
    args = parser.parse_args()

    games = [data for _, data in itertools.islice(iter_sgf([args.archive]), args.games)]
    records = [read_game(data) for data in games]
    positions = sum(len(record.moves) for record in records)
    features = get_feature_set(args.features)
    planes = features.planes
    print(f"{len(games)} games, {positions} positions, {args.features} ({planes} planes), {args.archive}")

    def with_parsing() -> int:
        return sum(1 for data in games for _ in game_planes(data, args.features))

    def planes_only() -> int:
        count = 0
        for record in records:
            buffer = np.empty((planes, record.size, record.size), np.uint8)
            for game, colour, _ in replay(record):
                encode(game, colour, features, out=buffer)
                count += 1
        return count

    def replay_only() -> int:
        return sum(1 for record in records for _ in replay(record))

    timed("SGF parsing + replay + planes", positions, with_parsing)
    timed("replay + planes (records parsed)", positions, planes_only)
    timed("replay alone (no planes)", positions, replay_only)


if __name__ == "__main__":
    main()
