"""``gopolicy rl``: the RL policy network, by policy-gradient self-play (AlphaGo's REINFORCE stage).

Each iteration the current network (the *learner*) plays a minibatch of games, colours
alternated, against one opponent drawn uniformly from a pool of its own earlier
snapshots (the pool starts with the SL model it starts from; a snapshot joins every
``--snapshot-every`` iterations), all games batched (:mod:`gopolicy.play.selfplay`); both
sides sample their moves from their policies. Then one SGD step on::

    loss = -1/n * sum over games i, learner moves t of (z_i - b) * log p(a_t | s_t)

``z_i`` = +1 if the learner won game i, -1 if it lost, 0 for a draw; ``b`` the mean of
the ``z_i`` with ``--baseline`` (else 0); ``p`` the distribution the move was sampled
from (softmax of logits / temperature over the candidate moves), so the winner's moves
become more likely and the loser's less. A loss or gradient that is not finite stops the
run with an error before the step is taken; the checkpoint keeps the last good state.

The step is clipped to gradient norm ``--grad-clip`` (default 1). The paper's step size,
0.001, is for its own network: for the bundled model the summed loss's gradient has a norm
of 190-290, and a step of norm 0.3 leaves it winning 0 of 32 games against itself before
the step, one of 0.03 about even (``scripts/rl_step_size.py``). So the default is a clipped
step of norm at most ``--lr`` = 0.02.

RUN_DIR holds ``checkpoint.pt`` (model, optimizer, iteration, games, pool, RNG state,
settings; written atomically every ``--ckpt-every`` iterations and when the run stops),
``pool/iter-NNNNNN.pt`` (model files), ``metrics.jsonl`` (:class:`~gopolicy.util.metrics.MetricsLog`,
one line per iteration) and, at the end, ``final.pt`` (:func:`~gopolicy.nn.modelfile.save_model`,
provenance included). Ctrl-C or SIGTERM (:class:`~gopolicy.util.interrupt.StopRequest`) let
the current iteration finish, checkpoint it and exit with status 130; a second one drops the
unfinished iteration and checkpoints the last finished one. ``--resume`` continues a run
exactly where its checkpoint left it, with the settings it was started with (``--iterations``
may raise the total; ``--device``, ``--threads`` and ``--no-progress`` may change).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from gopolicy.dataset.format import unpack_rows
from gopolicy.errors import GopolicyError
from gopolicy.go.coords import BLACK, WHITE
from gopolicy.nn.hardware import use_bf16
from gopolicy.nn.modelfile import load_model, network_from, save_model, weights_digest
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.play.selfplay import BatchPlayer, PlayedGame, alternating_seats, play_games
from gopolicy.rl.duel import player_from_file
from gopolicy.util import args as arg_types
from gopolicy.util.files import write_atomic
from gopolicy.util.interrupt import StopRequest
from gopolicy.util.metrics import FILE_NAME as METRICS
from gopolicy.util.metrics import MetricsLog
from gopolicy.util.progress import progress

CHECKPOINT = "checkpoint.pt"
FINAL_MODEL = "final.pt"  # the name train gives its last model too
POOL_DIR = "pool"
TRAIN_CHUNK = 256  # positions per forward/backward when computing the gradient


class RunError(GopolicyError):
    """An RL run directory or checkpoint that cannot be used, or a run that cannot go on."""


@dataclass(frozen=True)
class Settings:
    """Everything that decides a run's course; saved in the checkpoint and reused on --resume."""

    init: str
    games: int = 64
    lr: float = 0.02
    grad_clip: Optional[float] = 1.0  # max gradient norm; None: unclipped, as in the paper
    snapshot_every: int = 10
    checkpoint_every: int = 1  # --ckpt-every
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
    (the module docstring's formula, whose gradient is REINFORCE's). RunError, with the
    network left as it was, if the loss or the gradient is not finite."""
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
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf if grad_clip is None else grad_clip)
    if not (math.isfinite(total) and math.isfinite(norm.item())):
        optimizer.zero_grad(set_to_none=True)
        raise RunError(f"the REINFORCE loss ({total:g}) or its gradient's norm ({norm.item():g}) is not finite; "
                       "the step was not taken (a smaller --lr or --grad-clip may help)")
    optimizer.step()
    return total


# -- the run --------------------------------------------------------------------------


class Run:
    """One RL run in a directory: its state, its iterations and its files. ``model`` is on
    the device the run plays and learns on."""

    def __init__(self, run_dir: Path, settings: Settings, model: PolicyNetwork, feature_set: str,
                 init_provenance: dict, init_digest: str):
        self.dir, self.settings, self.model, self.feature_set = run_dir, settings, model, feature_set
        self.init_provenance, self.init_digest = init_provenance, init_digest
        self.size = model.board_size
        self.device = next(model.parameters()).device
        self.optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr)
        self.rng = np.random.default_rng(settings.seed)
        self.iteration, self.games_played = 0, 0
        self.pool: list[str] = []  # file names in pool/
        self.bf16 = use_bf16(settings.precision, self.device)
        self.learner = BatchPlayer(model, feature_set, settings.temperature, name="learner", precision=settings.precision)
        self._opponents: dict[str, BatchPlayer] = {}
        self.metrics = MetricsLog(run_dir)

    # state --------------------------------------------------------------------------
    def state(self) -> dict:
        """A copy of everything a checkpoint holds (plain data and CPU tensors only)."""
        return copy.deepcopy({
            "format": "gopolicy-rl-checkpoint", "settings": asdict(self.settings), "feature_set": self.feature_set,
            "init_provenance": json.dumps(self.init_provenance), "init_digest": self.init_digest,
            "model": {name: t.detach().cpu() for name, t in self.model.state_dict().items()},
            "architecture": self.model.architecture, "optimizer": self.optimizer.state_dict(),
            "iteration": self.iteration, "games_played": self.games_played, "pool": list(self.pool),
            "numpy_rng": json.dumps(self.rng.bit_generator.state), "torch_rng": torch.get_rng_state()})

    def save_checkpoint(self, state: Optional[dict] = None) -> None:
        state = state if state is not None else self.state()
        write_atomic(self.dir / CHECKPOINT, lambda f: torch.save(state, f))

    @classmethod
    def start(cls, run_dir: Path, settings: Settings, device: Union[str, torch.device] = "cpu") -> "Run":
        """A new run from the SL model ``settings.init``; its first pool member is that model."""
        if (run_dir / CHECKPOINT).exists():
            raise RunError(f"{run_dir}: already holds an RL run; continue it with --resume or choose another --out")
        model, info = load_model(settings.init, map_location=device)
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
    def resume(cls, run_dir: Path, device: Union[str, torch.device] = "cpu") -> "Run":
        """The run saved in ``run_dir/checkpoint.pt``, exactly as it was checkpointed; its
        network is checked as a model file's is (bounded architecture, finite weights)."""
        path = run_dir / CHECKPOINT
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or state.get("format") != "gopolicy-rl-checkpoint":
                raise RunError(f"{path}: not a gopolicy RL checkpoint")
            settings = Settings(**state["settings"])
            model = network_from(state["architecture"], state["feature_set"], state["model"]).to(device)
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
            raise RunError(f"{path}: unusable checkpoint ({type(e).__name__}: {str(e)[:200]})") from None
        run.metrics.truncate_after(run.iteration)  # lines of iterations the checkpoint does not hold
        return run

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
            self._opponents[name] = player_from_file(self.dir / POOL_DIR / name, self.settings.temperature, name,
                                                     self.device, self.settings.precision)
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
        try:
            loss = reinforce_update(self.model, self.optimizer, games, self.settings.temperature,
                                    self.settings.baseline, self.bf16, self.settings.grad_clip)
        except RunError as e:
            raise RunError(f"iteration {self.iteration + 1}: {e}") from None
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
            "train_seconds": finished - played}
        self.metrics.write(self.iteration, metrics)
        if self.iteration % self.settings.snapshot_every == 0:
            self.add_snapshot()
        if self.iteration % self.settings.checkpoint_every == 0:
            self.save_checkpoint()
        return metrics


