"""``gopolicy rl``: the RL policy network, by policy-gradient self-play (AlphaGo's REINFORCE stage).

Each iteration the current network (the *learner*) plays a minibatch of games, colours
alternated, against one opponent drawn uniformly from a pool of its own earlier
snapshots (the pool starts with the SL model it starts from; a snapshot joins every
``--snapshot-every`` iterations), all games batched (:mod:`gopolicy.play.selfplay`); both
sides sample their moves from their policies. Then one SGD step on::

    loss = -1/n * sum over games i, learner moves t of (z_i - b) * log p(a_t | s_t)

``z_i`` = +1 if the learner won game i, -1 if it lost, 0 for a draw; ``b`` the mean of
the ``z_i`` with ``--baseline`` (else 0); ``p`` the distribution the move was sampled
from (softmax of logits / temperature over the sensible moves), so the winner's moves
become more likely and the loser's less.

The step is clipped to gradient norm ``--grad-clip`` (default 1). The paper's step size,
0.001, is for its own network: for the bundled model the summed loss's gradient has a norm
of 190-290, and a step of norm 0.3 leaves it winning 0 of 32 games against itself before
the step, one of 0.03 about even (``scripts/rl_step_size.py``). So the default is a clipped
step of norm at most ``--lr`` = 0.02.

RUN_DIR holds ``checkpoint.pt`` (model, optimizer, iteration, games, pool, RNG state,
settings; written atomically every ``--checkpoint-every`` iterations and on Ctrl-C or
SIGTERM, which discard the unfinished iteration), ``pool/iter-NNNNNN.pt`` (model files),
``metrics.jsonl`` (one JSON line per iteration) and, at the end, ``model.pt``
(:func:`~gopolicy.nn.modelfile.save_model`, provenance included). ``--resume`` continues
a run exactly where its checkpoint left it, with the settings it was started with
(``--iterations`` may raise the total).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import secrets
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from gopolicy.go.coords import BLACK, WHITE
from gopolicy.errors import GopolicyError
from gopolicy.nn.hardware import PRECISIONS, use_bf16
from gopolicy.nn.modelfile import load_model, save_model, weights_digest
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.dataset.format import unpack_rows
from gopolicy.play.selfplay import BatchPlayer, PlayedGame, alternating_seats, play_games

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
FINAL_MODEL = "model.pt"
POOL_DIR = "pool"
TRAIN_CHUNK = 256  # positions per forward/backward when computing the gradient


class RunError(GopolicyError):
    """An RL run directory or checkpoint that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Everything that decides a run's course; saved in the checkpoint and reused on --resume."""

    init: str
    games: int = 64
    lr: float = 0.02
    grad_clip: Optional[float] = 1.0  # max gradient norm; None: unclipped, as in the paper
    snapshot_every: int = 10
    checkpoint_every: int = 1
    temperature: float = 1.0
    baseline: bool = True
    komi: float = 7.5
    max_moves: Optional[int] = None
    seed: int = 0
    precision: str = "auto"  # bf16 autocast for play and updates: see gopolicy.nn.hardware.use_bf16


# -- the REINFORCE step ---------------------------------------------------------------


def learner_outcomes(games: Sequence[PlayedGame]) -> list[np.ndarray]:
    """Per game, the outcome (+1/-1/0) for the colour of each recorded decision."""
    return [np.array([game.outcome(int(c)) for c in game.colours], np.float32) for game in games]


def reinforce_update(model: PolicyNetwork, optimizer: torch.optim.Optimizer, games: Sequence[PlayedGame],
                     temperature: float = 1.0, baseline: bool = True, bf16: bool = False,
                     grad_clip: Optional[float] = None) -> float:
    """One policy-gradient step on the recorded decisions of ``games``; returns the loss
    (the module docstring's formula, whose gradient is REINFORCE's)."""
    outcomes = learner_outcomes(games)
    decided = [i for i, z in enumerate(outcomes) if len(z)]
    optimizer.zero_grad(set_to_none=True)
    if not decided:
        return 0.0
    b = float(np.mean([outcomes[i][0] for i in decided])) if baseline else 0.0
    advantages = (np.concatenate([outcomes[i] for i in decided]) - b).astype(np.float32)
    packed = np.concatenate([games[i].packed_planes for i in decided])
    masks = np.concatenate([games[i].masks for i in decided])
    actions = np.concatenate([games[i].actions for i in decided])
    size, n_games = games[0].size, len(games)
    weight = next(model.parameters())
    total = 0.0
    for start in range(0, len(actions), TRAIN_CHUNK):
        part = slice(start, start + TRAIN_CHUNK)
        planes = unpack_rows(packed[part], games[0].plane_count, size)
        with torch.autocast(weight.device.type, torch.bfloat16, enabled=bf16):
            logits = model(torch.from_numpy(planes).to(weight.device, weight.dtype)).float() / temperature
        legal = torch.from_numpy(masks[part]).to(logits.device)
        log_probs = logits.masked_fill(~legal, float("-inf")).log_softmax(-1)
        chosen = log_probs.gather(1, torch.from_numpy(actions[part]).to(logits.device)[:, None]).squeeze(1)
        loss = -(torch.from_numpy(advantages[part]).to(logits.device) * chosen).sum() / n_games
        loss.backward()
        total += loss.item()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return total


