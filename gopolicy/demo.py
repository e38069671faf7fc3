"""``gopolicy demo``: the whole pipeline on the bundled sample games, in a few minutes on a CPU.

1. ``prepare`` the 322 games in ``data/sample/`` (with the default split fractions, so
   its test games are exactly those the bundled model never trained on);
2. ``train`` a small network on them for a minute;
3. ``eval`` it, and the bundled model, on the held-out test games;
4. let the bundled model (or the new one) play a few moves through the GTP engine.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.prepare import prepare
from gopolicy.gtp.engine import DEFAULT_MODEL, build_engine
from gopolicy.nn.modelfile import load_model
from gopolicy.training.evaluate import evaluate_split, format_table
from gopolicy.training.train import Config, RunOptions, train
from gopolicy.util.args import non_negative_int, positive_int

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)), flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="where the dataset and the run go (default: runs/demo)")
    parser.add_argument("--steps", type=positive_int, default=400, help="training steps of the small network (default: 400)")
    parser.add_argument("--moves", type=non_negative_int, default=30, help="moves the engine plays at the end (default: 30)")


def run(args: argparse.Namespace) -> int:
    out, started = Path(args.out), time.time()
    if not SAMPLE.is_dir():
        raise FileNotFoundError(f"{SAMPLE}: the bundled sample games are missing (run from a checkout of gopolicy)")

    heading(f"1. prepare {SAMPLE}")
    manifest = prepare([SAMPLE], out / "data", count_first=False)
    print({k: manifest["counts"][k] for k in ("games_kept", "positions", "skipped")})

    heading("2. train a small network (k=32, 6 layers)")
    config = Config(filters=32, layers=6, batch_size=64, steps=args.steps, lr=0.02, warmup_steps=40)
    options = RunOptions(val_every=max(args.steps // 4, 1), ckpt_every=args.steps, log_every=20,
                         resume=(out / "train" / "checkpoint.pt").exists())
    metrics = train(str(out / "data"), str(out / "train"), config, options)
    print(f"after {metrics['step']} steps: training accuracy {metrics.get('accuracy', 0):.1%}, "
          f"validation accuracy {metrics.get('val_accuracy', 0):.1%}")

    dataset = Dataset(out / "data")
    models = {"the new small network": out / "train" / "final.pt"}
    if DEFAULT_MODEL.exists():
        models["the bundled model"] = DEFAULT_MODEL
    for name, path in models.items():
        heading(f"3. evaluate {name} on the held-out test games ({path})")
        model, info = load_model(path)
        print(format_table(evaluate_split(model, dataset, "test")))

    chosen = DEFAULT_MODEL if DEFAULT_MODEL.exists() else out / "train" / "final.pt"
    heading(f"4. {chosen.name} plays {args.moves} moves against itself over GTP")
    engine = build_engine(chosen)
    for _ in range(args.moves // 2):
        for colour in ("b", "w"):
            engine.respond(f"genmove {colour}")
    print(engine.respond("showboard").strip("= \n"))
    print(f"\ndemo finished in {time.time() - started:.0f} s; outputs in {out}/")
    return 0