def train(run: Run, iterations: int, show_progress: bool = True) -> tuple[bool, int]:
    """Runs iterations until ``iterations`` in all, then checkpoints. Returns (finished, the
    iteration the checkpoint holds). Ctrl-C or SIGTERM stop it after the current iteration (a
    second one at once, dropping that iteration); a RunError (an update that is not finite)
    checkpoints the last finished iteration and is raised again."""
    resume_point = run.state()
    with StopRequest() as stop, progress(total=iterations, initial=run.iteration, desc="rl", unit="it",
                                         enabled=show_progress) as bar:
        try:
            while run.iteration < iterations and not stop.requested:
                metrics = run.iterate()
                resume_point = run.state()
                bar.update(1)
                bar.set_postfix(win=f"{metrics['win_rate']:.2f}", loss=f"{metrics['loss']:.3f}",
                                games_s=f"{metrics['games_per_s']:.2f}", pool=metrics["pool_size"])
        except KeyboardInterrupt:  # the second signal: the unfinished iteration is dropped
            run.save_checkpoint(resume_point)
            return False, resume_point["iteration"]
        except RunError as e:
            run.save_checkpoint(resume_point)
            raise RunError(f"{e}; {run.dir / CHECKPOINT} holds iteration {resume_point['iteration']}") from None
        finally:
            run.metrics.close()
        run.save_checkpoint()
    return run.iteration >= iterations, run.iteration


