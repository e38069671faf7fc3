"""``gopolicy train``: supervised training of the policy network on a prepared dataset.

One loop for one CPU, one GPU or many (``torchrun --nproc_per_node N -m
gopolicy.cli train ...`` starts DistributedDataParallel; each rank draws from
its own part of the memory-mapped dataset). Mixed precision (bf16 autocast)
where the hardware has it, random symmetry augmentation in the loader,
validation every ``--val-every`` steps, metrics as JSON lines (and
TensorBoard when installed), atomic checkpoints every ``--ckpt-every`` steps
and on Ctrl-C / SIGTERM, and ``--resume`` that continues bit-for-bit: batches
are a pure function of (seed, rank, step), so a checkpoint needs only the
step, the weights and the optimizer.
"""
from __future__ import annotations

import json
import math
import os
import queue
import signal
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Iterator, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.loader import BatchLoader
from gopolicy.errors import GopolicyError
from gopolicy.training.evaluate import evaluate_split
from gopolicy.nn.hardware import PRECISIONS, use_bf16
from gopolicy.nn.modelfile import save_model
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.util.metrics import MetricsLog


@dataclass(frozen=True)
class Config:
    """Everything that decides a run's result (saved in checkpoints; --resume checks it)."""

    filters: int = 128
    layers: int = 13
    batch_size: int = 256
    steps: int = 10_000
    optimizer: str = "sgd"  # sgd (momentum 0 = the paper's plain SGD)
    lr: float = 0.02
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    warmup_steps: int = 500
    schedule: str = "cosine"  # cosine | step | constant
    step_every: int = 80_000_000  # 'step' schedule: halve every this many steps
    grad_clip: float = 1.0  # max gradient norm; 0 = no clipping
    seed: int = 0


PRESETS = {
    # Silver et al. 2016, Methods: plain SGD, step size 0.003 halved every 80M steps, minibatch 16.
    "paper": Config(batch_size=16, lr=0.003, momentum=0.0, nesterov=False, weight_decay=0.0, warmup_steps=0,
                    schedule="step", step_every=80_000_000, grad_clip=0.0, filters=192, steps=340_000_000),
    # Nesterov momentum, batch 256 with the learning rate scaled for it, warm-up, cosine decay, weight
    # decay, gradient clipping (this unnormalised stack diverges at lr 0.03 with momentum 0.9).
    "modern": Config(),
}


def learning_rate(config: Config, step: int) -> float:
    """The schedule: linear warm-up, then cosine to zero, halving steps, or constant."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "cosine":
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    if config.schedule == "step":
        return config.lr * 0.5 ** (step // config.step_every)
    return config.lr


class TrainingError(GopolicyError):
    """A training run that cannot start or continue (bad dataset, checkpoint, or arguments)."""


@dataclass
class Runtime:
    """How this process runs (not part of the result): device, precision, ranks."""

    device: torch.device
    bf16: bool
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_runtime(device: Optional[str], precision: str, threads: Optional[int]) -> Runtime:
    """Picks the device, starts the process group under torchrun, and sets thread counts so
    that several processes on one machine share its cores instead of thrashing."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    if device is None:
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // local_world))
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Runtime(dev, use_bf16(precision, dev), rank, world_size, local_rank)


