"""Batched play: results and recorded decisions checked against an independent replay, and the
one candidate rule shared with the GTP engine's player."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gopolicy.features import encode
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.go.rules import Game
from gopolicy.nn.board_size import resize_network
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.play.candidates import candidates, choose, greedy, sampler, throws_stones_away
from gopolicy.play.selfplay import BatchPlayer, RandomPlayer, alternating_seats, play_games

torch.set_num_threads(1)


def tiny_player(seed: int = 0, feature_set: str = "alphago48", temperature: float = 1.0) -> BatchPlayer:
    torch.manual_seed(seed)
    planes = {"alphago48": 48, "alphago4": 4}[feature_set]
    net = PolicyNetwork(planes=planes, filters=8, layers=3, board_size=9)
    with torch.no_grad():
        net.point_bias.bias.normal_()
    return BatchPlayer(net, feature_set, temperature, name=f"net{seed}", precision="fp32")


def position(diagram: str) -> Game:
    """A 5x5 game from a diagram, top row first: X black, O white."""
    rows = diagram.split()
    game = Game(len(rows))
    for i, row in enumerate(rows):
        for col, mark in enumerate(row):
            if mark in "XO":
                game.setup(**{"black" if mark == "X" else "white": [(len(rows) - 1 - i) * len(rows) + col]})
    return game


def test_candidates_exclude_own_true_eyes_with_or_without_planes():
    game = Game(5)
    for black, white in zip((1, 5, 7, 11), (24, 23, 22, 21)):  # black around B2 (flat 6): black's eye
        game.play(BLACK, black)
        game.play(WHITE, white)
    from_board = candidates(game, BLACK)
    from_planes = candidates(game, BLACK, encode(game, BLACK, "alphago48"))
    assert np.array_equal(from_board, from_planes)
    assert game.legal_mask(BLACK)[6] and not from_board[6]
    assert candidates(game, WHITE)[6] == game.legal_mask(WHITE)[6]


def test_candidates_exclude_repetitions_the_rules_allow():
    game = position("""
        .....
        .XO..
        XO.O.
        .XO..
        .....
    """)
    game.play(BLACK, from_gtp("C3", 5))  # takes the ko; passes clear it
    game.play(WHITE, None)
    game.play(BLACK, None)
    retake = from_gtp("B3", 5)
    assert game.is_legal(WHITE, retake) and not candidates(game, WHITE)[retake]
    assert not candidates(game, WHITE, encode(game, WHITE, "alphago48"))[retake], "planes or not"


def test_pickers_only_pick_weighted_entries_and_choose_passes_when_nothing_is_left():
    pick = sampler(np.random.default_rng(0))
    weights = np.array([0, 0.5, 0, 0.5])
    assert {pick(weights) for _ in range(200)} == {1, 3}
    assert greedy(np.array([0.1, 0.7, 0.2])) == 1
    assert choose(Game(2), BLACK, np.zeros(4), greedy) is None


def test_the_batch_player_and_the_engine_player_share_the_rule(make_player):
    """A network that wants to throw a group away (B1): neither player does."""
    game = position("""
        .....
        .....
        OOOO.
        XXXO.
        ..XO.
    """)
    engine = make_player(favour=("B1", 5))
    batch = BatchPlayer(resize_network(engine.model, 5), "alphago48", temperature=0, precision="fp32")
    (move,), _, masks = batch.choose([game], [BLACK], np.random.default_rng(0))
    assert throws_stones_away(game.board, BLACK, from_gtp("B1", 5))
    assert np.array_equal(masks[0], engine.candidates(game, BLACK))
    assert move not in (None, from_gtp("A1", 5), from_gtp("B1", 5))
    assert move == engine.genmove(game, BLACK)


def test_batched_games_replay_to_the_same_results_and_record_the_right_positions():
    a, b = tiny_player(0), tiny_player(1, "alphago4")
    seats = alternating_seats(a, b, 6) + [(RandomPlayer(), a)]
    games = play_games(seats, size=9, komi=5.5, rng=np.random.default_rng(5), record=[a])
    assert [(g.black, g.white) for g in games[:3]] == [("net0", "net1"), ("net1", "net0"), ("net0", "net1")]
    for played in games:
        replay = Game(9, 5.5)
        planes, decision = played.planes(), 0
        for colour, move in played.moves:
            assert colour == replay.to_move
            if move is None:
                assert played.stopped or all(throws_stones_away(replay.board, colour, int(p))
                                             for p in np.flatnonzero(candidates(replay, colour)))
            else:
                assert candidates(replay, colour)[move] and not throws_stones_away(replay.board, colour, move)
            player_name = played.black if colour == BLACK else played.white
            if player_name == "net0" and move is not None:
                assert np.array_equal(planes[decision], encode(replay, colour, "alphago48"))
                assert np.array_equal(played.masks[decision], candidates(replay, colour))
                assert played.actions[decision] == move and played.colours[decision] == colour
                decision += 1
            replay.play(colour, move)
        assert decision == len(played.actions)  # net0's decisions only, all of them
        assert played.score == replay.score() and played.stopped == (not replay.is_over)
        assert played.outcome(BLACK) == np.sign(replay.score()) == -played.outcome(WHITE)
    assert sum(len(g.actions) for g in games) > 100
    assert games[0].plane_count == 48 and games[0].packed_planes.shape[1] == (48 * 81 + 7) // 8


def test_same_seed_same_games_and_greedy_play_is_deterministic():
    a = tiny_player(0)

    def run(seed):
        return [g.moves for g in play_games([(a, a)] * 2, size=9, rng=np.random.default_rng(seed))]

    assert run(1) == run(1) != run(2)
    greedy_player = tiny_player(0, temperature=0)
    one = play_games([(greedy_player, greedy_player)], size=9, rng=np.random.default_rng(1))[0]
    other = play_games([(greedy_player, greedy_player)], size=9, rng=np.random.default_rng(2))[0]
    assert one.moves == other.moves


def test_move_cap_stops_and_scores_the_game():
    player = RandomPlayer()
    played = play_games([(player, player)], size=9, max_moves=10, rng=np.random.default_rng(0))[0]
    assert played.stopped and len(played.moves) == 10 and played.winner in (BLACK, WHITE)
    with pytest.raises(ValueError, match="temperature"):
        tiny_player(temperature=-1)
