"""Times the bare policy network on this CPU: batch-1 forward (play) and a batch forward +
backward (training), for several widths, fp32 vs bf16 and NCHW vs channels-last.

bf16 inference converts the model to bf16; bf16 training keeps fp32 weights under
``torch.autocast``, as a training loop would. One thread by default, so the numbers are
per core and other work on the machine disturbs them less.

    python scripts/bench_forward.py [--filters 64 128 192] [--batch 256] [--threads 1]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gopolicy.nn.policy import PolicyNetwork  # noqa: E402


def median_seconds(step: Callable[[], None], warmup: int, min_reps: int, min_seconds: float) -> float:
    """Median time of ``step`` over at least ``min_reps`` runs and ``min_seconds``, after ``warmup`` runs."""
    for _ in range(warmup):
        step()
    times: list[float] = []
    while len(times) < min_reps or sum(times) < min_seconds:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference_step(net: PolicyNetwork, planes: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.inference_mode():
            net(planes)
    return step


def training_step(net: PolicyNetwork, planes: torch.Tensor, targets: torch.Tensor, bf16: bool) -> Callable[[], None]:
    def step() -> None:
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with autocast:
            loss = torch.nn.functional.cross_entropy(net(planes), targets)
        loss.backward()
        net.zero_grad(set_to_none=True)
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filters", type=int, nargs="+", default=[64, 128, 192])
    parser.add_argument("--layers", type=int, default=13)
    parser.add_argument("--planes", type=int, default=48)
    parser.add_argument("--batch", type=int, default=256, help="training batch size")
    parser.add_argument("--train-reps", type=int, default=2, help="timed training steps per configuration")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.threads} thread(s), {args.layers} layers, {args.planes} planes, 19x19")
    header = f"{'k':>4} {'dtype':>5} {'layout':>13} | {'batch 1 fwd':>11} {'pos/s':>7} | " \
             f"{f'batch {args.batch} fwd+bwd':>17} {'pos/s':>7}"
    print(header)
    print("-" * len(header))
    one = (torch.rand(1, args.planes, 19, 19) < 0.3).float()
    batch = (torch.rand(args.batch, args.planes, 19, 19) < 0.3).float()
    targets = torch.randint(0, 361, (args.batch,))
    for filters in args.filters:
        for bf16 in (False, True):
            for channels_last in (False, True):
                layout = torch.channels_last if channels_last else torch.contiguous_format
                net = PolicyNetwork(args.planes, filters, args.layers).to(memory_format=layout)
                play_net = PolicyNetwork(args.planes, filters, args.layers).to(memory_format=layout).eval()
                play_input = one.to(memory_format=layout)
                if bf16:
                    play_net, play_input = play_net.to(torch.bfloat16), play_input.to(torch.bfloat16)
                play = median_seconds(inference_step(play_net, play_input), warmup=3, min_reps=10, min_seconds=1.0)
                train = median_seconds(training_step(net, batch.to(memory_format=layout), targets, bf16),
                                       warmup=1, min_reps=args.train_reps, min_seconds=0.0)
                print(f"{filters:>4} {'bf16' if bf16 else 'fp32':>5} {'channels_last' if channels_last else 'NCHW':>13} | "
                      f"{play * 1e3:>8.2f} ms {1 / play:>7.0f} | {train:>15.2f} s {args.batch / train:>7.0f}",
                      flush=True)


if __name__ == "__main__":
    main()
