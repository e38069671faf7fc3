#!/usr/bin/env python3
"""One command for a borrowed GPU machine: prepare, train for the minutes left, evaluate, report.

    python scripts/gpu_run.py --minutes 9 [--archive ../shared/data/kgs6d-human-train.tar.gz]
                              [--work runs/gpu] [--arch residual --filters 192 --batch-size 512]

Within one wall-clock budget (``--minutes``, counted from the start):
 1. ``gopolicy prepare ARCHIVE`` on every core, into WORK/kgs (kept: a second run reuses it);
 2. the loader alone for ``--probe-steps`` batches on the device (can it feed the GPU?), then
    a short training probe of the network, for its positions per second;
 3. ``gopolicy train`` in bf16 (where the device has it), its cosine schedule fitted to the time
    left (steps = probed speed x seconds left), stopped by SIGTERM at the deadline whatever
    happens (which checkpoints and writes final.pt, so nothing is lost);
 4. ``gopolicy eval`` of final.pt on the first ``--eval-positions`` of the test split;
 5. WORK/report.json (and a summary on stdout): positions per second of the loader and of
    training, the model FLOPs utilisation (training FLOPs per position x positions per second
    over the device's bf16 peak, ``--peak-tflops`` or known for common GPUs), and top-1.

It runs on a CPU too (``--device cpu``, small settings): that is how its test checks it.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.loader import BatchLoader
from gopolicy.nn.modelfile import load_model
from gopolicy.util import args as arg_types
from gopolicy.util.files import read_jsonl, write_json_atomic
from gopolicy.util.metrics import steady_speed

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = ROOT.parent / "shared" / "data" / "kgs6d-human-train.tar.gz"
# dense bf16 tensor-core peaks (TFLOP/s), from the vendors' data sheets (SXM parts)
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}
STOP_GRACE_S = 90  # how long train may take to checkpoint and export after SIGTERM


def gopolicy(*arguments: str, timeout: float | None = None) -> None:
    """Runs a gopolicy command; at ``timeout`` seconds it is asked to stop (SIGTERM), as Ctrl-C would."""
    command = [sys.executable, "-m", "gopolicy.cli", *arguments]
    print("$ gopolicy " + " ".join(arguments), flush=True)
    with subprocess.Popen(command, cwd=ROOT) as process:
        try:
            process.wait(timeout=None if timeout is None else max(1.0, timeout))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                sys.exit(f"gpu_run: 'gopolicy {arguments[0]}' did not stop within {STOP_GRACE_S} s of SIGTERM")
    if process.returncode not in (0, -signal.SIGTERM):
        sys.exit(f"gpu_run: 'gopolicy {arguments[0]}' failed (exit {process.returncode})")


def loader_rate(data: Path, batch_size: int, steps: int, device: torch.device) -> float:
    """Positions per second of the training loader alone, delivered on ``device``."""
    loader = BatchLoader(Dataset(data), "train", batch_size, device=device,
                         dtype=torch.bfloat16 if device.type == "cuda" else torch.float32)
    next(iter(loader.iterate(0, 1)))  # warm-up: open the shards
    start = time.perf_counter()
    for _ in loader.iterate(1, 1 + steps):
        pass
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def training_rate(run_dir: Path) -> float:
    """Positions per second of a run (see ``steady_speed``); stops the script if it logged none."""
    rate = steady_speed(run_dir)
    if rate is None:
        sys.exit(f"gpu_run: {run_dir} logged no training steps: the budget (--minutes) is too small")
    return rate


def training_flops_per_position(model: torch.nn.Module, size: int = 19) -> float:
    """Forward + backward FLOPs of one position: 3x the forward's multiply-adds x 2."""
    forward = 0
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            forward += 2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups * size * size
        elif isinstance(m, torch.nn.Linear):
            forward += 2 * m.in_features * m.out_features
    return 3.0 * forward


