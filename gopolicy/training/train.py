"""``gopolicy train``: supervised training of the policy network, or of the value network
(``--target value``), on a prepared dataset.

One loop for one CPU, one GPU or many (``torchrun --nproc_per_node N -m gopolicy.cli train
...`` starts DistributedDataParallel; each rank draws from its own part of the memory-mapped
dataset). Mixed precision (bf16 autocast) where the hardware has it, random symmetry
augmentation in the loader, SGD (plain, momentum or Nesterov) or AdamW, an optional EMA of
the weights, validation every ``--val-every`` steps, metrics through ``util.metrics``,
atomic checkpoints every ``--ckpt-every`` steps and on Ctrl-C / SIGTERM, and ``--resume``
that continues bit-for-bit: batches are a pure function of (seed, rank, step), so a
checkpoint needs only the step, the weights, the optimizer and the EMA.

A run directory holds ``checkpoint.pt`` (to resume), ``best.pt`` (the model with the best
validation accuracy so far; for a value network, the lowest validation MSE), ``final.pt``
(the last model) and ``metrics.jsonl``.

The value network (Silver et al. 2016) learns each game's outcome for the colour to move
(+1 a win, -1 a loss; tanh output, mean squared error) from ``--positions-per-game``
positions of each even game with a usual komi (:func:`gopolicy.dataset.loader.value_rows`),
reading the dataset's planes plus "player colour"; ``--init POLICY_MODEL`` starts its
convolutions from a policy network's of the same size. A policy run given ``--init`` starts
from that model's weights whole (more training of a shipped model, on a fresh schedule).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import queue
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Iterator, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.loader import VALUE_FEATURES, BatchLoader, ValueBatchLoader
from gopolicy.errors import GopolicyError
from gopolicy.nn import policy
from gopolicy.nn.hardware import use_bf16
from gopolicy.nn.modelfile import save_model
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.nn.value import VALUE_ARCHITECTURES, ValueNetwork
from gopolicy.training.evaluate import evaluate_split, evaluate_value
from gopolicy.util import args as arg_types
from gopolicy.util.files import write_atomic
from gopolicy.util.interrupt import StopRequest
from gopolicy.util.metrics import MetricsLog
from gopolicy.util.progress import progress

TARGETS = ("policy", "value")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
ADAMW_BETAS = (0.9, 0.95)  # nanoGPT's; momentum and nesterov are SGD's settings


@dataclass(frozen=True)
class Config:
    """Everything that decides a run's result (saved in checkpoints; --resume checks it)."""

    target: str = "policy"  # policy | value
    positions_per_game: int = 8  # value: distinct positions drawn from each game
    init: str = ""  # a policy model file whose weights start the network ('' = random)
    ownership_weight: float = 0.0  # value: weight of the ownership head's loss (0: no head; the data needs --ownership)
    arch: str = "plain"  # a name in gopolicy.nn.policy.ARCHITECTURES
    filters: int = 128
    layers: int = 13
    batch_size: int = 256
    steps: int = 10_000
    optimizer: str = "sgd"  # sgd (momentum 0 = the paper's plain SGD) | adamw
    lr: float = 0.02
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4  # sgd: L2 on every parameter; adamw: decoupled, weight matrices only
    warmup_steps: int = 500
    schedule: str = "cosine"  # cosine | step | constant
    step_every: int = 80_000_000  # 'step' schedule: halve every this many steps
    grad_clip: float = 1.0  # max gradient norm; 0 = no clipping
    ema: float = 0.0  # decay of the weights' moving average (0 = off); validation and export use it
    seed: int = 0

    @property
    def ownership(self) -> bool:
        """Whether the value network has an ownership head and learns the final owners too."""
        return self.ownership_weight > 0


