"""Training-loop throughput against the bare model's forward+backward, on this machine.

    python scripts/bench_train.py DATASET [--filters 64 128 192] [--batch-size 256] [--steps 40]

For each width k (13 layers): positions/s of (a) the bare step, forward + backward + SGD update
on one batch already in memory, and (b) `gopolicy train`'s real loop (loader, augmentation,
metrics) on DATASET, same batch size and precision. The loop should reach >= 90% of (a).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gopolicy.dataset.format import Dataset
from gopolicy.nn.hardware import cpu_has_bf16
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.training.train import Config, RunOptions, build_optimizer, train
from gopolicy.util.metrics import steady_speed


def bare_step_rate(planes: int, filters: int, batch: int, steps: int, bf16: bool) -> float:
    model = PolicyNetwork(planes, filters, 13).to(memory_format=torch.channels_last)
    optimizer = build_optimizer(Config(), model)  # the loop's optimizer (Nesterov SGD)
    x = torch.randint(0, 2, (batch, planes, 19, 19)).to(torch.bfloat16 if bf16 else torch.float32)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 361, (batch,))

    def step() -> None:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def loop_rate(data: str, filters: int, batch: int, steps: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        config = Config(filters=filters, batch_size=batch, steps=steps + 5, warmup_steps=0)
        options = RunOptions(threads=threads, val_every=10**9, ckpt_every=10**9, log_every=5, progress=False)
        train(data, run_dir, config, options)
        return steady_speed(Path(run_dir))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--filters", type=int, nargs="+", default=[64, 128, 192])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bf16, planes = cpu_has_bf16(), Dataset(args.data).planes
    print(f"batch {args.batch_size}, {'bf16 autocast' if bf16 else 'fp32'}, channels-last, {args.threads} threads, 13 layers")
    print(f"{'k':>4} {'bare fwd+bwd pos/s':>19} {'train loop pos/s':>17} {'loop/bare':>10}")
    for k in args.filters:
        bare = bare_step_rate(planes, k, args.batch_size, args.steps, bf16)
        loop = loop_rate(args.data, k, args.batch_size, args.steps, args.threads)
        print(f"{k:>4} {bare:>19,.0f} {loop:>17,.0f} {loop / bare:>10.1%}")


if __name__ == "__main__":
    main()
