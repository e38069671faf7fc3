"""``gopolicy duel MODEL_A MODEL_B``: how often one policy network beats another, without search.

N games, colours alternated (A is Black in the odd-numbered games), batched
(:mod:`gopolicy.play.selfplay`); Tromp-Taylor area scoring with komi. Moves are *sampled*
at ``--temperature`` (default 1, each network's own distribution): with temperature 0
both play their single most likely move, so every game with the same colours would be
the same game. Win rate counts a draw as half a win; its 95% confidence interval is
Wilson's score interval over the N games. The report goes to stdout; ``--json FILE`` also
writes the result as JSON.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from typing import Optional, Union

import numpy as np
import torch

from gopolicy.errors import GopolicyError
from gopolicy.go.coords import BLACK, WHITE
from gopolicy.nn.modelfile import load_model
from gopolicy.play.selfplay import BatchPlayer, PlayedGame, alternating_seats, play_games
from gopolicy.util import args as arg_types
from gopolicy.util.files import write_json_atomic
from gopolicy.util.progress import progress


def wilson_interval(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (95% for z = 1.96)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(games: list[PlayedGame]) -> dict:
    """Counts from A's side; ``games`` as seated by :func:`alternating_seats` (A first)."""
    a_colours = [BLACK if i % 2 == 0 else WHITE for i in range(len(games))]
    outcomes = [game.outcome(colour) for game, colour in zip(games, a_colours)]
    wins, losses, draws = outcomes.count(1), outcomes.count(-1), outcomes.count(0)
    rate = (wins + 0.5 * draws) / len(games) if games else 0.0
    low, high = wilson_interval(wins + 0.5 * draws, len(games))

    def as_colour(colour: int) -> dict:
        mine = [o for o, c in zip(outcomes, a_colours) if c == colour]
        return {"games": len(mine), "wins": mine.count(1)}

    return {"a_wins": wins, "b_wins": losses, "draws": draws, "a_win_rate": rate, "wilson_95": [low, high],
            "a_as_black": as_colour(BLACK), "a_as_white": as_colour(WHITE),
            "mean_moves": float(np.mean([len(g.moves) for g in games])) if games else 0.0,
            "stopped_at_move_cap": sum(g.stopped for g in games)}


def player_from_file(path: Union[str, os.PathLike], temperature: float, name: str,
                     device: Union[str, torch.device] = "cpu", precision: str = "auto") -> BatchPlayer:
    """A player for the model file at ``path`` (ModelFileError, naming it, if unusable), its
    network in fp32 on ``device``, bf16 as ``precision`` resolves there."""
    model, info = load_model(path, map_location=device)
    return BatchPlayer(model.float(), info.feature_set, temperature, name, precision)


def duel(player_a: BatchPlayer, player_b: BatchPlayer, games: int, size: int, komi: float = 7.5,
         max_moves: Optional[int] = None, batch_size: int = 64, seed: Optional[int] = None,
         show_progress: bool = False) -> list[PlayedGame]:
    """Plays ``games`` games, A Black in the even-numbered ones (0-based), ``batch_size`` at a time."""
    rng = np.random.default_rng(seed)
    seats = alternating_seats(player_a, player_b, games)
    played: list[PlayedGame] = []
    with progress(total=games, desc="duel", unit="game", enabled=show_progress) as bar:
        for start in range(0, games, batch_size):
            played += play_games(seats[start:start + batch_size], size, komi, max_moves, rng, progress=bar)
    return played


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_a", metavar="MODEL_A", help="model file")
    parser.add_argument("model_b", metavar="MODEL_B", help="model file")
    parser.add_argument("--games", type=arg_types.positive_int, default=100,
                        help="games in all, colours alternated (default 100)")
    parser.add_argument("--size", type=arg_types.positive_int, help="board size (default and only choice: the models' own)")
    parser.add_argument("--komi", type=arg_types.finite_float, default=7.5)
    parser.add_argument("--temperature", type=arg_types.non_negative_float, default=1.0,
                        help="sampling temperature for both (default 1; > 0 so that games differ)")
    parser.add_argument("--max-moves", type=arg_types.positive_int,
                        help="stop and score a game after this many moves (default 2 * size * size)")
    arg_types.add_batch_size(parser, 64, "games played at once (memory grows with it)")
    parser.add_argument("--seed", type=arg_types.non_negative_int, help="seed for reproducible games")
    arg_types.add_device(parser)
    arg_types.add_precision(parser)
    parser.add_argument("--threads", type=arg_types.positive_int, help="torch threads (default: torch's choice)")
    arg_types.add_json(parser, "the result")
    arg_types.add_progress(parser)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = arg_types.resolve_device(args.device)
    a = player_from_file(args.model_a, args.temperature, "A", device, args.precision)
    b = player_from_file(args.model_b, args.temperature, "B", device, args.precision)
    size = args.size or a.model.board_size
    for path, player in ((args.model_a, a), (args.model_b, b)):
        if player.model.board_size != size:
            raise GopolicyError(f"{path}: the network is for {player.model.board_size}x{player.model.board_size} "
                                f"boards, not {size}x{size}")
    start = time.perf_counter()
    games = duel(a, b, args.games, size, args.komi, args.max_moves, args.batch_size, args.seed,
                 show_progress=args.progress)
    result = {"model_a": args.model_a, "model_b": args.model_b, "games": args.games, "size": size,
              "komi": args.komi, "temperature": args.temperature, **summarise(games),
              "seconds": round(time.perf_counter() - start, 2)}
    print(format_report(result))
    if args.json:
        write_json_atomic(args.json, result)
    return 0


def format_report(result: dict) -> str:
    low, high = result["wilson_95"]
    black, white = result["a_as_black"], result["a_as_white"]
    return "\n".join([
        f"A            {result['model_a']}",
        f"B            {result['model_b']}",
        f"games        {result['games']} ({result['size']}x{result['size']}, komi {result['komi']:g}, "
        f"temperature {result['temperature']:g}, {result['mean_moves']:.0f} moves on average)",
        f"A wins       {result['a_wins']} (as Black {black['wins']}/{black['games']}, as White {white['wins']}/{white['games']})",
        f"B wins       {result['b_wins']}",
        f"draws        {result['draws']}",
        f"A win rate   {100 * result['a_win_rate']:.1f}% (95% Wilson interval {100 * low:.1f}% to {100 * high:.1f}%)",
    ])
