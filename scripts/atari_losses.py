#!/usr/bin/env python3
"""How an engine's stones were lost in its games, and whether a rule "save strings in atari"
would play better than the network.

Match mode: for every SGF of a match (``../shared/tools/match --out DIR``), replays the game and,
for each of the engine's strings of ``--min-stones`` or more that the opponent captured, says
why, from the position before the engine's last move:

* ``ignored``: the string was in atari, a saving move existed (one that gives it three or more
  liberties, or two and a working ladder escape, or captures), and the engine played elsewhere
  without capturing as many stones itself;
* ``doomed``: the same, but no move could save it (giving it up was right);
* ``trade``: it was in atari and the engine's move captured at least as many stones;
* ``chased``: the engine had run with it from atari in the last ``--chase`` moves (a ladder or
  a net it ran into);
* ``self-atari``: the engine's move put it in atari.

A string with two liberties after the engine's move cannot be captured by one reply, so these
are all the ways. Stones that die without being captured are counted apart: ``dead at the end``
are the engine's stones that GNU Go's ``final_status_list dead`` names on the final position (a
group that lost a fight or never lived). ``missed captures``: the opponent's strings of that
size in atari on the engine's turn that it let escape.

    python scripts/atari_losses.py runs/raw_vs_gnugo_L10_s21 --engine gopolicy

Rule mode (``--rule-check ARCHIVE``): in the positions of human games where the player to move
has a string of that size in atari that a move can save, how often the human saved it, how
often the network's choice (``--model``, greedy, the engine's rule) saved it, and how often
each of the network and the rule "play the network's most probable saving move unless it
already saves" chose the human's move:

    python scripts/atari_losses.py --rule-check data/sample/tygem-sample.tar.gz --games 100
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from game_swings import GnuGo  # noqa: E402

from gopolicy.errors import RecordError  # noqa: E402
from gopolicy.go.coords import BLACK, WHITE, from_gtp, neighbours, opponent  # noqa: E402
from gopolicy.go.rules import Board  # noqa: E402
from gopolicy.sgf.archives import iter_sgf  # noqa: E402
from gopolicy.sgf.records import GameRecord, read_game, replay  # noqa: E402

CAUSES = ("ignored", "doomed", "trade", "chased", "self-atari")


def _points_of(board: Board, colour: int) -> list[int]:
    stones = np.zeros(board.size * board.size, np.int8)
    board.stones(stones)
    return [int(p) for p in np.flatnonzero(stones == colour)]


def _strings(board: Board, colour: int, min_stones: int) -> list[frozenset[int]]:
    """``colour``'s strings of at least ``min_stones`` stones."""
    found, seen = [], set()
    for point in _points_of(board, colour):
        if point not in seen:
            string = frozenset(board.string(point))
            seen |= string
            if len(string) >= min_stones:
                found.append(string)
    return found


def strings_in_atari(board: Board, colour: int, min_stones: int) -> list[frozenset[int]]:
    """``colour``'s strings of at least ``min_stones`` stones with one liberty."""
    return [s for s in _strings(board, colour, min_stones) if board.liberties(next(iter(s))) == 1]


def saving_moves(board: Board, colour: int, string: frozenset[int]) -> set[int]:
    """The moves of ``colour`` after which ``string`` (in atari) has three or more liberties,
    or two and the move is a working ladder escape."""
    point, saving = next(iter(string)), set()
    for move in range(board.size * board.size):
        if board.colour_at(move) != 0:
            continue
        trial = board.copy()
        if trial.play(colour, move) < 0 or trial.colour_at(point) != colour:
            continue
        liberties = trial.liberties(point)
        if liberties >= 3 or liberties == 2 and board.ladder_escape(colour, move):
            saving.add(move)
    return saving


def classify(record: GameRecord, colour: int, min_stones: int, chase: int) -> tuple[Counter, Counter, int]:
    """(captured strings by cause, stones by cause, missed captures) for ``colour`` in ``record``."""
    strings, stones = Counter(), Counter()
    missed = 0
    ran_at: dict[int, int] = {}  # a move that extended a string in atari -> its move number
    engine_turn = None  # (board before the engine's move, its move, stones it captured, board after)
    for number, (game, mover, move) in enumerate(replay(record), start=1):
        if mover == colour:
            before, after = game.board.copy(), game.board.copy()
            captured = after.play(colour, move) if move is not None else 0
            if move is not None and any(set(neighbours(move, record.size)) & s
                                        for s in strings_in_atari(before, colour, min_stones)):
                ran_at[move] = number
            engine_turn = (before, move, captured, after)
            continue
        if engine_turn is None or move is None:
            continue
        before, own_move, own_captures, after = engine_turn
        reply = after.copy()
        reply.play(mover, move)
        missed += sum(1 for s in strings_in_atari(before, opponent(colour), min_stones)
                      if after.colour_at(next(iter(s))) and reply.colour_at(next(iter(s)))
                      and reply.liberties(next(iter(s))) > 1)
        for string in _strings(after, colour, min_stones):
            point = next(iter(string))
            if reply.colour_at(point) == colour:
                continue
            ran = max((ran_at.get(p, 0) for p in string), default=0)
            if ran and ran >= number - chase:
                cause = "chased"
            elif before.colour_at(point) != colour or before.liberties(point) > 1:
                cause = "self-atari"
            elif own_captures >= len(string):
                cause = "trade"
            else:
                in_atari = frozenset(before.string(point))
                cause = "ignored" if saving_moves(before, colour, in_atari) else "doomed"
            strings[cause] += 1
            stones[cause] += len(string)
    return strings, stones, missed


