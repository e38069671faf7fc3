"""``gopolicy eval``: how well a model predicts the moves of held-out games.

Reports what the field reports: top-1/3/5 accuracy, mean log-likelihood of the
played move, and accuracy by game phase, on a prepared dataset's test split
or on any SGF files, folders or archives (prepared on the fly into a
temporary dataset). Optional 8-fold symmetry ensemble; legal-move masking on
by default (the legal points are read from the capture-size planes 20-27,
which mark exactly the legal moves; feature sets without them mask to the
empty points).
"""
from __future__ import annotations

import argparse
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gopolicy import features
from gopolicy.dataset.format import SPLITS, Dataset, DatasetError
from gopolicy.dataset.loader import VALUE_FEATURES, BatchLoader, ValueBatchLoader, sequential_batches
from gopolicy.errors import GopolicyError
from gopolicy.util import args as arg_types
from gopolicy.util.files import write_json_atomic
from gopolicy.util.progress import progress as progress_bar

PHASES = ((1, 50), (51, 100), (101, 150), (151, 200), (201, 250), (251, 10_000))
CURVE_BUCKET = 10  # moves per point of the accuracy-by-move-number curve


class EvaluationError(GopolicyError):
    """An evaluation that cannot give honest figures (a network whose outputs are not finite)."""


@dataclass
class Tally:
    """Running sums for one group of positions."""

    positions: int = 0
    top: dict = field(default_factory=lambda: {1: 0, 3: 0, 5: 0})
    log_likelihood: float = 0.0

    def add(self, ranks: np.ndarray, log_probs: np.ndarray) -> None:
        self.positions += len(ranks)
        for k in self.top:
            self.top[k] += int((ranks < k).sum())
        self.log_likelihood += float(log_probs.sum())

    def summary(self) -> dict:
        n = max(self.positions, 1)
        return {"positions": self.positions, **{f"top{k}": v / n for k, v in self.top.items()},
                "mean_log_likelihood": self.log_likelihood / n}