def bf16_peak(device: torch.device, given: float | None) -> float | None:
    """The device's bf16 peak in FLOP/s: ``--peak-tflops``, else known for the GPU's name."""
    if given:
        return given * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops * 1e12 for key, tflops in BF16_PEAK_TFLOPS.items() if key in name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=arg_types.positive_float, default=9.0, help="the whole budget (default 9)")
    parser.add_argument("--archive", type=arg_types.existing_path, default=DEFAULT_ARCHIVE, help="SGF archive")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "gpu", help="dataset, run and report (runs/gpu)")
    parser.add_argument("--arch", default="residual", help="network variant (default residual)")
    parser.add_argument("--filters", type=arg_types.positive_int, default=192)
    parser.add_argument("--layers", type=arg_types.positive_int, default=13)
    parser.add_argument("--batch-size", type=arg_types.positive_int, default=512)
    parser.add_argument("--lr", type=arg_types.positive_float, help="peak learning rate (default: the preset's)")
    parser.add_argument("--probe-steps", type=arg_types.positive_int, default=40)
    parser.add_argument("--test", type=arg_types.fraction, default=0.02, help="games held out for the test (0.02)")
    parser.add_argument("--eval-positions", type=arg_types.positive_int, default=50_000)
    parser.add_argument("--peak-tflops", type=arg_types.positive_float, help="the device's dense bf16 peak")
    arg_types.add_device(parser)
    args = parser.parse_args()
    if not args.archive.exists():
        parser.error(f"{args.archive}: no such archive (give --archive)")
    deadline = time.monotonic() + 60 * args.minutes
    device = arg_types.resolve_device(args.device)
    work, data = args.work.resolve(), args.work.resolve() / "kgs"
    work.mkdir(parents=True, exist_ok=True)
    quiet = ["--no-progress"] if not sys.stderr.isatty() else []

    # 1. the data, on every core
    started = time.monotonic()
    if not (data / "manifest.json").exists():
        gopolicy("prepare", str(args.archive), "--out", str(data), "--jobs", str(os.cpu_count() or 1),
                 "--test", str(args.test), *quiet)
    prepare_s = time.monotonic() - started

    # 2. the loader alone, then a training probe
    feed = loader_rate(data, args.batch_size, args.probe_steps, device)
    network = ["--arch", args.arch, "--filters", str(args.filters), "--layers", str(args.layers),
               "--batch-size", str(args.batch_size), "--device", str(device), *(["--lr", str(args.lr)] if args.lr else [])]
    probe = work / "probe"
    gopolicy("train", str(data), "--out", str(probe), *network, "--steps", str(args.probe_steps), "--warmup-steps", "0",
             "--log-every", str(max(1, args.probe_steps // 4)), "--val-every", str(10**9), "--ckpt-every", str(10**9),
             *quiet)
    probe_rate = training_rate(probe)

    # 3. training for the time left, less the evaluation's share (inference: about 3x training's speed)
    eval_s = 20 + args.eval_positions / (3 * probe_rate)
    train_s = deadline - time.monotonic() - eval_s
    steps = max(1, int(0.9 * train_s * probe_rate / args.batch_size))
    run_dir = work / "train"
    gopolicy("train", str(data), "--out", str(run_dir), *network, "--steps", str(steps),
             "--warmup-steps", str(min(200, steps // 10)), "--ema", "0.999", "--val-every", str(steps),
             "--ckpt-every", str(max(1, steps // 4)), *quiet, timeout=train_s)
    train_rate = training_rate(run_dir)
    done = max((r["step"] for r in read_jsonl(run_dir / "metrics.jsonl") if "loss" in r), default=0)

    # 4. evaluation
    result = work / "eval.json"
    gopolicy("eval", str(run_dir / "final.pt"), str(data), "--max-positions", str(args.eval_positions),
             "--device", str(device), "--json", str(result), *quiet)
    top1 = json.loads(result.read_text())["top1"]

    # 5. the report
    model, _ = load_model(run_dir / "final.pt")
    flops = training_flops_per_position(model)
    peak = bf16_peak(device, args.peak_tflops)
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "network": {"arch": args.arch, "filters": args.filters, "layers": args.layers,
                          "batch_size": args.batch_size},
              "prepare_s": round(prepare_s, 1), "positions": Dataset(data).manifest["counts"]["positions"],
              "loader_positions_per_s": round(feed), "probe_positions_per_s": round(probe_rate),
              "train_positions_per_s": round(train_rate), "steps_planned": steps, "steps_done": done,
              "positions_seen": done * args.batch_size, "training_gflops_per_position": round(flops / 1e9, 3),
              "bf16_peak_fraction": round(train_rate * flops / peak, 4) if peak else None,
              "test_top1": top1, "test_positions": args.eval_positions, "minutes": args.minutes,
              "elapsed_s": round(time.monotonic() - deadline + 60 * args.minutes, 1)}
    write_json_atomic(work / "report.json", report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