def dead_at_end(path: Path, record: GameRecord, colour: int, gnugo: GnuGo) -> int:
    """How many of ``colour``'s stones GNU Go calls dead on the final position of ``path``."""
    final = None
    for game, _, _ in replay(record):
        final = game
    if final is None:
        return 0
    board = final.board.copy()
    board.play(*record.moves[-1])
    gnugo.ask(f"loadsgf {path.resolve()}")
    return sum(1 for vertex in gnugo.ask("final_status_list dead").split()
               if board.colour_at(from_gtp(vertex, record.size)) == colour)


def match_report(folders: list[Path], engine: str, min_stones: int, chase: int) -> None:
    files = sorted(p for folder in folders for p in folder.glob("*.sgf"))
    if not files:
        sys.exit(f"atari_losses: {' '.join(map(str, folders))}: no SGF files")
    gnugo = GnuGo()
    total_strings, total_stones, total_missed, total_dead, games = Counter(), Counter(), 0, 0, 0
    print("| game | engine | result | " + " | ".join(CAUSES) + " | dead at the end | missed captures |\n|---|---|---|"
          + "---:|" * (len(CAUSES) + 2))
    for path in files:
        try:
            record = read_game(path.read_bytes(), str(path))
            colour = next((c for c, name in ((BLACK, record.black_name), (WHITE, record.white_name))
                           if engine in name), None)
            if colour is None:
                raise ValueError(f"{path}: no player named like {engine!r}")
            strings, stones, missed = classify(record, colour, min_stones, chase)
            dead = dead_at_end(path, record, colour, gnugo)
        except (RecordError, ValueError, RuntimeError, OSError) as error:
            print(f"atari_losses: {error}", file=sys.stderr)
            continue
        games += 1
        total_strings += strings
        total_stones += stones
        total_missed += missed
        total_dead += dead
        cells = " | ".join(f"{strings[c]} ({stones[c]})" if strings[c] else "0" for c in CAUSES)
        print(f"| {path.parent.name}/{path.name} | {'B' if colour == BLACK else 'W'} | {record.result} | {cells} | "
              f"{dead} | {missed} |")
    cells = " | ".join(f"{total_strings[c]} ({total_stones[c]})" for c in CAUSES)
    print(f"| **{games} games** | | | {cells} | {total_dead} | {total_missed} |")
    print("strings (stones) of the engine captured, by cause; dead at the end: its stones GNU Go calls dead; "
          "missed: the opponent's strings in atari that escaped")


def rule_check(archive: Path, model: Path, games: int, min_stones: int) -> None:
    import torch

    from gopolicy.nn.modelfile import load_model
    from gopolicy.play.candidates import choose, greedy
    from gopolicy.play.player import EnginePlayer

    torch.set_num_threads(1)
    player = EnginePlayer(*load_model(model))
    counts, read = Counter(), 0
    for source, data in iter_sgf([archive]):
        if read == games:
            break
        try:
            record = read_game(data, source, size=19)
            read += 1
            for game, colour, move in replay(record):
                saving = set().union(*(saving_moves(game.board, colour, s)
                                       for s in strings_in_atari(game.board, colour, min_stones)))
                if move is None or not saving:
                    continue
                probs = player.policy(game, colour)
                choice = choose(game, colour, probs, greedy)
                rule = choice if choice in saving else max(saving, key=lambda m: probs[m])
                counts.update(positions=1, human_saves=move in saving, network_saves=choice in saving,
                              network_is_human=choice == move, rule_is_human=rule == move)
        except RecordError as error:
            print(f"atari_losses: {error}", file=sys.stderr)
    n = max(counts["positions"], 1)
    print(f"{read} games, {counts['positions']} positions with a savable string of {min_stones}+ in atari: "
          f"the human saved it in {counts['human_saves'] / n:.1%}, the network in {counts['network_saves'] / n:.1%}; "
          f"the human's move chosen by the network in {counts['network_is_human'] / n:.1%}, "
          f"by the rule 'always save' in {counts['rule_is_human'] / n:.1%}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", type=Path, nargs="*", help="match --out folders of SGF files")
    parser.add_argument("--engine", help="the engine's name as the SGFs' PB/PW hold it")
    parser.add_argument("--min-stones", type=int, default=3, help="strings of at least this many stones (3)")
    parser.add_argument("--chase", type=int, default=12, help="a capture this soon after running from atari is 'chased' (12)")
    parser.add_argument("--rule-check", type=Path, metavar="ARCHIVE", help="human games to check the rule on")
    parser.add_argument("--model", type=Path, default=Path("data/models/default.pt"), help="rule check: the policy")
    parser.add_argument("--games", type=int, default=100, help="rule check: games to read (100)")
    args = parser.parse_args(argv)
    if args.min_stones < 1 or args.chase < 1 or args.games < 1:
        parser.error("--min-stones, --chase and --games must be >= 1")
    if args.rule_check is not None:
        rule_check(args.rule_check, args.model, args.games, args.min_stones)
    elif not args.folders or not args.engine:
        parser.error("give match folders and --engine, or --rule-check ARCHIVE")
    else:
        match_report(args.folders, args.engine, args.min_stones, args.chase)
    return 0


if __name__ == "__main__":
    sys.exit(main())
