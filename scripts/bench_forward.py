"""Times the bare policy network on this CPU: batch-1 forward (play) and a batch forward +
backward (training), for several widths, fp32 vs bf16 and NCHW vs channels-last.

bf16 inference converts the model to bf16; bf16 training keeps fp32 weights under
``torch.autocast``, as a training loop would. One thread by default, so the numbers are
per core. The default clock is this process's CPU time, which other work on a shared
machine disturbs far less than wall time (with one thread they agree on a quiet machine).

    python scripts/bench_forward.py [--filters 64 128 192] [--batch 256] [--threads 1] [--clock cpu]
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

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def median_seconds(step: Callable[[], None], clock: Callable[[], float], warmup: int, min_reps: int,
                   min_seconds: float) -> float:
    """Median time of ``step`` over at least ``min_reps`` runs and ``min_seconds``, after ``warmup`` runs."""
    for _ in range(warmup):
        step()
    times: list[float] = []
    while len(times) < min_reps or sum(times) < min_seconds:
        start = clock()
        step()
        times.append(clock() - start)
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
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="process CPU time or wall time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.threads} thread(s), {args.layers} layers, {args.planes} planes, 19x19, {args.clock} time")
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
                architecture = (args.planes, filters, args.layers)
                play_net, play_input = PolicyNetwork(*architecture).eval(), one
                if bf16:
                    play_net, play_input = play_net.to(torch.bfloat16), play_input.to(torch.bfloat16)
                play_step = inference_step(play_net.to(memory_format=layout), play_input.to(memory_format=layout))
                train_net = PolicyNetwork(*architecture).to(memory_format=layout)
                train_step = training_step(train_net, batch.to(memory_format=layout), targets, bf16)
                clock = CLOCKS[args.clock]
                play = median_seconds(play_step, clock, warmup=3, min_reps=10, min_seconds=1.0)
                train = median_seconds(train_step, clock, warmup=1, min_reps=args.train_reps, min_seconds=0.0)
                dtype, layout_name = ("bf16" if bf16 else "fp32"), ("channels_last" if channels_last else "NCHW")
                print(f"{filters:>4} {dtype:>5} {layout_name:>13} | {play * 1e3:>8.2f} ms {1 / play:>7.0f} | "
                      f"{train * 1e3:>14.0f} ms {args.batch / train:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
