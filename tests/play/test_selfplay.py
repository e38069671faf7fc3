"""Batched play: results and recorded decisions checked against an independent replay."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gopolicy.go.coords import BLACK, WHITE
from gopolicy.features import encode
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.go.rules import Game
from gopolicy.play.selfplay import (PolicyPlayer, RandomPlayer, alternating_seats, play_games, sample_rows,
                               sensible_mask)

torch.set_num_threads(1)


def tiny_player(seed: int = 0, feature_set: str = "alphago48", temperature: float = 1.0) -> PolicyPlayer:
    torch.manual_seed(seed)
    planes = {"alphago48": 48, "alphago4": 4}[feature_set]
    net = PolicyNetwork(planes=planes, filters=8, layers=3, board_size=9)
    with torch.no_grad():
        net.point_bias.bias.normal_()
    return PolicyPlayer(net, feature_set, temperature, name=f"net{seed}")


def test_sensible_mask_excludes_own_true_eyes_with_or_without_planes():
    game = Game(5)
    for black, white in zip((1, 5, 7, 11), (24, 23, 22, 21)):  # black around B2 (flat 6): black's eye
        game.play(BLACK, black)
        game.play(WHITE, white)
    from_board = sensible_mask(game, BLACK)
    from_planes = sensible_mask(game, BLACK, encode(game, BLACK, "alphago48"))
    assert np.array_equal(from_board, from_planes)
    assert game.legal_mask(BLACK)[6] and not from_board[6]
    assert sensible_mask(game, WHITE)[6] == game.legal_mask(WHITE)[6]


def test_sample_rows_only_picks_weighted_entries():
    rng = np.random.default_rng(0)
    probs = np.array([[0, 0.5, 0, 0.5], [0, 0, 0, 0], [0, 0, 1, 0]], np.float32)
    picks = [sample_rows(probs, rng) for _ in range(200)]
    assert {p[0] for p in picks} == {1, 3} and all(p[1] is None and p[2] == 2 for p in picks)


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
                assert not sensible_mask(replay, colour).any() or played.stopped
            player_name = played.black if colour == BLACK else played.white
            if player_name == "net0" and move is not None:
                assert np.array_equal(planes[decision], encode(replay, colour, "alphago48"))
                assert np.array_equal(played.masks[decision], sensible_mask(replay, colour))
                assert played.actions[decision] == move and played.colours[decision] == colour
                decision += 1
            replay.play(colour, move)
        assert decision == len(played.actions)  # net0's decisions only, all of them
        assert played.score == replay.score() and played.stopped == (not replay.is_over)
        assert played.stopped or replay.is_over
        assert played.outcome(BLACK) == np.sign(replay.score()) == -played.outcome(WHITE)
    assert sum(len(g.actions) for g in games) > 100


def test_same_seed_same_games_and_greedy_play_is_deterministic():
    a = tiny_player(0)
    run = lambda seed: [g.moves for g in play_games([(a, a)] * 2, size=9, rng=np.random.default_rng(seed))]
    assert run(1) == run(1) != run(2)
    greedy = tiny_player(0, temperature=0)
    one = play_games([(greedy, greedy)], size=9, rng=np.random.default_rng(1))[0]
    other = play_games([(greedy, greedy)], size=9, rng=np.random.default_rng(2))[0]
    assert one.moves == other.moves


def test_move_cap_stops_and_scores_the_game():
    player = RandomPlayer()
    played = play_games([(player, player)], size=9, max_moves=10, rng=np.random.default_rng(0))[0]
    assert played.stopped and len(played.moves) == 10 and played.winner in (BLACK, WHITE)
    with pytest.raises(ValueError, match="temperature"):
        tiny_player(temperature=-1)