def legal_points(planes: torch.Tensor) -> torch.Tensor:
    """(B, size*size) bool: the legal points, from the feature planes (see module docstring)."""
    return features.legal_points(planes)


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, dataset: Dataset, split: str = "test", *, max_positions: Optional[int] = None,
                   batch_size: int = 256, device: str | torch.device = "cpu", bf16: bool = False, symmetries: bool = False,
                   mask_legal: bool = True, progress: bool = False) -> dict:
    """Accuracy, log-likelihood and phase breakdown of ``model`` on a split (passes excluded)."""
    loader = BatchLoader(dataset, split, batch_size, device=device, augment=False)
    was_training = model.training
    model.eval()
    overall, phases, curve = Tally(), {p: Tally() for p in PHASES}, {}
    total = min(dataset.rows(split), max_positions or math.inf)
    bar = progress_bar(total=total, desc=f"eval {split}", unit="pos", enabled=progress)
    for packed, meta, _ in sequential_batches(dataset, split, batch_size):
        if max_positions is not None:
            packed, meta = packed[: max_positions - overall.positions], meta[: max_positions - overall.positions]
        if not len(meta):
            break
        x, y = loader.to_device(packed, meta["move"].astype(np.int64), np.zeros(len(meta), np.int64))
        with torch.autocast(torch.device(device).type, torch.bfloat16, enabled=bf16):
            probs = model.probabilities(x, legal_points(x) if mask_legal else None, average_symmetries=symmetries)
        check_finite(probs)
        played = probs.gather(1, y[:, None]).squeeze(1)
        ranks = (probs > played[:, None]).sum(1).cpu().numpy()
        log_probs = played.clamp_min(1e-12).log().cpu().numpy()
        overall.add(ranks, log_probs)
        numbers = meta["move_number"]
        for phase, tally in phases.items():
            sel = (numbers >= phase[0]) & (numbers <= phase[1])
            if sel.any():
                tally.add(ranks[sel], log_probs[sel])
        for bucket in np.unique(numbers // CURVE_BUCKET):
            sel = numbers // CURVE_BUCKET == bucket
            curve.setdefault(int(bucket), Tally()).add(ranks[sel], log_probs[sel])
        bar.update(len(meta))
    bar.close()
    model.train(was_training)
    return {**overall.summary(),
            "by_phase": {f"{a}-{b}" if b < 10_000 else f"{a}+": t.summary() for (a, b), t in phases.items() if t.positions},
            "by_move_number": {b * CURVE_BUCKET + 1: t.summary()["top1"] for b, t in sorted(curve.items())},
            "symmetries": symmetries, "mask_legal": mask_legal}


VALUE_BUCKET = 25  # moves per point of a value network's curves by move number


@torch.no_grad()
def evaluate_value(model: torch.nn.Module, dataset: Dataset, split: str = "test", *,
                   positions_per_game: Optional[int] = None, max_positions: Optional[int] = None, batch_size: int = 256,
                   device: str | torch.device = "cpu", bf16: bool = False, progress: bool = False) -> dict:
    """A value network's mean squared error and outcome accuracy (the sign of the value is the
    winner) on a split's positions of even games with a usual komi (``positions_per_game`` of
    each game, None: all; at most ``max_positions``, spread evenly), overall and by move
    number, beside a trivial baseline: the constant that knows only whose turn it is (the
    split's mean outcome for each colour to move)."""
    loader = ValueBatchLoader(dataset, split, batch_size, device=device, augment=False, positions_per_game=positions_per_game)
    rows, outcomes = loader.rows, loader.outcomes
    if max_positions is not None and max_positions < len(rows):
        pick = np.linspace(0, len(rows) - 1, max_positions).astype(np.int64)
        rows, outcomes = rows[pick], outcomes[pick]
    meta = loader.meta(rows)
    was_training = model.training
    model.eval()
    values = np.empty(len(rows), np.float32)
    with progress_bar(total=len(rows), desc=f"eval value {split}", unit="pos", enabled=progress) as bar:
        for lo in range(0, len(rows), batch_size):
            x = loader.positions(rows[lo: lo + batch_size], np.zeros(len(rows[lo: lo + batch_size]), np.int64))
            with torch.autocast(torch.device(device).type, torch.bfloat16, enabled=bf16):
                v = model(x).float()
            if not bool(torch.isfinite(v).all()):
                raise EvaluationError("the value network's outputs are not finite (NaN or infinite): its weights are "
                                      "broken, so there is no error to report")
            values[lo: lo + len(v)] = v.cpu().numpy()
            bar.update(len(v))
    model.train(was_training)
    baseline = np.zeros(len(rows), np.float32)
    for colour in np.unique(meta["colour"]):
        baseline[meta["colour"] == colour] = outcomes[meta["colour"] == colour].mean()

    def summary(sel: np.ndarray) -> dict:
        return {"positions": int(sel.sum()), "mse": float(((values[sel] - outcomes[sel]) ** 2).mean()),
                "accuracy": float((np.sign(values[sel]) == outcomes[sel]).mean()),
                "baseline_mse": float(((baseline[sel] - outcomes[sel]) ** 2).mean())}

    buckets = (meta["move_number"] - 1) // VALUE_BUCKET
    return {**summary(np.ones(len(rows), bool)), "positions_per_game": positions_per_game,
            "by_move_number": {f"{b * VALUE_BUCKET + 1}-{(b + 1) * VALUE_BUCKET}": summary(buckets == b)
                               for b in np.unique(buckets)}}


def _columns(headline: str, by: dict, columns: list[tuple[str, str, str]]) -> str:
    """A headline, then one row per key of ``by`` (moves) with the named fields of each value:
    ``columns`` are (title, field, format spec) triples."""
    widths = [max(7, len(title)) for title, _, _ in columns]
    lines = [headline, "", " ".join([f"{'moves':>9}", f"{'positions':>10}"]
                                    + [f"{title:>{w}}" for (title, _, _), w in zip(columns, widths)])]
    for moves, s in by.items():
        lines.append(" ".join([f"{moves:>9}", f"{s['positions']:>10,}"]
                              + [f"{s[field]:>{w}{spec}}" for (_, field, spec), w in zip(columns, widths)]))
    return "\n".join(lines)


def format_value_table(result: dict) -> str:
    """A value network's report: overall, then by move number."""
    return _columns(f"positions {result['positions']:,}   MSE {result['mse']:.3f}   accuracy {result['accuracy']:.2%}   "
                    f"(baseline, whose turn only: MSE {result['baseline_mse']:.3f})", result["by_move_number"],
                    [("MSE", "mse", ".3f"), ("accuracy", "accuracy", ".2%"), ("baseline", "baseline_mse", ".3f")])


def check_finite(probs: torch.Tensor) -> None:
    """Refuses the probabilities of a network whose outputs are NaN or infinite. The softmax
    turns such logits into NaN, and the legal-move mask then into a row of zeros, where every
    move would count as top-1: each row must be finite and sum to 1 (the played move is
    always a legal point, so no masked row is empty)."""
    totals = probs.sum(1)
    broken = ~torch.isfinite(totals) | (totals < 0.5)
    if bool(broken.any()):
        raise EvaluationError(f"the network's outputs are not finite (NaN or infinite) on {int(broken.sum())} of "
                              f"{len(totals)} positions: its weights are broken, so there is no accuracy to report")


def format_table(result: dict) -> str:
    """A policy network's report: overall, then by phase of the game."""
    return _columns(f"positions {result['positions']:,}   top-1 {result['top1']:.2%}   top-3 {result['top3']:.2%}   "
                    f"top-5 {result['top5']:.2%}   mean log-likelihood {result['mean_log_likelihood']:.3f}",
                    result["by_phase"], [(f"top-{k}", f"top{k}", ".2%") for k in (1, 3, 5)])


def plot(result: dict, path: Path, title: str) -> bool:
    """Top-1 accuracy by move number as a PNG; False if matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    curve = result["by_move_number"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(list(curve), [100 * v for v in curve.values()], marker=".")
    ax.set(xlabel="move number", ylabel="top-1 accuracy (%)", title=title, ylim=(0, 100))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# -- command line --------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=arg_types.existing_file,
                        help="a policy or value model file (e.g. RUN_DIR/best.pt or data/models/default.pt); "
                             "a value network's MSE and outcome accuracy are reported")
    parser.add_argument("data", nargs="+", type=arg_types.existing_path,
                        help="a prepared dataset directory, or SGF files, folders or archives")
    parser.add_argument("--split", choices=SPLITS, default="test", help="split of a prepared dataset (default: test)")
    parser.add_argument("--max-positions", type=arg_types.positive_int, help="evaluate at most this many positions")
    parser.add_argument("--symmetries", action="store_true", help="average over the 8 symmetries (the paper's 'ensemble 8')")
    parser.add_argument("--no-mask", action="store_true", help="let the network's mass on illegal points count")
    parser.add_argument("--positions-per-game", type=arg_types.positive_int, metavar="N",
                        help="value network: N positions of each game (default: all)")
    arg_types.add_batch_size(parser, 256)
    arg_types.add_device(parser)
    arg_types.add_precision(parser, fp32_alias=True)
    arg_types.add_json(parser)
    parser.add_argument("--plot", metavar="FILE.png", type=arg_types.output_file,
                        help="accuracy by move number as a PNG (needs matplotlib)")
    arg_types.add_progress(parser)


def open_data(inputs: list[Path], split: str, feature_set: str, tmp: str, show_progress: bool) -> tuple[Dataset, str]:
    """The dataset and split to evaluate: a prepared dataset's split, or every game of SGF
    inputs prepared into a throwaway test split in ``tmp``. DatasetError naming the inputs
    if there is nothing to evaluate."""
    from gopolicy.dataset.prepare import SplitSizes, prepare

    if len(inputs) == 1 and (inputs[0] / "manifest.json").exists():
        dataset = Dataset(inputs[0])
        if not dataset.rows(split):
            raise DatasetError(f"{inputs[0]}: the prepared dataset's {split} split has no positions")
        return dataset, split
    manifest = prepare(inputs, tmp, feature_set=feature_set, splits=SplitSizes(0.0, 1.0), count_first=False,
                       progress=show_progress)
    dataset = Dataset(tmp)
    if not dataset.rows("test"):
        counts = manifest["counts"]
        raise DatasetError(f"{', '.join(map(str, inputs))}: no games to evaluate: neither a prepared dataset (a "
                           f"folder with manifest.json) nor SGF games that could be used ({counts['games_read']} "
                           f"records read, skipped: {counts['skipped'] or 'none'})")
    return dataset, "test"


def run(args: argparse.Namespace) -> int:
    from gopolicy.nn.hardware import use_bf16
    from gopolicy.nn.modelfile import load_model

    device = arg_types.resolve_device(args.device)
    model, info = load_model(args.model, map_location=device, kind="any")
    bf16 = use_bf16(args.precision, device)
    value = info.kind == "value"
    # a value network reads the data's planes plus "player colour", which the loader adds
    data_features = {v: k for k, v in VALUE_FEATURES.items()}.get(info.feature_set) if value else info.feature_set
    with tempfile.TemporaryDirectory(prefix="gopolicy-eval-") as tmp:
        dataset, split = open_data(args.data, args.split, data_features or info.feature_set, tmp, args.progress)
        if dataset.feature_set != data_features:
            raise DatasetError(f"{args.model} expects feature set {data_features or info.feature_set}, "
                               f"the data has {dataset.feature_set}")
        if value:
            result = evaluate_value(model, dataset, split, positions_per_game=args.positions_per_game,
                                    max_positions=args.max_positions, batch_size=args.batch_size, device=device,
                                    bf16=bf16, progress=args.progress)
        else:
            result = evaluate_split(model, dataset, split, max_positions=args.max_positions,
                                    batch_size=args.batch_size, device=device, bf16=bf16, symmetries=args.symmetries,
                                    mask_legal=not args.no_mask, progress=args.progress)
    result.update(model=str(args.model), data=[str(d) for d in args.data], split=split,
                  architecture=info.architecture, feature_set=info.feature_set, precision="bf16" if bf16 else "fp32")
    print(format_value_table(result) if value else format_table(result))
    if args.json:
        write_json_atomic(args.json, result)
    if args.plot and not plot(result, Path(args.plot), f"{Path(args.model).name}: top-1 by move number"):
        print("eval: --plot needs matplotlib (pip install 'gopolicy[plot]')")
    return 0
