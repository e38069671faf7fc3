"""Loader throughput and memory: random minibatches from a prepared dataset, unpacked and augmented.

    python scripts/bench_loader.py DATASET [DATASET ...] [--batch-size 256] [--batches 200]

For each dataset: positions/s of BatchLoader.batch() on one thread, and the process's
anonymous (heap) memory before and after, which stays flat however large the dataset:
the planes are read through memory maps (their pages are the OS's file cache, shown
separately as RssFile).
"""
from __future__ import annotations

import argparse
import time

import torch

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.loader import BatchLoader


def memory_kib() -> dict:
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--dtype", choices=("bfloat16", "float32", "uint8"), default="bfloat16")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for path in args.datasets:
        before = memory_kib()
        dataset = Dataset(path)
        loader = BatchLoader(dataset, "train", args.batch_size, dtype=getattr(torch, args.dtype))
        loader.batch(0)
        start = time.perf_counter()
        for step in range(1, args.batches + 1):
            loader.batch(step)
        seconds = time.perf_counter() - start
        after = memory_kib()
        print(f"{path}: {dataset.rows('train'):,} train positions; {args.batches * args.batch_size / seconds:,.0f} positions/s "
              f"(batch {args.batch_size}, {args.dtype}); heap (RssAnon) {before['RssAnon'] / 1024:.0f} -> "
              f"{after['RssAnon'] / 1024:.0f} MiB, file cache mapped (RssFile) {after['RssFile'] / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