def prefetch(batches: Iterator, depth: int = 2) -> Iterator:
    """Runs the loader one step ahead in a thread, so a GPU never waits for it."""
    q: "queue.Queue" = queue.Queue(depth)
    done = object()

    def fill() -> None:
        try:
            for item in batches:
                q.put(item)
        except BaseException as e:  # hand the loader's error to the training thread
            q.put(e)
        q.put(done)

    threading.Thread(target=fill, daemon=True).start()
    while (item := q.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


def validate(model: torch.nn.Module, dataset: Dataset, runtime: Runtime, positions: int) -> dict:
    """Loss and top-1 accuracy on the first ``positions`` positions of the validation split (unmasked)."""
    result = evaluate_split(model, dataset, "validation", max_positions=positions, device=runtime.device,
                            bf16=runtime.bf16, mask_legal=False)
    return {"val_loss": -result["mean_log_likelihood"], "val_accuracy": result["top1"], "val_positions": result["positions"]}


class Checkpointer:
    """Checkpoints in RUN_DIR: ``checkpoint.pt`` (atomic), ``best.pt`` (model file), ``final.pt``."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.path = run_dir / "checkpoint.pt"

    def save(self, model, optimizer, step: int, config: Config, best: float, feature_set: str) -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                 "config": asdict(config), "best_val_accuracy": best, "feature_set": feature_set,
                 "torch_rng": torch.get_rng_state()}
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def load(self) -> dict:
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise TrainingError(f"{self.path}: no checkpoint to resume from") from None
        except Exception as e:
            raise TrainingError(f"{self.path}: unreadable checkpoint: {e}") from None


def train(data: str, run_dir: str, config: Config, *, resume: bool = False, device: Optional[str] = None,
          precision: str = "auto", threads: Optional[int] = None, compile: bool = False, val_every: int = 1000,
          val_positions: int = 8192, ckpt_every: int = 1000, log_every: int = 50, stop_at: Optional[int] = None,
          progress: bool = True) -> dict:
    """Trains and returns the last metrics. ``stop_at``: checkpoint and stop after that step (to
    split a run into sessions; ``resume`` continues it). See the module docstring."""
    runtime = setup_runtime(device, precision, threads)
    out = Path(run_dir)
    dataset = Dataset(data)
    if runtime.main:
        out.mkdir(parents=True, exist_ok=True)
    checkpoints, log = Checkpointer(out), MetricsLog(out, runtime.main)

    torch.manual_seed(config.seed)
    model = PolicyNetwork(dataset.planes, config.filters, config.layers, dataset.board_size).to(runtime.device)
    channels_last = config.batch_size >= 64
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)
    start, best = 0, -1.0
    if resume:
        state = checkpoints.load()
        if state["config"] != asdict(config):
            raise TrainingError(f"{checkpoints.path}: the checkpoint was made with {state['config']}, not {asdict(config)}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        start, best = state["step"], state["best_val_accuracy"]
    net = model
    if runtime.world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[runtime.device] if runtime.device.type == "cuda" else None)
    if compile:
        net = torch.compile(net)

    loader = BatchLoader(dataset, "train", config.batch_size, device=runtime.device, seed=config.seed,
                         rank=runtime.rank, world_size=runtime.world_size,
                         dtype=torch.bfloat16 if runtime.bf16 else torch.float32)
    stop = {"signal": None}
    previous = {s: signal.signal(s, lambda signum, frame: stop.update(signal=signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    provenance = {"data": str(Path(data).resolve()), "dataset_counts": dataset.manifest["counts"], **asdict(config)}
    bar = tqdm(total=config.steps, initial=start, desc="train", unit="step", disable=not (progress and runtime.main))
    metrics: dict = {}
    window = {"loss": 0.0, "correct": 0, "n": 0, "t": time.time()}
    step = start
    try:
        batches = loader.iterate(start, config.steps)
        if runtime.device.type != "cpu":  # on a CPU a loader thread would steal cores from torch's threads
            batches = prefetch(batches)
        for step, (x, y) in enumerate(batches, start=start):
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            with torch.autocast(runtime.device.type, torch.bfloat16, enabled=runtime.bf16):
                logits = net(x)
            loss = F.cross_entropy(logits.float(), y)
            if not torch.isfinite(loss):
                raise TrainingError(f"the loss became {loss.item()} at step {step + 1}: training diverged; lower --lr "
                                    f"(the last good checkpoint, if any, is {checkpoints.path})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()

            window["loss"] += loss.item() * len(y)
            window["correct"] += (logits.argmax(1) == y).sum().item()
            window["n"] += len(y)
            done = step + 1
            if done % log_every == 0 or done == config.steps:
                elapsed = time.time() - window["t"]
                metrics = {"loss": window["loss"] / window["n"], "accuracy": window["correct"] / window["n"],
                           "lr": learning_rate(config, step),
                           "positions_per_s": window["n"] * runtime.world_size / max(elapsed, 1e-9),
                           "positions_seen": done * config.batch_size * runtime.world_size}
                window = {"loss": 0.0, "correct": 0, "n": 0, "t": time.time()}
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.3f}",
                                pos_s=f"{metrics['positions_per_s']:,.0f}", refresh=False)
                log.write(done, metrics)
            if runtime.main and (done % val_every == 0 or done == config.steps) and dataset.rows("validation"):
                val = validate(model, dataset, runtime, val_positions)
                metrics.update(val)
                log.write(done, val)
                if val and val["val_accuracy"] > best:
                    best = val["val_accuracy"]
                    save_model(out / "best.pt", model, dataset.feature_set, {**provenance, "step": done, **val})
            if runtime.main and (done % ckpt_every == 0 or done == config.steps):
                checkpoints.save(model, optimizer, done, config, best, dataset.feature_set)
            bar.update(1)
            if stop["signal"] is not None or done == stop_at:
                break
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        bar.close()
    done = step + 1 if config.steps > start else start
    if runtime.main:
        checkpoints.save(model, optimizer, done, config, best, dataset.feature_set)
        save_model(out / "final.pt", model, dataset.feature_set, {**provenance, "step": done})
    metrics["step"] = done
    metrics["interrupted"] = stop["signal"] is not None or done < config.steps
    if runtime.world_size > 1:
        metrics["ranks_in_sync"] = ranks_in_sync(model)
        log.write(done, {"ranks_in_sync": metrics["ranks_in_sync"]})
        dist.destroy_process_group()
    return metrics


def ranks_in_sync(model: torch.nn.Module) -> bool:
    """Whether every rank holds exactly the same weights (DDP's promise)."""
    flat = torch.cat([p.detach().float().flatten() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return all(torch.equal(g, gathered[0]) for g in gathered)


# -- command line --------------------------------------------------------------------


def add_arguments(parser) -> None:
    parser.add_argument("data", help="a dataset made by 'gopolicy prepare'")
    parser.add_argument("--out", required=True, help="run directory: checkpoint.pt, best.pt, final.pt, metrics.jsonl")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="modern",
                        help="'paper': Silver et al.'s plain SGD, batch 16, lr 0.003 halved every 80M steps; "
                             "'modern' (default): Nesterov momentum, batch 256, warm-up, cosine decay, weight decay")
    for f in fields(Config):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), metavar="BOOL", default=None)
        else:
            parser.add_argument(flag, type={"int": int, "float": float, "str": str}[str(f.type)], default=None,
                                help="(preset's value unless given)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present, else cpu)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto: bf16 autocast on GPUs and on CPUs with AVX512-BF16/AMX, else fp32")
    parser.add_argument("--threads", type=int, help="torch threads (default: cores / processes on this machine)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--val-every", type=int, default=1000)
    parser.add_argument("--val-positions", type=int, default=8192)
    parser.add_argument("--ckpt-every", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--stop-at", type=int, help="checkpoint and stop after this step (continue later with --resume)")


def config_from_args(args) -> Config:
    overrides = {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name) is not None}
    return replace(PRESETS[args.preset], **overrides)


def run(args) -> int:
    metrics = train(args.data, args.out, config_from_args(args), resume=args.resume, device=args.device,
                    precision=args.precision, threads=args.threads, compile=args.compile, val_every=args.val_every,
                    val_positions=args.val_positions, ckpt_every=args.ckpt_every, log_every=args.log_every,
                    stop_at=args.stop_at)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(metrics))
    return 0
