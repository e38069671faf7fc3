"""How much a GTP genmove costs beyond the network's forward pass, bf16 against fp32, and
how often bf16 and fp32 choose the same move.

For each model (random weights with ``--filters``, and the bundled model or ``--model`` if
there is one), in fp32 and bf16, on one thread:

  forward   the network alone, batch 1, planes ready (scripts/bench_forward.py's step)
  genmove   EnginePlayer.genmove on real positions: candidates (legality, superko, eyes),
            feature planes, forward pass, masked softmax, choice
  overhead  genmove - forward

Agreement: on positions from the data/sample games, how often greedy bf16 and fp32 play the
same move, and how far apart their probabilities for the fp32 move are. Start-up: seconds
from starting ``gtp_engine.py`` to its first answer and to its first genmove.

    python scripts/bench_genmove.py [--filters 192] [--model PATH] [--positions 400] [--clock cpu]
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
from bench_forward import CLOCKS, inference_step  # noqa: E402

from gopolicy.errors import RecordError  # noqa: E402
from gopolicy.features import encode  # noqa: E402
from gopolicy.go.rules import Game  # noqa: E402
from gopolicy.gtp.engine import DEFAULT_MODEL  # noqa: E402
from gopolicy.nn.modelfile import ModelInfo, load_model, save_model  # noqa: E402
from gopolicy.nn.policy import PolicyNetwork  # noqa: E402
from gopolicy.play.player import EnginePlayer  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import read_game, replay  # noqa: E402

SAMPLES = ROOT / "data" / "sample"


def sample_positions(count: int, every: int = 7) -> list[tuple[Game, int]]:
    """``count`` positions (game, colour to move) from the sample games, every ``every``-th move."""
    positions: list[tuple[Game, int]] = []
    for source, data in iter_sgf(sorted(SAMPLES.glob("*.tar.gz"))):
        try:
            record = read_game(data, source, size=19)
            for number, (game, colour, _) in enumerate(replay(record)):
                if number % every == every - 1:
                    positions.append((game.copy(), colour))
                    if len(positions) == count:
                        return positions
        except RecordError:
            continue
    return positions


def interleaved_medians(steps: list[Callable[[], None]], clock: Callable[[], float], warmup: int, min_reps: int,
                        min_seconds: float) -> list[float]:
    """Median time of each step, the steps run in turn so that a busy machine slows all alike."""
    for _ in range(warmup):
        for step in steps:
            step()
    times: list[list[float]] = [[] for _ in steps]
    while len(times[0]) < min_reps or sum(map(sum, times)) < min_seconds:
        for step, measured in zip(steps, times):
            start = clock()
            step()
            measured.append(clock() - start)
    return [statistics.median(measured) for measured in times]


def timings(model: PolicyNetwork, info: ModelInfo, positions: list[tuple[Game, int]], bf16: bool, clock,
            seconds: float) -> list[float]:
    """[forward, genmove] median seconds for one precision."""
    player = EnginePlayer(model, info, precision="bf16" if bf16 else "fp32")
    game, colour = positions[0]
    planes = torch.from_numpy(encode(game, colour, info.feature_set)).unsqueeze(0).to(player.model.conv1.weight.dtype)
    cycle = itertools.cycle(positions)

    def genmove() -> None:
        game, colour = next(cycle)
        player.genmove(game, colour)

    return interleaved_medians([inference_step(player.model, planes), genmove], clock, 5, 20, seconds)


def agreement(model: PolicyNetwork, info: ModelInfo, positions: list[tuple[Game, int]]) -> tuple[float, float, float]:
    """(share of positions where bf16 and fp32 play the same move, mean and max |p_bf16 - p_fp32| of
    fp32's move)."""
    full, half = EnginePlayer(model, info, precision="fp32"), EnginePlayer(model, info, precision="bf16")
    same, gaps = 0, []
    for game, colour in positions:
        p_full, p_half = full.policy(game, colour), half.policy(game, colour)
        move = int(np.argmax(p_full))
        same += full.genmove(game, colour) == half.genmove(game, colour)
        gaps.append(abs(float(p_half[move]) - float(p_full[move])))
    return same / len(positions), statistics.mean(gaps), max(gaps)


def startup(model_path: Path) -> tuple[float, float]:
    """Seconds from starting the engine to its first answer, and to its first genmove's."""
    start = time.perf_counter()
    engine = subprocess.Popen([sys.executable, str(ROOT / "gtp_engine.py"), "--model", str(model_path), "--threads", "1"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    engine.stdin.write("protocol_version\n")
    engine.stdin.flush()
    engine.stdout.readline()
    first = time.perf_counter() - start
    engine.stdout.readline()
    engine.stdin.write("genmove b\n")
    engine.stdin.flush()
    engine.stdout.readline()
    moved = time.perf_counter() - start
    engine.stdin.write("quit\n")
    engine.stdin.close()
    engine.wait()
    return first, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filters", type=int, default=192, help="width of the random-weight network")
    parser.add_argument("--layers", type=int, default=13)
    parser.add_argument("--model", type=Path, help=f"a model file (default: {DEFAULT_MODEL.name} if present)")
    parser.add_argument("--positions", type=int, default=400, help="sample positions for the agreement")
    parser.add_argument("--seconds", type=float, default=2.0, help="least time measured per timing")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: this process's CPU time (steadier on a shared machine); wall: elapsed time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    clock = CLOCKS[args.clock]
    positions = sample_positions(args.positions)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, 1 thread, "
          f"{args.clock} clock; {len(positions)} positions from {SAMPLES.relative_to(ROOT)}")

    with tempfile.TemporaryDirectory() as tmp:
        models = []
        random_net = PolicyNetwork(48, args.filters, args.layers, 19).eval()
        random_path = Path(tmp) / "random.pt"
        save_model(random_path, random_net, "alphago48")
        models.append((f"random k={args.filters}", random_path))
        model_path = args.model or (DEFAULT_MODEL if DEFAULT_MODEL.exists() else None)
        if model_path is not None:
            models.append((model_path.name, model_path))
        else:
            print(f"(no {DEFAULT_MODEL.relative_to(ROOT)} yet: random weights only)")

        header = f"{'model':<22} {'dtype':>5} | {'forward ms':>10} {'genmove ms':>10} {'overhead ms':>11}"
        print(header)
        print("-" * len(header))
        for name, path in models:
            model, info = load_model(path)
            for bf16 in (False, True):
                forward, genmove = timings(model, info, positions[:50], bf16, clock, args.seconds)
                print(f"{name:<22} {'bf16' if bf16 else 'fp32':>5} | {forward * 1e3:10.2f} {genmove * 1e3:10.2f} "
                      f"{(genmove - forward) * 1e3:11.2f}")
        print()
        for name, path in models:
            model, info = load_model(path)
            same, mean_gap, max_gap = agreement(model, info, positions)
            print(f"{name}: bf16 and fp32 play the same move in {100 * same:.1f}% of {len(positions)} positions; "
                  f"|p_bf16 - p_fp32| of the fp32 move: mean {mean_gap:.2e}, max {max_gap:.2e}")
        print()
        for name, path in models:
            first, moved = startup(path)
            print(f"{name}: start-up to the first GTP answer {first:.2f} s, to the first genmove's answer {moved:.2f} s")


if __name__ == "__main__":
    main()
