#!/usr/bin/env python3
"""Search speed: playouts per second against the bare cost of the network passes they need.

For each batch size, runs the PUCT search from a few opening positions for ``--playouts``
playouts and measures the CPU time of the whole search and of its bare network passes (one
policy and one value pass per batch of leaves). The difference is the search's own cost:
descending the tree, playing the moves, encoding planes, the candidate rule, backing up.
CPU time of this one-thread process, so other jobs on the machine do not blur the figures.

    python scripts/bench_search.py                              # random k=64 networks, bf16 where native
    python scripts/bench_search.py --policy data/models/default.pt --value VALUE.pt   # the engine's settings

The engine's settings: batch 8 (``gopolicy gtp --batch-size``), ``--precision auto``, one thread.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402

from gopolicy.go.coords import BLACK, WHITE, from_gtp  # noqa: E402
from gopolicy.go.rules import Game  # noqa: E402
from gopolicy.nn.hardware import use_bf16  # noqa: E402
from gopolicy.nn.policy import PolicyNetwork  # noqa: E402
from gopolicy.nn.value import ValueNetwork  # noqa: E402
from gopolicy.play.evaluator import NetworkEvaluator  # noqa: E402
from gopolicy.play.search import Search  # noqa: E402
from gopolicy.util.args import PRECISIONS, positive_int  # noqa: E402

OPENING = ["Q16", "D4", "Q3", "D16", "C14", "R5", "F17", "O4"]


def networks(args) -> tuple[PolicyNetwork, str, ValueNetwork, str]:
    if args.policy:
        from gopolicy.nn.modelfile import load_model

        policy, info = load_model(args.policy)
        policy_features = info.feature_set
    else:
        torch.manual_seed(0)
        policy, policy_features = PolicyNetwork(48, args.filters, 13, 19).eval(), "alphago48"
    if args.value:
        from gopolicy.nn.modelfile import load_model

        value, info = load_model(args.value, kind="value")
        value_features = info.feature_set
    else:
        value, value_features = ValueNetwork(49, args.filters, 13, 19).eval(), "alphago49"
    return policy, policy_features, value, value_features


def positions(count: int) -> list[Game]:
    games = []
    for n in range(count):
        game = Game(19, 7.5)
        for i, vertex in enumerate(OPENING[: 2 + n % (len(OPENING) - 1)]):
            game.play(BLACK if i % 2 == 0 else WHITE, from_gtp(vertex, 19))
        games.append(game)
    return games


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", help="a policy model file (default: a random k=--filters network)")
    parser.add_argument("--value", help="a value model file (default: a random k=--filters network)")
    parser.add_argument("--filters", type=positive_int, default=64)
    parser.add_argument("--playouts", type=positive_int, default=256)
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--positions", type=positive_int, default=3)
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--rounds", type=positive_int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    policy, policy_features, value, value_features = networks(args)
    bf16 = use_bf16(args.precision, "cpu")
    evaluator = TimedEvaluator(policy, policy_features, value, value_features, bf16=bf16)
    games = positions(args.positions)
    print(f"policy k={policy.filters}, value k={value.filters}, {'bf16' if bf16 else 'fp32'}, "
          f"{args.threads} thread(s), {args.playouts} playouts from each of {len(games)} positions")
    print(f"{'batch':>5}  {'playouts/s':>10}  {'search s':>9}  {'in nets s':>9}  {'overhead':>8}   "
          f"(CPU seconds of this process, medians of {args.rounds} rounds)")
    evaluator.evaluate(games[:1])  # warm-up
    for batch in args.batch_sizes:
        searched, in_networks = [], []
        for _ in range(args.rounds):
            evaluator.network_seconds = 0.0
            start = time.process_time()
            for game in games:
                Search(evaluator, batch_size=batch).run(game, playouts=args.playouts)
            searched.append(time.process_time() - start)
            in_networks.append(evaluator.network_seconds)
        s, n = statistics.median(searched), statistics.median(in_networks)
        total = args.playouts * len(games)
        print(f"{batch:>5}  {total / s:>10.1f}  {s:>9.2f}  {n:>9.2f}  {s / n - 1:>8.1%}")


class TimedEvaluator(NetworkEvaluator):
    """The evaluator, adding up the CPU time spent in its bare network passes."""

    network_seconds = 0.0

    def run_networks(self, *args):
        start = time.process_time()
        try:
            return super().run_networks(*args)
        finally:
            self.network_seconds += time.process_time() - start


if __name__ == "__main__":
    main()
