"""``gopolicy duel MODEL_A MODEL_B``: how often one policy network beats another, without search.

N games, colours alternated (A is Black in the odd-numbered games), batched
(:mod:`gopolicy.play.selfplay`); Tromp-Taylor area scoring with komi. Moves are *sampled*
at ``--temperature`` (default 1, each network's own distribution): with temperature 0
both play their single most likely move, so every game with the same colours would be
the same game. Win rate counts a draw as half a win; its 95% confidence interval is
Wilson's score interval over the N games.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from typing import Optional

import numpy as np
import torch
from tqdm import tqdm

from gopolicy.go.coords import BLACK, WHITE
from gopolicy.errors import GopolicyError
from gopolicy.play.selfplay import BatchPlayer, PlayedGame, alternating_seats, play_games


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


def duel(player_a: BatchPlayer, player_b: BatchPlayer, games: int, size: int, komi: float = 7.5,
         max_moves: Optional[int] = None, batch: int = 64, seed: Optional[int] = None,
         progress: bool = False) -> list[PlayedGame]:
    """Plays ``games`` games, A Black in the even-numbered ones (0-based), ``batch`` at a time."""
    rng = np.random.default_rng(seed)
    seats = alternating_seats(player_a, player_b, games)
    played: list[PlayedGame] = []
    with tqdm(total=games, desc="duel", unit="game", disable=not progress) as bar:
        for start in range(0, games, batch):
            played += play_games(seats[start:start + batch], size, komi, max_moves, rng, progress=bar)
    return played


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_a", metavar="MODEL_A", help="model file")
    parser.add_argument("model_b", metavar="MODEL_B", help="model file")
    parser.add_argument("--games", type=int, default=100, help="games in all, colours alternated (default 100)")
    parser.add_argument("--size", type=int, help="board size (default and only choice: the models' own)")
    parser.add_argument("--komi", type=float, default=7.5)
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature for both (default 1; > 0 so that games differ)")
    parser.add_argument("--max-moves", type=int, help="stop and score a game after this many moves (default 2 * size * size)")
    parser.add_argument("--batch", type=int, default=64, help="games played at once (default 64; memory grows with it)")
    parser.add_argument("--seed", type=int, help="seed for reproducible games")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.games < 1 or args.batch < 1:
        raise GopolicyError("--games and --batch must be >= 1")
    if not args.temperature >= 0:
        raise GopolicyError("--temperature must be >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    a = BatchPlayer.from_file(args.model_a, args.temperature, name="A")
    b = BatchPlayer.from_file(args.model_b, args.temperature, name="B")
    size = args.size or a.model.board_size
    for path, player in ((args.model_a, a), (args.model_b, b)):
        if player.model.board_size != size:
            raise GopolicyError(f"{path}: the network is for {player.model.board_size}x{player.model.board_size} "
                                f"boards, not {size}x{size}")
    start = time.perf_counter()
    games = duel(a, b, args.games, size, args.komi, args.max_moves, args.batch, args.seed,
                 progress=not args.no_progress and not args.json)
    result = {"model_a": args.model_a, "model_b": args.model_b, "games": args.games, "size": size,
              "komi": args.komi, "temperature": args.temperature, **summarise(games),
              "seconds": round(time.perf_counter() - start, 2)}
    print(json.dumps(result) if args.json else format_report(result))
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