# -- the run --------------------------------------------------------------------------


def _write_atomic(path: Path, write) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class Run:
    """One RL run in a directory: its state, its iterations and its files."""

    def __init__(self, run_dir: Path, settings: Settings, model: PolicyNetwork, feature_set: str,
                 init_provenance: dict, init_digest: str):
        self.dir, self.settings, self.model, self.feature_set = run_dir, settings, model, feature_set
        self.init_provenance, self.init_digest = init_provenance, init_digest
        self.size = model.board_size
        self.optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr)
        self.rng = np.random.default_rng(settings.seed)
        self.iteration, self.games_played = 0, 0
        self.pool: list[str] = []  # file names in pool/
        self.bf16 = use_bf16(settings.precision, next(model.parameters()).device)
        self.learner = BatchPlayer(model, feature_set, settings.temperature, name="learner", precision=settings.precision)
        self._opponents: dict[str, BatchPlayer] = {}

    # state --------------------------------------------------------------------------
    def state(self) -> dict:
        """A deep copy of everything a checkpoint holds (plain data and tensors only)."""
        return copy.deepcopy({
            "format": "gopolicy-rl-checkpoint", "settings": asdict(self.settings), "feature_set": self.feature_set,
            "init_provenance": json.dumps(self.init_provenance), "init_digest": self.init_digest,
            "model": self.model.state_dict(), "architecture": self.model.architecture,
            "optimizer": self.optimizer.state_dict(), "iteration": self.iteration, "games_played": self.games_played,
            "pool": list(self.pool), "numpy_rng": json.dumps(self.rng.bit_generator.state),
            "torch_rng": torch.get_rng_state()})

    def save_checkpoint(self, state: Optional[dict] = None) -> None:
        state = state if state is not None else self.state()
        _write_atomic(self.dir / CHECKPOINT, lambda f: torch.save(state, f))

    @classmethod
    def start(cls, run_dir: Path, settings: Settings) -> "Run":
        """A new run from the SL model ``settings.init``; its first pool member is that model."""
        if (run_dir / CHECKPOINT).exists():
            raise RunError(f"{run_dir}: already holds an RL run; continue it with --resume or choose another --out")
        model, info = load_model(settings.init)
        try:
            (run_dir / POOL_DIR).mkdir(parents=True, exist_ok=True)
            (run_dir / METRICS).unlink(missing_ok=True)
        except OSError as e:
            raise RunError(f"{run_dir}: cannot use as the run directory: {e.strerror or e}") from None
        digest = weights_digest(model.state_dict())
        run = cls(run_dir, settings, model.float().train(), info.feature_set, info.provenance, digest)
        run.add_snapshot()
        run.save_checkpoint()
        return run

    @classmethod
    def resume(cls, run_dir: Path) -> "Run":
        """The run saved in ``run_dir/checkpoint.pt``, exactly as it was checkpointed."""
        path = run_dir / CHECKPOINT
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or state.get("format") != "gopolicy-rl-checkpoint":
                raise RunError(f"{path}: not a gopolicy RL checkpoint")
            settings = Settings(**state["settings"])
            model = PolicyNetwork(**state["architecture"])
            model.load_state_dict(state["model"])
            run = cls(run_dir, settings, model.train(), state["feature_set"], json.loads(state["init_provenance"]),
                      state["init_digest"])
            run.optimizer.load_state_dict(state["optimizer"])
            run.iteration, run.games_played, run.pool = state["iteration"], state["games_played"], list(state["pool"])
            run.rng.bit_generator.state = json.loads(state["numpy_rng"])
            torch.set_rng_state(state["torch_rng"])
        except FileNotFoundError:
            raise RunError(f"{path}: no checkpoint to resume from") from None
        except RunError:
            raise
        except Exception as e:  # a damaged file fails in many ways
            raise RunError(f"{path}: unusable checkpoint ({type(e).__name__}: {e})") from None
        run._truncate_metrics()
        return run

    def _truncate_metrics(self) -> None:
        """Drops metrics lines of iterations after the checkpoint (a run killed without saving)."""
        path = self.dir / METRICS
        if not path.exists():
            return
        kept = [line for line in path.read_text().splitlines()
                if line.strip() and json.loads(line).get("iteration", 0) <= self.iteration]
        _write_atomic(path, lambda f: f.write("".join(line + "\n" for line in kept).encode()))

    # files ---------------------------------------------------------------------------
    def provenance(self) -> dict:
        return {"stage": "rl", "method": "REINFORCE against a pool of earlier snapshots",
                "init_model": os.path.abspath(self.settings.init), "init_weights_sha256": self.init_digest,
                "init_provenance": self.init_provenance, "iterations": self.iteration,
                "games": self.games_played, "settings": asdict(self.settings)}

    def add_snapshot(self) -> None:
        name = f"iter-{self.iteration:06d}.pt"
        save_model(self.dir / POOL_DIR / name, self.model, self.feature_set, self.provenance())
        self.pool.append(name)

    def export(self) -> Path:
        path = self.dir / FINAL_MODEL
        save_model(path, self.model, self.feature_set, self.provenance())
        return path

    def _opponent(self, name: str) -> BatchPlayer:
        if name not in self._opponents:
            if len(self._opponents) >= 4:  # a few loaded at most
                self._opponents.pop(next(iter(self._opponents)))
            self._opponents[name] = BatchPlayer.from_file(self.dir / POOL_DIR / name, self.settings.temperature, name,
                                                              precision=self.settings.precision)
        return self._opponents[name]

    # one iteration -------------------------------------------------------------------
    def iterate(self) -> dict:
        """Plays one minibatch of games, takes one SGD step; returns the metrics line."""
        started = time.perf_counter()
        opponent = self._opponent(self.pool[int(self.rng.integers(len(self.pool)))])
        seats = alternating_seats(self.learner, opponent, self.settings.games)
        games = play_games(seats, self.size, self.settings.komi, self.settings.max_moves, self.rng,
                           record=[self.learner])
        played = time.perf_counter()
        loss = reinforce_update(self.model, self.optimizer, games, self.settings.temperature, self.settings.baseline,
                                self.bf16, self.settings.grad_clip)
        finished = time.perf_counter()
        self.iteration += 1
        self.games_played += len(games)
        outcomes = [g.outcome(BLACK if i % 2 == 0 else WHITE) for i, g in enumerate(games)]  # seats alternate
        metrics = {
            "iteration": self.iteration, "games_played": self.games_played, "opponent": opponent.name,
            "pool_size": len(self.pool), "wins": outcomes.count(1), "losses": outcomes.count(-1),
            "draws": outcomes.count(0), "win_rate": (outcomes.count(1) + 0.5 * outcomes.count(0)) / len(games),
            "loss": loss, "positions": int(sum(len(g.actions) for g in games)),
            "mean_moves": float(np.mean([len(g.moves) for g in games])), "stopped": sum(g.stopped for g in games),
            "games_per_s": len(games) / (played - started), "play_seconds": played - started,
            "train_seconds": finished - played, "time": round(time.time(), 1)}
        with open(self.dir / METRICS, "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if self.iteration % self.settings.snapshot_every == 0:
            self.add_snapshot()
        if self.iteration % self.settings.checkpoint_every == 0:
            self.save_checkpoint()
        return metrics


def train(run: Run, iterations: int, progress: bool = True) -> tuple[bool, int]:
    """Runs iterations until ``iterations`` in all. Returns (finished, the iteration the
    checkpoint holds); Ctrl-C or SIGTERM stop it, and the unfinished iteration is dropped."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, stop)
    bar = tqdm(total=iterations, initial=run.iteration, desc="rl", unit="it", disable=not progress)
    resume_point = run.state()
    try:
        while run.iteration < iterations:
            metrics = run.iterate()
            resume_point = run.state()
            bar.update(1)
            bar.set_postfix(win=f"{metrics['win_rate']:.2f}", loss=f"{metrics['loss']:.3f}",
                            games_s=f"{metrics['games_per_s']:.2f}", pool=metrics["pool_size"])
    except KeyboardInterrupt:
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not cut the checkpoint short
        run.save_checkpoint(resume_point)
        return False, resume_point["iteration"]
    finally:
        bar.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    run.save_checkpoint()
    return True, run.iteration


# -- command line ---------------------------------------------------------------------


TRAINING_OPTIONS = ("games", "lr", "snapshot_every", "checkpoint_every", "temperature", "baseline", "komi",
                    "max_moves", "seed", "precision", "grad_clip")  # Settings fields set on the command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--init", help="the SL model file to start from (a new run)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="directory for checkpoints, pool, metrics and model")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR with its own settings")
    parser.add_argument("--iterations", type=int, default=100, help="iterations in all, counting resumed ones (default 100)")
    # defaults are None so that --resume can tell which settings were given (see Settings for the real defaults)
    parser.add_argument("--games", type=int, help=f"games per iteration (default {Settings.games})")
    parser.add_argument("--lr", type=float, help=f"SGD step size (default {Settings.lr})")
    parser.add_argument("--grad-clip", type=float,
                        help=f"clip each step's gradient to this norm (default {Settings.grad_clip}; 0: no clipping)")
    parser.add_argument("--snapshot-every", type=int,
                        help=f"add the learner to the opponent pool every N iterations (default {Settings.snapshot_every})")
    parser.add_argument("--checkpoint-every", type=int,
                        help=f"write checkpoint.pt every N iterations (default {Settings.checkpoint_every})")
    parser.add_argument("--temperature", type=float,
                        help="sampling temperature for both sides (default 1: the policies themselves)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_const", const=False,
                        help="use z rather than z minus the minibatch's mean outcome")
    parser.add_argument("--komi", type=float, help=f"(default {Settings.komi})")
    parser.add_argument("--max-moves", type=int, help="stop and score a game after this many moves (default 2 * size * size)")
    parser.add_argument("--seed", type=int, help=f"(default {Settings.seed})")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="auto (default): bf16 autocast where the CPU or GPU has native bf16, else fp32")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of a new run: those given, the defaults for the rest; RunError if out of range."""
    given = {name: getattr(args, name) for name in TRAINING_OPTIONS if getattr(args, name) is not None}
    if given.get("grad_clip", 1) < 0:
        raise RunError("--grad-clip must be >= 0")
    if given.get("grad_clip") == 0:
        given["grad_clip"] = None
    settings = Settings(init=os.path.abspath(args.init), **given)
    for name in ("games", "snapshot_every", "checkpoint_every", "max_moves"):
        value = getattr(settings, name)
        if value is not None and value < 1:
            raise RunError(f"--{name.replace('_', '-')} must be >= 1")
    if not settings.lr > 0 or not settings.temperature > 0:
        raise RunError("--lr and --temperature must be > 0")
    return settings


def run(args: argparse.Namespace) -> int:
    if args.iterations < 1:
        raise RunError("--iterations must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = Path(args.out)
    if args.resume:
        rl_run = Run.resume(run_dir)
        if args.init and os.path.abspath(args.init) != rl_run.settings.init:
            raise RunError(f"{run_dir}: the run started from {rl_run.settings.init}, not {args.init}")
        for name in TRAINING_OPTIONS:
            given, kept = getattr(args, name), getattr(rl_run.settings, name)
            if given is not None and given != kept:
                raise RunError(f"{run_dir}: the run was started with {name} = {kept}; a resumed run keeps its "
                               f"settings (leave out --{name.replace('_', '-')} or start a new run)")
    else:
        if not args.init:
            raise RunError("--init SL_MODEL is needed to start a run (or --resume to continue one)")
        rl_run = Run.start(run_dir, settings_from(args))
    finished, saved = train(rl_run, args.iterations, progress=not args.no_progress)
    if not finished:
        print(f"gopolicy rl: interrupted; {run_dir / CHECKPOINT} holds iteration {saved}; continue with --resume")
        return 130
    path = rl_run.export()
    print(f"gopolicy rl: {rl_run.iteration} iterations, {rl_run.games_played} games; model written to {path}")
    return 0
