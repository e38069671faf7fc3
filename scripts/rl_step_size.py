"""How large a REINFORCE step a policy network survives: one gradient, several step sizes.

The learner (a copy of MODEL) plays --games games against MODEL; the REINFORCE gradient of
those games (gopolicy.rl.reinforce.reinforce_update, mean outcome as baseline) is taken once, and the
network is moved along it by steps of each given norm; each moved network then plays --duel
games against MODEL (gopolicy.rl.duel, fixed seed), and its wins are printed. The paper's
unclipped learning rate of 0.001 gives steps of norm 0.2-0.3 for the bundled model.

    python scripts/rl_step_size.py [--model data/models/default.pt] [--steps 0.3 0.1 0.03]
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from gopolicy.gtp.engine import DEFAULT_MODEL
from gopolicy.play.selfplay import BatchPlayer, alternating_seats, play_games
from gopolicy.rl.duel import duel, summarise
from gopolicy.rl.reinforce import reinforce_update
from gopolicy.util.args import non_negative_int, positive_float, positive_int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--games", type=positive_int, default=32, help="games behind the gradient")
    parser.add_argument("--duel", type=positive_int, default=32, help="games against MODEL after each step")
    parser.add_argument("--steps", type=positive_float, nargs="+", default=[0.3, 0.1, 0.03], help="step norms")
    parser.add_argument("--seed", type=non_negative_int, default=1)
    args = parser.parse_args()
    start = BatchPlayer.from_file(args.model, name="start")
    learner = BatchPlayer(copy.deepcopy(start.model), start.features.name, name="learner")
    games = play_games(alternating_seats(learner, start, args.games), start.model.board_size, 7.5, None,
                       np.random.default_rng(args.seed), record=[learner])
    reinforce_update(learner.model, torch.optim.SGD(learner.model.parameters(), lr=0.0), games, bf16=learner.bf16)
    gradient = [p.grad.clone() for p in learner.model.parameters()]
    norm = torch.sqrt(sum((g.float() ** 2).sum() for g in gradient)).item()
    print(f"gradient norm {norm:.1f} from {args.games} games ({sum(len(g.actions) for g in games)} decisions)")
    for step in args.steps:
        moved = copy.deepcopy(start.model)
        with torch.no_grad():
            for p, g in zip(moved.parameters(), gradient):
                p -= step / norm * g
        clock = time.perf_counter()
        result = summarise(duel(BatchPlayer(moved, start.features.name, name="moved"), start, args.duel,
                                start.model.board_size, seed=args.seed + 1))
        print(f"step of norm {step:g} (lr {step / norm:.2g}): wins {result['a_wins']} of {args.duel} against the "
              f"start ({time.perf_counter() - clock:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