# -- command line ---------------------------------------------------------------------


# Settings fields set on the command line -> their option; an option left out is None (on --resume: the run's own)
TRAINING_OPTIONS = {"games": "--games", "lr": "--lr", "grad_clip": "--grad-clip", "snapshot_every": "--snapshot-every",
                    "checkpoint_every": "--ckpt-every", "temperature": "--temperature", "baseline": "--no-baseline",
                    "komi": "--komi", "max_moves": "--max-moves", "seed": "--seed", "precision": "--precision"}
_DESTINATIONS = {"checkpoint_every": "ckpt_every"}  # where the option's name is not the field's


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--init", help="the SL model file to start from (a new run)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="directory for checkpoints, pool, metrics and model")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR with its own settings")
    parser.add_argument("--iterations", type=arg_types.positive_int, default=100,
                        help="iterations in all, counting resumed ones (default 100)")
    # the settings' defaults are None so that --resume can tell which were given (see Settings for the real ones)
    parser.add_argument("--games", type=arg_types.positive_int, help=f"games per iteration (default {Settings.games})")
    parser.add_argument("--lr", type=arg_types.positive_float, help=f"SGD step size (default {Settings.lr})")
    parser.add_argument("--grad-clip", type=arg_types.non_negative_float,
                        help=f"clip each step's gradient to this norm (default {Settings.grad_clip}; 0: no clipping)")
    parser.add_argument("--snapshot-every", type=arg_types.positive_int,
                        help=f"add the learner to the opponent pool every N iterations (default {Settings.snapshot_every})")
    arg_types.add_ckpt_every(parser, Settings.checkpoint_every, "iterations")
    parser.add_argument("--temperature", type=arg_types.positive_float,
                        help="sampling temperature for both sides (default 1: the policies themselves)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_const", const=False,
                        help="use z rather than z minus the minibatch's mean outcome")
    parser.add_argument("--komi", type=arg_types.finite_float, help=f"(default {Settings.komi})")
    parser.add_argument("--max-moves", type=arg_types.positive_int,
                        help="stop and score a game after this many moves (default 2 * size * size)")
    parser.add_argument("--seed", type=arg_types.non_negative_int, help=f"(default {Settings.seed})")
    arg_types.add_precision(parser)
    arg_types.add_device(parser)
    parser.add_argument("--threads", type=arg_types.positive_int, help="torch threads (default: torch's choice)")
    arg_types.add_progress(parser)
    parser.set_defaults(ckpt_every=None, precision=None)


def given_settings(args: argparse.Namespace) -> dict:
    """The Settings fields given on the command line, as Settings holds them."""
    given = {name: getattr(args, _DESTINATIONS.get(name, name)) for name in TRAINING_OPTIONS}
    given = {name: value for name, value in given.items() if value is not None}
    if given.get("grad_clip") == 0:
        given["grad_clip"] = None  # no clipping
    return given


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of a new run: those given, the defaults for the rest."""
    return Settings(init=os.path.abspath(args.init), **given_settings(args))


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = arg_types.resolve_device(args.device)
    run_dir = Path(args.out)
    if args.resume:
        rl_run = Run.resume(run_dir, device)
        if args.init and os.path.abspath(args.init) != rl_run.settings.init:
            raise RunError(f"{run_dir}: the run started from {rl_run.settings.init}, not {args.init}")
        for name, given in given_settings(args).items():
            kept = getattr(rl_run.settings, name)
            if given != kept:
                raise RunError(f"{run_dir}: the run was started with {name} = {kept}; a resumed run keeps its "
                               f"settings (leave out {TRAINING_OPTIONS[name]} or start a new run)")
    else:
        if not args.init:
            raise RunError("--init SL_MODEL is needed to start a run (or --resume to continue one)")
        rl_run = Run.start(run_dir, settings_from(args), device)
    finished, saved = train(rl_run, args.iterations, show_progress=args.progress)
    if not finished:
        print(f"gopolicy rl: interrupted; {run_dir / CHECKPOINT} holds iteration {saved}; continue with --resume")
        return 130
    path = rl_run.export()
    print(f"gopolicy rl: {rl_run.iteration} iterations, {rl_run.games_played} games; model written to {path}")
    return 0
