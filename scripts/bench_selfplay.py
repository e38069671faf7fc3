"""Times batched self-play on this CPU: N games at once, one network forward per move for all of them.

A randomly initialised policy network (or a model file) plays itself, sampling over the
sensible moves at temperature 1. Reports games per hour (wall clock, and per hour of
this process's CPU time, which other work on a shared machine disturbs less), moves per
second and the share of the time spent in the network's forward pass. One thread by
default, so the figure is per core.

    python scripts/bench_selfplay.py [--games 16] [--filters 32] [--layers 6] [--size 19] [--model FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gopolicy.nn.policy import PolicyNetwork  # noqa: E402
from gopolicy.play.selfplay import BatchPlayer, play_games  # noqa: E402


class TimedNetwork(torch.nn.Module):
    """Wraps a network and adds up the seconds spent in its forward pass."""

    def __init__(self, net: PolicyNetwork):
        super().__init__()
        self.net, self.seconds, self.planes = net, 0.0, net.planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        out = self.net(x)
        self.seconds += time.perf_counter() - start
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=16, help="games played at once (default 16)")
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--size", type=int, default=19)
    parser.add_argument("--model", help="a model file instead of a random network (its size must match --size)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.model:
        player = BatchPlayer.from_file(args.model)
        described = args.model
    else:
        net = PolicyNetwork(planes=48, filters=args.filters, layers=args.layers, board_size=args.size)
        player = BatchPlayer(net, "alphago48")
        described = f"random k={args.filters} x {args.layers} layers"
    timed = TimedNetwork(player.model)
    player.model = timed
    start, cpu_start = time.perf_counter(), time.process_time()
    games = play_games([(player, player)] * args.games, size=args.size, rng=np.random.default_rng(args.seed))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    moves = sum(len(g.moves) for g in games)
    result = {"network": described, "size": args.size, "games": args.games, "threads": args.threads,
              "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
              "games_per_hour": round(args.games / seconds * 3600),
              "games_per_cpu_hour": round(args.games / cpu_seconds * 3600),
              "moves_per_second": round(moves / seconds, 1), "mean_moves_per_game": round(moves / args.games, 1),
              "forward_share": round(timed.seconds / seconds, 3),
              "stopped_at_move_cap": sum(g.stopped for g in games)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
