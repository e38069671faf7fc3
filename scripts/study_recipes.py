"""Learning-curve study of network variants and training recipes (issue 12).

    python scripts/study_recipes.py DATASET --out runs/study [--recipe NAME:key=value,... ...]
        (--steps N | --cpu-seconds S) [--chunk 1000] [--threads 1] [--val-positions 8192]
    python scripts/study_recipes.py --report runs/study          # table and plot only
    python scripts/study_recipes.py --speed [--filters 64 96] [--batch-size 128] [--precision auto]

A recipe is a name and ``gopolicy train`` options without their dashes, e.g.
``res-gpool-bn-k96:arch=residual-gpool-bn,filters=96,lr=0.05,ema=0.999,batch-size=128``
(with none, DEFAULT_RECIPES). Each recipe trains with the real CLI (``python -m gopolicy.cli
train``) in ``OUT/NAME`` in chunks of ``--chunk`` steps (``--stop-at``, then ``--resume``),
validating at the end of each; the CPU time of every chunk (user + system, start-up included)
is read from the child's resource usage and kept in ``OUT/study.json``, so an interrupted study
continues where it stopped when run again. ``--cpu-seconds S`` gives every recipe the same
budget: its ``--steps`` (which its learning-rate schedule needs up front) is S times the bare
forward+backward+update rate measured here for its network and batch (``--speed``'s
measurement); the table shows the CPU time each run really took.

The report, ``OUT/study.md`` and ``OUT/study.png``: validation top-1 against positions seen
and against CPU-seconds for every recipe, with RocAlphaGo's published curve (a plain 12-layer
k = 96 network on KGS) and the bundled model's test top-1 beside.

``--speed`` prints forward+backward positions/s (one thread unless --threads, CPU time) of every
variant at each width, relative to the plain network.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from gopolicy.nn.hardware import use_bf16
from gopolicy.nn.policy import ARCHITECTURES, PolicyNetwork
from gopolicy.training.train import PRESETS
from gopolicy.util import args as arg_types
from gopolicy.util.files import read_jsonl, write_json_atomic

_SHORT = "batch-size=128,warmup-steps=100"  # a short budget wants more, smaller steps and a short warm-up
DEFAULT_RECIPES = [
    f"plain-k64:arch=plain,filters=64,{_SHORT}",
    f"plain-bn-k64:arch=plain-bn,filters=64,{_SHORT}",
    f"residual-k64:arch=residual,filters=64,{_SHORT}",
    f"residual-bn-k64:arch=residual-bn,filters=64,{_SHORT}",
    f"residual-gpool-k64:arch=residual-gpool,filters=64,{_SHORT}",
    f"residual-k64-ema:arch=residual,filters=64,ema=0.999,{_SHORT}",
    f"residual-k96:arch=residual,filters=96,{_SHORT}",
    f"residual-k128:arch=residual,filters=128,{_SHORT}",
]
# RocAlphaGo (github.com/Rochester-NRT/RocAlphaGo): its plain 12-layer k = 96 policy network's
# accuracy on held-out KGS positions after so many training positions.
ROCALPHAGO = [(4e6, 0.435), (8e6, 0.454), (12e6, 0.468), (20e6, 0.477), (80e6, 0.509)]
BUNDLED_TOP1 = 0.440  # data/models/default.pt (residual, 13 layers, k = 64, 3.3M positions) on the KGS test split
STATE_FILE = "study.json"
MANAGED = {"out", "steps", "stop-at", "resume", "val-every", "ckpt-every", "threads", "val-positions", "progress",
           "no-progress"}  # options the runner sets itself


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    options: tuple  # ((key, value), ...) as given, keys with dashes

    @property
    def cli(self) -> list:
        return [arg for key, value in self.options for arg in (f"--{key}", value)]

    def setting(self, key: str):
        """The value that training will use for a Config field: the recipe's, else its preset's."""
        given = dict(self.options)
        preset = PRESETS[given.get("preset", "modern")]
        value = given.get(key.replace("_", "-"))
        default = getattr(preset, key)
        return default if value is None else type(default)(value)


def parse_recipe(text: str) -> Recipe:
    """``NAME:key=value,...`` -> Recipe; ArgumentTypeError (argparse's one-line error) if malformed."""
    try:
        return _parse_recipe(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parse_recipe(text: str) -> Recipe:
    name, _, rest = text.partition(":")
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"recipe {text!r}: give NAME:key=value,... with a name of letters, digits, - _ .")
    options = []
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip().lstrip("-").replace("_", "-")
        if not eq or not key or not value:
            raise ValueError(f"recipe {name}: {item!r} is not key=value")
        if key in MANAGED:
            raise ValueError(f"recipe {name}: --{key} is set by the study runner")
        options.append((key, value.strip()))
    recipe = Recipe(name, tuple(options))
    if "preset" in dict(options) and dict(options)["preset"] not in PRESETS:
        raise ValueError(f"recipe {name}: unknown preset {dict(options)['preset']!r}")
    for key in ("arch", "filters", "layers", "batch_size"):
        try:
            recipe.setting(key)
        except ValueError:
            raise ValueError(f"recipe {name}: bad {key.replace('_', '-')} {dict(options)[key.replace('_', '-')]!r}") from None
    if recipe.setting("arch") not in ARCHITECTURES:
        raise ValueError(f"recipe {name}: unknown arch {recipe.setting('arch')!r} (known: {', '.join(ARCHITECTURES)})")
    return recipe


# -- speed ------------------------------------------------------------------------------

def step_rate(arch: str, filters: int, layers: int, batch: int, bf16: bool, steps: int, update: bool) -> float:
    """Positions per CPU-second of forward + backward (+ an SGD update if ``update``) on one
    batch of random binary planes in memory, channels-last, as ``gopolicy train`` runs it."""
    torch.manual_seed(0)
    model = PolicyNetwork(48, filters, layers, 19, arch=arch).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randint(0, 2, (batch, 48, 19, 19), dtype=torch.float32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 361, (batch,))

    def step() -> None:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            logits = model(x)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(logits.float(), y).backward()
        if update:
            optimizer.step()

    step()  # warm-up: allocations, kernel choice
    start = time.process_time()
    for _ in range(steps):
        step()
    return steps * batch / (time.process_time() - start)


def speed(args) -> None:
    torch.set_num_threads(args.threads)
    bf16 = use_bf16(args.precision, "cpu")
    print(f"forward+backward, batch {args.batch_size}, {args.threads} thread(s), {'bf16 autocast' if bf16 else 'fp32'}, "
          f"{args.layers} layers, 48 planes, 19x19, {args.speed_steps} steps after 1 warm-up, CPU time\n")
    print("| arch | k | parameters | positions/s | vs plain |\n|---|---:|---:|---:|---:|")
    for filters in args.filters:
        plain = None
        for arch in args.arch:
            rate = step_rate(arch, filters, args.layers, args.batch_size, bf16, args.speed_steps, update=False)
            plain = rate if arch == "plain" else plain
            params = PolicyNetwork(48, filters, args.layers, 19, arch=arch).num_parameters
            relative = f"{rate / plain:.2f}" if plain else "-"
            print(f"| {arch} | {filters} | {params:,} | {rate:,.1f} | {relative} |", flush=True)


# -- the study -----------------------------------------------------------------------------

def run_chunk(command: list, threads: int) -> tuple[int, float]:
    """Runs ``command``; its exit code and CPU-seconds (user + system, its children included)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    process = subprocess.Popen(command, env=env)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except KeyboardInterrupt:  # the child got the Ctrl-C too: it checkpoints and stops
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def planned_steps(recipe: Recipe, args) -> int:
    if args.steps:
        return args.steps
    batch = recipe.setting("batch_size")
    rate = step_rate(recipe.setting("arch"), recipe.setting("filters"), recipe.setting("layers"), batch,
                     use_bf16(args.precision, "cpu"), args.speed_steps, update=True) * args.threads
    return max(1, int(args.cpu_seconds * rate / batch))


def study(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    state = read_state(state_path)
    torch.set_num_threads(args.threads)
    for recipe in args.recipe:
        entry = state["recipes"].get(recipe.name)
        if entry is not None and entry["options"] != [list(o) for o in recipe.options]:
            sys.exit(f"study_recipes: recipe {recipe.name} was started in {out} with other options "
                     f"({entry['options']}); give it a new name or another --out")
        if entry is None:
            entry = {"options": [list(o) for o in recipe.options], "steps": planned_steps(recipe, args),
                     "batch_size": recipe.setting("batch_size"), "arch": recipe.setting("arch"),
                     "filters": recipe.setting("filters"), "layers": recipe.setting("layers"), "chunks": []}
            state["recipes"][recipe.name] = entry
            write_json_atomic(state_path, state)
        run_dir = out / recipe.name
        while (done := completed_step(entry)) < entry["steps"]:
            target = min(done + args.chunk, entry["steps"])
            command = [sys.executable, "-m", "gopolicy.cli", "train", str(args.data), "--out", str(run_dir), *recipe.cli,
                       "--steps", str(entry["steps"]), "--stop-at", str(target), "--val-every", str(args.chunk),
                       "--ckpt-every", str(args.chunk), "--threads", str(args.threads),
                       "--val-positions", str(args.val_positions), "--no-progress"]
            if "precision" not in dict(recipe.options):
                command += ["--precision", args.precision]
            if (run_dir / "checkpoint.pt").exists():
                command.append("--resume")
            print(f"[{recipe.name}] steps {done} -> {target} of {entry['steps']}", flush=True)
            try:
                rc, cpu = run_chunk(command, args.threads)
            except KeyboardInterrupt:
                sys.exit(f"study_recipes: interrupted in {recipe.name}; run the same command again to continue")
            entry["chunks"].append({"step": target if rc == 0 else None, "cpu_s": round(cpu, 2)})
            write_json_atomic(state_path, state)
            if rc != 0:
                sys.exit(f"study_recipes: gopolicy train exited {rc} in recipe {recipe.name} (see its messages above)")
    report(out)


def read_state(path: Path) -> dict:
    if not path.exists():
        return {"recipes": {}}
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        sys.exit(f"study_recipes: {path}: unreadable study state ({e})")


def completed_step(entry: dict) -> int:
    return max([c["step"] for c in entry["chunks"] if c["step"] is not None], default=0)


# -- the report -----------------------------------------------------------------------------

def curve(out: Path, name: str, entry: dict) -> list[tuple[int, float, float]]:
    """(positions seen, CPU-seconds so far, validation top-1) at each validation of a recipe's
    run. A validation at step s comes at the end of the chunk that reached s; the CPU time of
    interrupted chunks counts towards the next completed one."""
    cpu_at, total = {}, 0.0
    for chunk in entry["chunks"]:
        total += chunk["cpu_s"]
        if chunk["step"] is not None:
            cpu_at[chunk["step"]] = total
    metrics = out / name / "metrics.jsonl"
    rows = read_jsonl(metrics) if metrics.exists() else []
    points = {}
    for row in rows:
        if "val_accuracy" in row and row["step"] in cpu_at:
            points[row["step"]] = (row["step"] * entry["batch_size"], cpu_at[row["step"]], row["val_accuracy"])
    return [points[s] for s in sorted(points)]


def at_cpu(points: list[tuple[int, float, float]], cpu: float) -> float:
    """Validation top-1 at ``cpu`` CPU-seconds, linear between a curve's points (from 0 at 0 s)."""
    previous = (0.0, 0.0)
    for _, spent, top1 in points:
        if spent >= cpu:
            (c0, a0), (c1, a1) = previous, (spent, top1)
            return a0 + (a1 - a0) * (cpu - c0) / (c1 - c0) if c1 > c0 else a1
        previous = (spent, top1)
    return float("nan")


def run_curve(path: Path) -> list[tuple[int, float]]:
    """(positions seen, validation top-1) of a ``gopolicy train`` run's metrics.jsonl."""
    rows = read_jsonl(path)
    seen = {r["step"]: r["positions_seen"] for r in rows if "positions_seen" in r}
    return [(seen[r["step"]], r["val_accuracy"]) for r in rows if "val_accuracy" in r and r["step"] in seen]


def report(out: Path, others: Sequence[tuple[str, Path]] = ()) -> None:
    """Writes study.md and study.png; ``others``: (name, metrics.jsonl) of longer runs to draw
    beside the recipes in the panel by positions seen."""
    state = read_state(out / STATE_FILE)
    curves = {name: curve(out, name, entry) for name, entry in state["recipes"].items()}
    # the planned steps come from a speed measured while the machine may be busy, so the runs'
    # CPU times differ: compare them all at the budget that every one of them reached
    common = min((points[-1][1] for points in curves.values() if points), default=0.0)
    lines = ["| recipe | arch | k | batch | options | steps | positions | CPU-s | positions/CPU-s | val top-1 (last) | best "
             f"| at {common:,.0f} CPU-s |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, entry in state["recipes"].items():
        points = curves[name]
        positions, cpu, last = points[-1] if points else (0, 0.0, float("nan"))
        best = max((p[2] for p in points), default=float("nan"))
        options = ", ".join(f"{k}={v}" for k, v in entry["options"] if k not in ("arch", "filters", "batch-size"))
        rate = f"{positions / cpu:,.0f}" if cpu else "-"
        lines.append(f"| {name} | {entry['arch']} | {entry['filters']} | {entry['batch_size']} | {options or '-'} | "
                     f"{completed_step(entry)}/{entry['steps']} | {positions:,} | {cpu:,.0f} | {rate} | "
                     f"{100 * last:.1f}% | {100 * best:.1f}% | {100 * at_cpu(points, common):.1f}% |")
    lines.append("")
    lines.append("RocAlphaGo (plain 12 layers, k = 96, KGS): " +
                 ", ".join(f"{100 * a:.1f}% at {p / 1e6:g}M positions" for p, a in ROCALPHAGO) +
                 f". Bundled model (residual 13 layers, k = 64, 3.3M positions): {100 * BUNDLED_TOP1:.1f}%.")
    (out / "study.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(curves, {name: run_curve(path) for name, path in others}, out / "study.png")
    print(f"\nwrote {out / 'study.md'} and {out / 'study.png'}")


def plot(curves: dict, others: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_positions, by_cpu) = plt.subplots(1, 2, figsize=(13, 5.5))
    for name, points in curves.items():
        if points:
            positions, cpu, top1 = zip(*points)
            line, = by_positions.plot(positions, [100 * a for a in top1], marker="o", markersize=3, label=name)
            by_cpu.plot(cpu, [100 * a for a in top1], marker="o", markersize=3, color=line.get_color(), label=name)
    for name, points in others.items():
        if points:
            positions, top1 = zip(*points)
            by_positions.plot(positions, [100 * a for a in top1], linewidth=2.5, label=name)
    rocalphago_positions, rocalphago_top1 = zip(*ROCALPHAGO)
    by_positions.plot(rocalphago_positions, [100 * a for a in rocalphago_top1], "k--s", markersize=5,
                      label="RocAlphaGo, plain 12 x k96 (KGS)")
    for axes in (by_positions, by_cpu):
        axes.axhline(100 * BUNDLED_TOP1, color="grey", linestyle=":", label="bundled model (residual 13 x k64, 3.3M positions)")
        axes.set_xscale("log")
        axes.set_ylabel("validation top-1 (%)")
        axes.grid(True, which="both", alpha=0.3)
    by_positions.set_xlabel("training positions seen")
    by_positions.set_title("accuracy per position seen")
    by_cpu.set_xlabel("CPU-seconds (training, validation and start-up)")
    by_cpu.set_title("accuracy per CPU-second")
    by_positions.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def named_path(text: str) -> tuple[str, Path]:
    name, eq, path = text.partition("=")
    if not eq or not name or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=an existing metrics.jsonl")
    return name, Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=arg_types.existing_path, help="a dataset made by 'gopolicy prepare'")
    parser.add_argument("--out", help="the study's folder: one run folder per recipe, study.json, .md, .png")
    parser.add_argument("--recipe", action="append", type=parse_recipe, metavar="NAME:key=value,...",
                        help="a recipe (repeat the option for more); default: DEFAULT_RECIPES")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=arg_types.positive_int, help="the same number of steps for every recipe")
    budget.add_argument("--cpu-seconds", type=arg_types.positive_float, help="the same CPU budget for every recipe")
    parser.add_argument("--chunk", type=arg_types.positive_int, default=1000, help="steps between validations (default 1000)")
    parser.add_argument("--threads", type=arg_types.positive_int, default=1, help="torch threads per run (default 1)")
    parser.add_argument("--val-positions", type=arg_types.positive_int, default=8192)
    parser.add_argument("--report", metavar="OUT", help="only write the table and plot of the study in OUT")
    parser.add_argument("--with", dest="others", action="append", default=[], type=named_path, metavar="NAME=METRICS",
                        help="--report: also draw this run's metrics.jsonl against positions seen (repeatable)")
    parser.add_argument("--speed", action="store_true", help="only measure every variant's forward+backward speed")
    parser.add_argument("--arch", nargs="+", choices=ARCHITECTURES, default=list(ARCHITECTURES), help="--speed: variants")
    parser.add_argument("--filters", nargs="+", type=arg_types.positive_int, default=[64, 96], help="--speed: widths")
    parser.add_argument("--layers", type=arg_types.positive_int, default=13, help="--speed: layers")
    parser.add_argument("--batch-size", type=arg_types.positive_int, default=128, help="--speed: batch (default 128)")
    parser.add_argument("--speed-steps", type=arg_types.positive_int, default=2,
                        help="timed steps per measurement (--speed, and sizing --cpu-seconds runs; default 2)")
    arg_types.add_precision(parser)
    args = parser.parse_args()
    if args.speed:
        speed(args)
    elif args.report:
        report(Path(args.report), args.others)
    else:
        if not args.data or not args.out:
            parser.error("a study needs DATASET and --out (or give --report OUT, or --speed)")
        if not (args.steps or args.cpu_seconds):
            parser.error("give the budget: --steps N or --cpu-seconds S")
        args.recipe = args.recipe or [_parse_recipe(r) for r in DEFAULT_RECIPES]
        if len({r.name for r in args.recipe}) != len(args.recipe):
            parser.error("two recipes have the same name")
        study(args)


if __name__ == "__main__":
    main()