PRESETS = {
    # Silver et al. 2016, Methods: plain SGD, step size 0.003 halved every 80M steps, minibatch 16.
    "paper": Config(batch_size=16, lr=0.003, momentum=0.0, nesterov=False, weight_decay=0.0, warmup_steps=0,
                    schedule="step", step_every=80_000_000, grad_clip=0.0, filters=192, steps=340_000_000),
    # Nesterov momentum, batch 256 with the learning rate scaled for it, warm-up, cosine decay, weight
    # decay, gradient clipping (this unnormalised stack diverges at lr 0.03 with momentum 0.9).
    "modern": Config(),
}


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out, not what it computes: where, and how often it reports and saves."""

    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # see gopolicy.nn.hardware.use_bf16
    threads: Optional[int] = None  # torch threads (default: cores / processes on this machine)
    compile: bool = False
    val_every: int = 1000
    val_positions: int = 8192
    ckpt_every: int = 1000
    log_every: int = 50
    stop_at: Optional[int] = None  # checkpoint and stop after this step (continue with resume)
    resume: bool = False
    progress: bool = True


class TrainingError(GopolicyError):
    """A training run that cannot start or continue (bad dataset, checkpoint, or arguments)."""


def learning_rate(config: Config, step: int) -> float:
    """The schedule: linear warm-up, then cosine to zero, halving steps, or constant."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "cosine":
        done = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
    if config.schedule == "step":
        return config.lr * 0.5 ** (step // config.step_every)
    return config.lr


# -- the pieces of a run ---------------------------------------------------------------


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


def setup_runtime(options: RunOptions) -> Runtime:
    """Picks the device, starts the process group under torchrun, and sets thread counts so
    that several processes on one machine share its cores instead of thrashing."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    device = arg_types.resolve_device(options.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)  # one GPU per local rank
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.set_num_threads(options.threads or max(1, (os.cpu_count() or 1) // local_world))
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Runtime(device, use_bf16(options.precision, device), rank, world_size, local_rank)


def input_features(config: Config, dataset: Dataset) -> str:
    """The feature set the network reads: the dataset's, or for a value network the dataset's
    planes plus "player colour"."""
    if config.target == "policy":
        return dataset.feature_set
    if dataset.feature_set not in VALUE_FEATURES:
        raise TrainingError(f"{dataset.path}: a value network learns from {', '.join(VALUE_FEATURES)} data "
                            f"(it adds the player-colour plane); this dataset is {dataset.feature_set}")
    return VALUE_FEATURES[dataset.feature_set]


def build_model(config: Config, dataset: Dataset, device: torch.device) -> PolicyNetwork | ValueNetwork:
    """The network, initialised from ``config.seed`` (a value network's convolutions from
    ``config.init`` if given); channels-last for big batches (faster convolutions)."""
    if config.target not in TARGETS:
        raise TrainingError(f"unknown target {config.target!r} (known: {', '.join(TARGETS)})")
    if config.target == "value":
        input_features(config, dataset)
        if config.arch not in VALUE_ARCHITECTURES:
            raise TrainingError(f"a value network's --arch is one of {', '.join(VALUE_ARCHITECTURES)} "
                                f"(the batch-norm variants are the policy's), not {config.arch}")
        if config.layers < 3:
            raise TrainingError("a value network needs --layers 3 or more")
        torch.manual_seed(config.seed)
        if config.ownership and not dataset.has_ownership:
            raise TrainingError(f"{dataset.path}: --ownership-weight needs a dataset prepared with --ownership")
        model = ValueNetwork(dataset.planes + 1, config.filters, config.layers, dataset.board_size,
                             ownership=config.ownership, arch=config.arch)
        if config.init:
            start_from_policy(model, config.init)
        model = model.to(device)
        return model.to(memory_format=torch.channels_last) if channels_last(config) else model
    if config.ownership:
        raise TrainingError("--ownership-weight trains a value network's ownership head: give --target value")
    if config.arch not in architectures():
        raise TrainingError(f"unknown architecture {config.arch!r} (known: {', '.join(architectures())})")
    variant = {} if config.arch == "plain" else {"arch": config.arch}  # "plain" also before variants existed
    torch.manual_seed(config.seed)
    model = PolicyNetwork(dataset.planes, config.filters, config.layers, dataset.board_size, **variant)
    if config.init:
        continue_from_policy(model, config.init)
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if channels_last(config) else model


def _load_policy(path: str):
    from gopolicy.nn.modelfile import ModelFileError, load_model

    try:
        return load_model(path)
    except ModelFileError as e:
        raise TrainingError(f"--init: {e}") from None


@torch.no_grad()
def continue_from_policy(model: PolicyNetwork, path: str) -> None:
    """Starts ``model`` from a policy network file of the same shape, every weight copied: a
    shipped model trained further (its exported weights: an EMA if it was trained with one).
    A batch-norm variant's file holds folded convolutions, so it cannot start one."""
    source, info = _load_policy(path)
    if (source.arch, source.filters, source.layers, source.board_size, source.planes) != (
            model.arch, model.filters, model.layers, model.board_size, model.planes):
        raise TrainingError(f"--init {path}: a {info.architecture} policy network does not fit this "
                            f"{model.arch} network of {model.filters} filters, {model.layers} layers on "
                            f"{model.planes} planes (it must have the same --arch, filters, layers and board size)")
    weights = source.state_dict()
    if set(weights) != set(model.state_dict()):
        raise TrainingError(f"--init {path}: its weights are not this network's (a batch-norm variant's file holds "
                            "folded convolutions; start such a run from random weights)")
    model.load_state_dict({name: w.float() for name, w in weights.items()})


@torch.no_grad()
def start_from_policy(value: ValueNetwork, path: str) -> None:
    """Copies a policy network's trunk (every layer but its 1x1 output and point biases) into
    the same layers of ``value``, the player-colour plane's input weights zero: the value
    network starts from features that already read the board."""
    policy_net, info = _load_policy(path)
    if (policy_net.arch, policy_net.filters, policy_net.layers, policy_net.board_size, policy_net.planes + 1) != (
            value.arch, value.filters, value.layers, value.board_size, value.planes):
        raise TrainingError(f"--init {path}: a {info.architecture} policy network does not fit a {value.arch} value "
                            f"network of {value.filters} filters, {value.layers} layers on {value.planes} planes (it "
                            "must have the same --arch, filters, layers and board size)")
    targets = value.state_dict()
    output = (f"conv{policy_net.layers}.", "point_bias.")
    for name, source in policy_net.state_dict().items():
        if name.startswith(output):
            continue
        target = targets[name]
        target.zero_()
        target[tuple(slice(0, n) for n in source.shape)].copy_(source)  # conv1: the colour plane's weights stay 0


def channels_last(config: Config) -> bool:
    """Whether the network and its batches are channels-last: faster convolutions for big batches."""
    return config.batch_size >= 64


def architectures() -> tuple:
    """The network variants PolicyNetwork builds (read when called: the list may grow)."""
    return tuple(getattr(policy, "ARCHITECTURES", ("plain",)))


def build_optimizer(config: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD with weight decay on every parameter (the bundled model's recipe), or AdamW with
    decoupled weight decay on the weight matrices only, not on biases or batch norms (nanoGPT's
    ``configure_optimizers``)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        named = list(model.named_parameters())
        decayed = [p for name, p in named if name.endswith("weight") and p.dim() >= 2]
        others = [p for name, p in named if not (name.endswith("weight") and p.dim() >= 2)]
        groups = [{"params": decayed, "weight_decay": config.weight_decay}, {"params": others, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=config.lr, betas=ADAMW_BETAS)
    raise TrainingError(f"unknown optimizer {config.optimizer!r} (known: {', '.join(OPTIMIZERS)})")


class EMA:
    """An exponential moving average of a model's weights, kept in a copy of the model.

    After update ``n`` (counting from 0) each parameter moves to ``d * average + (1 - d) *
    weight`` with ``d = min(decay, (1 + n) / (10 + n))``: the warm-up keeps the first random
    weights from dominating a short run. Buffers (batch-norm statistics) are copied."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, weight in zip(self.model.parameters(), model.parameters()):
            average.lerp_(weight.detach(), 1 - d)
        for average, buffer in zip(self.model.buffers(), model.buffers()):
            average.copy_(buffer)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = state["updates"]


class Window:
    """Training loss and accuracy summed since the last log line. The sums stay tensors on the
    training device, so a step never waits for the GPU: they are read (one synchronisation)
    only when the window is logged or checked."""

    def __init__(self, first_step: int = 0) -> None:
        self.reset(first_step)

    def reset(self, first_step: int) -> None:
        self.first_step, self.started = first_step, time.perf_counter()
        self.loss: torch.Tensor | float = 0.0
        self.correct: torch.Tensor | int = 0
        self.positions = 0

    def add(self, loss: torch.Tensor, correct: torch.Tensor, positions: int) -> None:
        self.loss = self.loss + loss.detach().float() * positions
        self.correct = self.correct + correct
        self.positions += positions

    def require_finite(self, step: int, checkpoint: Path) -> None:
        """Stops the run with a clear error when a loss of the window was NaN or infinite."""
        loss = float(self.loss)
        if not math.isfinite(loss):
            raise TrainingError(f"the loss became {loss / max(1, self.positions)} between steps {self.first_step + 1} "
                                f"and {step}: training diverged; lower --lr (the last good checkpoint, if any, "
                                f"is {checkpoint})")

    def summary(self, world_size: int, step: int) -> dict:
        """The window's means and speed (all ranks' positions); starts a new window after ``step``."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        values = {"loss": float(self.loss) / self.positions, "accuracy": int(self.correct) / self.positions,
                  "positions_per_s": self.positions * world_size / elapsed}
        self.reset(step)
        return values


RESCHEDULABLE = ("steps",)  # the one setting a resumed run may change


class Checkpointer:
    """``RUN_DIR/checkpoint.pt``: everything a run needs to continue bit-for-bit, written atomically."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "checkpoint.pt"

    def save(self, model, optimizer, ema: Optional[EMA], step: int, config: Config, best: float,
             feature_set: str) -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "ema": ema.state_dict() if ema else None, "step": step, "config": asdict(config),
                 "best_score": best, "feature_set": feature_set, "torch_rng": torch.get_rng_state()}
        write_atomic(self.path, lambda f: torch.save(state, f))

    def load(self) -> dict:
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise TrainingError(f"{self.path}: no checkpoint to resume from") from None
        except Exception as e:
            raise TrainingError(f"{self.path}: unreadable checkpoint: {e}") from None

    def restore(self, model, optimizer, ema: Optional[EMA], config: Config, feature_set: str) -> tuple[int, float, int]:
        """Loads the checkpoint into the model, optimizer and EMA; returns (step, best validation
        score, see :func:`score`, and the steps its schedule had). Refuses a checkpoint of another
        configuration or feature set, except for ``steps`` (RESCHEDULABLE): a run may be
        lengthened or shortened, its learning rate then following the new schedule from the
        step it resumes at."""
        state = self.load()
        saved = {**asdict(Config()), **state["config"]}  # settings added since read as their old behaviour
        changed = {k: (v, getattr(config, k)) for k, v in saved.items() if v != getattr(config, k) and k not in RESCHEDULABLE}
        if changed:
            raise TrainingError(f"{self.path}: the checkpoint was made with another configuration "
                                f"(setting: (checkpoint's, now)): {changed}")
        if config.steps < state["step"]:
            raise TrainingError(f"{self.path}: the run is at step {state['step']}; --steps {config.steps} "
                                    "would end it before it resumes")
        if state["feature_set"] != feature_set:
            raise TrainingError(f"{self.path}: the checkpoint was made on {state['feature_set']} data, "
                                f"this dataset is {feature_set}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        torch.set_rng_state(state["torch_rng"])
        return state["step"], state.get("best_score", state.get("best_val_accuracy")), saved["steps"]  # the old name


def training_loss(config: Config, outputs, targets) -> torch.Tensor:
    """Cross entropy of the policy; the value's squared error, plus with an ownership head
    ``ownership_weight`` times its squared error averaged over the points."""
    if config.target == "policy":
        return F.cross_entropy(outputs.float(), targets)
    if config.ownership:
        (values, owners), (outcomes, final_owners) = outputs, targets
        return F.mse_loss(values.float(), outcomes) + config.ownership_weight * F.mse_loss(owners.float(), final_owners)
    return F.mse_loss(outputs.float(), targets)


def correct(config: Config, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Positions predicted right (a tensor, not read here): the top move is the played one, or
    the value's sign the outcome."""
    if config.target == "value":
        return (outputs.float().sign() == targets).sum()
    return (outputs.argmax(1) == targets).sum()


def validate(model: torch.nn.Module, dataset: Dataset, runtime: Runtime, positions: int, config: Config) -> dict:
    """Loss and accuracy on ``positions`` positions of the validation split: a policy's cross
    entropy and top-1 (unmasked), or a value network's MSE and outcome accuracy."""
    if config.target == "value":
        result = evaluate_value(model, dataset, "validation", positions_per_game=config.positions_per_game,
                                max_positions=positions, device=runtime.device, bf16=runtime.bf16)
        return {"val_loss": result["mse"], "val_accuracy": result["accuracy"], "val_positions": result["positions"]}
    result = evaluate_split(model, dataset, "validation", max_positions=positions, device=runtime.device,
                            bf16=runtime.bf16, mask_legal=False)
    return {"val_loss": -result["mean_log_likelihood"], "val_accuracy": result["top1"], "val_positions": result["positions"]}


def score(config: Config, val: dict) -> float:
    """How good a validation is, higher better: a policy's top-1, a value network's -MSE."""
    return -val["val_loss"] if config.target == "value" else val["val_accuracy"]


def export(path: Path, model: PolicyNetwork | ValueNetwork, feature_set: str, provenance: dict) -> None:
    """Writes a model file of the network in its inference form (batch norms folded in)."""
    for_inference = getattr(model, "for_inference", None)
    save_model(path, for_inference() if for_inference else model, feature_set, provenance)


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


def ranks_in_sync(model: torch.nn.Module) -> bool:
    """Whether every rank holds exactly the same weights (DDP's promise)."""
    flat = torch.cat([p.detach().float().flatten() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def stop_agreed(stop: StopRequest, runtime: Runtime, step: int) -> bool:
    """Whether to stop after ``step``. Under DDP every rank must stop at the same step (a rank
    that left the loop early would hang the others in their next all-reduce), whichever ranks
    the signal reached: they agree on it, every step on CPUs, every 10th step on GPUs (reading
    the flag waits for the GPU)."""
    if runtime.world_size == 1:
        return stop.requested
    if runtime.device.type == "cuda" and step % 10:
        return False
    flag = torch.tensor([float(stop.requested)], device=runtime.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


# -- the run ---------------------------------------------------------------------------


def train(data: str, run_dir: str, config: Config, options: RunOptions = RunOptions()) -> dict:
    """Trains and returns the last metrics (see the module docstring)."""
    # -- setup: processes, data, run directory, network, optimizer, EMA ------------
    runtime = setup_runtime(options)
    dataset = Dataset(data)
    out = Path(run_dir)
    if runtime.main:
        out.mkdir(parents=True, exist_ok=True)
    checkpoints, log = Checkpointer(out), MetricsLog(out, enabled=runtime.main)
    model = build_model(config, dataset, runtime.device)
    optimizer = build_optimizer(config, model)
    ema = EMA(model, config.ema) if config.ema > 0 else None
    evaluated = ema.model if ema else model  # what validation and export use

    # -- resume: weights, optimizer, EMA and random state from the checkpoint -------
    start, best = 0, -math.inf
    if options.resume:
        start, best, planned = checkpoints.restore(model, optimizer, ema, config, dataset.feature_set)
        log.truncate_after(start)
        if planned != config.steps:
            log.write(start, {"schedule_steps": config.steps, "previous_schedule_steps": planned})
            if runtime.main:
                print(f"gopolicy train: the schedule now ends at step {config.steps} (it was {planned}); the "
                      f"learning rate follows it from step {start}", file=sys.stderr)

    # -- the network as trained (DDP, compiled) and its batches --------------------
    net = model
    if runtime.world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[runtime.device] if runtime.device.type == "cuda" else None)
    if options.compile:
        net = torch.compile(net)
    loader_options = dict(device=runtime.device, seed=config.seed, rank=runtime.rank, world_size=runtime.world_size,
                          dtype=torch.bfloat16 if runtime.bf16 else torch.float32)
    if config.target == "value":
        loader = ValueBatchLoader(dataset, "train", config.batch_size, positions_per_game=config.positions_per_game,
                                  ownership=config.ownership, **loader_options)
    else:
        loader = BatchLoader(dataset, "train", config.batch_size, **loader_options)
    features = input_features(config, dataset)
    end = config.steps if options.stop_at is None else min(config.steps, max(start, options.stop_at))
    batches = loader.iterate(start, end)
    if runtime.device.type != "cpu":  # on a CPU a loader thread would steal cores from torch's threads
        batches = prefetch(batches)
    provenance = {"data": str(Path(data).resolve()), "dataset_counts": dataset.manifest["counts"], **asdict(config),
                  "weights": "ema" if ema else "trained"}

    def save_checkpoint(step: int) -> None:
        window.require_finite(step, checkpoints.path)  # never overwrite the last good checkpoint with NaN
        checkpoints.save(model, optimizer, ema, step, config, best, dataset.feature_set)

    metrics: dict = {}
    window = Window(start)
    done = start  # steps completed

    with StopRequest() as stop, progress(total=config.steps, initial=start, desc="train", unit="step",
                                         enabled=options.progress and runtime.main) as bar:
        for step, (x, y) in enumerate(batches, start=start):
            # -- one step: forward, backward, update ------------------------------
            if channels_last(config):
                x = x.contiguous(memory_format=torch.channels_last)
            lr = learning_rate(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast(runtime.device.type, torch.bfloat16, enabled=runtime.bf16):
                outputs = net(x, ownership=True) if config.ownership else net(x)
            loss = training_loss(config, outputs, y)
            if config.ownership:
                outputs, y = outputs[0], y[0]  # the value and the outcome, for the window's figures
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if ema:
                ema.update(model)
            done = step + 1
            last = done == config.steps
            window.add(loss, correct(config, outputs, y), len(y))

            # -- log the training metrics of the window ----------------------------
            if done % options.log_every == 0 or last:
                window.require_finite(done, checkpoints.path)
                metrics = {**window.summary(runtime.world_size, done), "lr": lr,
                           "positions_seen": done * config.batch_size * runtime.world_size}
                log.write(done, metrics)
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.3f}",
                                pos_s=f"{metrics['positions_per_s']:,.0f}", refresh=False)

            # -- validate; export a new best model ---------------------------------
            if runtime.main and (done % options.val_every == 0 or last) and dataset.rows("validation"):
                window.require_finite(done, checkpoints.path)
                val = validate(evaluated, dataset, runtime, options.val_positions, config)
                metrics.update(val)
                log.write(done, val)
                if score(config, val) > best:
                    best = score(config, val)
                    export(out / "best.pt", evaluated, features, {**provenance, "step": done, **val})

            # -- checkpoint; stop when asked -----------------------------------------
            if runtime.main and (done % options.ckpt_every == 0 or last):
                save_checkpoint(done)
            bar.update(1)
            if stop_agreed(stop, runtime, done):
                break

    # -- finish: checkpoint, final model, the run's summary ----------------------------
    if runtime.main:
        save_checkpoint(done)
        export(out / "final.pt", evaluated, features, {**provenance, "step": done})
    metrics.update(step=done, interrupted=done < config.steps)
    if runtime.world_size > 1:
        metrics["ranks_in_sync"] = ranks_in_sync(model)
        log.write(done, {"ranks_in_sync": metrics["ranks_in_sync"]})
        dist.destroy_process_group()
    log.close()
    return metrics


# -- command line ------------------------------------------------------------------------


def layer_count(text: str) -> int:
    """A network depth: the first and last layers at least."""
    value = arg_types.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a layer count of at least 2")
    return value


def boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def config_options() -> dict:
    """Every Config field's option: its argparse settings (each default: the preset's value)."""
    return {
        "target": dict(choices=TARGETS, help="the network to train: policy (the next move) or value (the outcome)"),
        "positions_per_game": dict(type=arg_types.positive_int, metavar="N",
                                   help="value: distinct positions drawn from each game (8)"),
        "init": dict(type=lambda text: str(arg_types.existing_file(text)), metavar="POLICY_MODEL",
                     help="start from this policy network of the same --arch, filters, layers and size: "
                          "a policy run from all its weights, a value run from its trunk"),
        "ownership_weight": dict(type=arg_types.non_negative_float, metavar="W",
                                 help="value: also learn who owns each point at the end of the game (a dataset "
                                      "prepared with --ownership), with this weight on its loss, e.g. 1 (0: off)"),
        "arch": dict(choices=architectures(), help="network variant (default plain: the paper's stack)"),
        "filters": dict(type=arg_types.positive_int, help="filters per convolution (k)"),
        "layers": dict(type=layer_count, help="convolutional layers in all"),
        "batch_size": dict(type=arg_types.positive_int, help="positions per step (per process under torchrun)"),
        "steps": dict(type=arg_types.positive_int, help="training steps"),
        "optimizer": dict(choices=OPTIMIZERS, help="sgd (with --momentum/--nesterov) or adamw (betas 0.9, 0.95; "
                                                   "it wants a smaller --lr, such as 0.001)"),
        "lr": dict(type=arg_types.positive_float, help="peak learning rate"),
        "momentum": dict(type=arg_types.fraction, help="SGD momentum (0 = plain SGD)"),
        "nesterov": dict(type=boolean, metavar="BOOL", help="Nesterov momentum (SGD)"),
        "weight_decay": dict(type=arg_types.non_negative_float,
                             help="sgd: L2 on every parameter; adamw: decoupled, on weight matrices only"),
        "warmup_steps": dict(type=arg_types.non_negative_int, help="steps of linear learning-rate warm-up"),
        "schedule": dict(choices=SCHEDULES, help="learning-rate decay after the warm-up"),
        "step_every": dict(type=arg_types.positive_int, help="'step' schedule: halve the rate every N steps"),
        "grad_clip": dict(type=arg_types.non_negative_float, help="max gradient norm (0 = no clipping)"),
        "ema": dict(type=arg_types.fraction, metavar="DECAY",
                    help="keep an exponential moving average of the weights with this decay, e.g. 0.999; "
                         "validation, best.pt and final.pt use it (0 = off)"),
        "seed": dict(type=arg_types.non_negative_int, help="seed of the initial weights and the batches"),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="a dataset made by 'gopolicy prepare'")
    parser.add_argument("--out", required=True, type=arg_types.output_dir, metavar="RUN_DIR",
                        help="run directory: checkpoint.pt, best.pt, final.pt, metrics.jsonl")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="modern",
                        help="'paper': Silver et al.'s plain SGD, batch 16, lr 0.003 halved every 80M steps; "
                             "'modern' (default): Nesterov momentum, batch 256, warm-up, cosine decay, weight decay")
    for name, settings in config_options().items():
        settings["help"] += " (default: the preset's)"
        parser.add_argument("--" + name.replace("_", "-"), default=None, **settings)
    parser.add_argument("--resume", action="store_true",
                        help="continue from RUN_DIR/checkpoint.pt, with the same settings but --steps, which may "
                             "lengthen or shorten the schedule")
    arg_types.add_device(parser)
    arg_types.add_precision(parser)
    parser.add_argument("--threads", type=arg_types.positive_int, help="torch threads (default: cores / processes on this machine)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--val-every", type=arg_types.positive_int, default=1000, help="validate every N steps (default 1000)")
    parser.add_argument("--val-positions", type=arg_types.positive_int, default=8192,
                        help="validation positions each time (default 8192)")
    arg_types.add_ckpt_every(parser, 1000)
    parser.add_argument("--log-every", type=arg_types.positive_int, default=50,
                        help="write the training metrics every N steps (default 50)")
    parser.add_argument("--stop-at", type=arg_types.positive_int, metavar="STEP",
                        help="checkpoint and stop after this step (continue later with --resume)")
    arg_types.add_progress(parser)


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name) is not None}
    return replace(PRESETS[args.preset], **overrides)


def options_from_args(args: argparse.Namespace) -> RunOptions:
    return RunOptions(**{f.name: getattr(args, f.name) for f in fields(RunOptions)})


def run(args: argparse.Namespace) -> int:
    metrics = train(args.data, args.out, config_from_args(args), options_from_args(args))
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(metrics))
    return 0
