#!/usr/bin/env python3
"""How much the policy network leans on the move history (the "turns since" planes 4-11).

Top-1 accuracy on the first ``--positions`` of a prepared split, with the planes as recorded,
with every stone's age forgotten (planes 4-10 cleared, every stone in plane 11: "8 or more
turns ago", the convention for setup stones), and with only the last move kept (plane 4) and
every other stone in plane 11. A network that falls far without its history predicts by
answering the last move: a local reply to wherever the opponent played.

    python scripts/history_planes.py prepared/kgs --model data/models/default.pt --positions 5000
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.loader import BatchLoader, sequential_batches
from gopolicy.features import legal_points
from gopolicy.nn.hardware import use_bf16
from gopolicy.nn.modelfile import load_model

AGES = slice(4, 12)  # the turns-since planes: age 0 (the last move) .. 7 or more


def forget_history(x: torch.Tensor, keep_last: bool) -> torch.Tensor:
    """The planes with every stone's age set to "8 or more" (the last move's kept if ``keep_last``)."""
    x = x.clone()
    stones = x[:, AGES].amax(1)
    first = 5 if keep_last else 4
    x[:, first:11] = 0
    x[:, 11] = stones - (x[:, 4] if keep_last else 0)
    return x


VARIANTS = {"as recorded": None, "no history": False, "last move only": True}


@torch.no_grad()
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a dataset made by 'gopolicy prepare'")
    parser.add_argument("--model", type=Path, default=Path("data/models/default.pt"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.positions < 1 or args.threads < 1:
        parser.error("--positions and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.model)
    dataset = Dataset(args.data)
    loader = BatchLoader(dataset, args.split, 256, augment=False)
    bf16 = use_bf16("auto", "cpu")
    right = dict.fromkeys(VARIANTS, 0)
    seen = 0
    for packed, meta, _ in sequential_batches(dataset, args.split, 256):
        packed, meta = packed[: args.positions - seen], meta[: args.positions - seen]
        if not len(meta):
            break
        x, y = loader.to_device(packed, meta["move"].astype(np.int64), np.zeros(len(meta), np.int64))
        for name, keep_last in VARIANTS.items():
            planes = x if keep_last is None else forget_history(x, keep_last)
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                probs = model.probabilities(planes, legal_points(planes))
            right[name] += int((probs.argmax(1) == y).sum())
        seen += len(meta)
    print(f"{args.model}, {seen} {args.split} positions of {args.data}: top-1 "
          + ", ".join(f"{name} {count / seen:.2%}" for name, count in right.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
