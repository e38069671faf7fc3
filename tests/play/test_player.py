"""EnginePlayer: the moves it never plays, greedy and sampled choice, symmetry averaging,
passing, resigning, clean-up, the bias mapping that lets a 19x19 network play 2..25, and the
search with a value network (its move, its limits, resigning, passing, the kept tree)."""
import numpy as np
import pytest
import torch

from gopolicy.go import symmetry
from gopolicy.go.coords import BLACK, WHITE, from_gtp, opponent
from gopolicy.go.rules import Game
from gopolicy.nn.board_size import bias_lines, resize_network
from gopolicy.nn.modelfile import ModelInfo
from gopolicy.play.candidates import throws_stones_away
from gopolicy.play.player import RESIGN, EnginePlayer


@pytest.fixture(scope="module")
def player(make_player) -> EnginePlayer:
    return make_player()


def v(vertex: str, game: Game) -> int:
    return from_gtp(vertex, game.size)


# -- bias mapping --------------------------------------------------------------------------


def test_bias_lines_follow_the_distance_from_the_nearer_edge():
    assert list(bias_lines(19)) == list(range(19))
    assert list(bias_lines(9)) == [0, 1, 2, 3, 4, 15, 16, 17, 18]
    for n in range(2, 20):  # the rule as stated: r if r < n/2 else 18 - (n - 1 - r)
        assert list(bias_lines(n)) == [r if r < n / 2 else 18 - (n - 1 - r) for r in range(n)]
    big = bias_lines(25)
    assert list(big[:10]) == list(range(10)) and list(big[-10:]) == list(range(9, 19))
    assert set(big[9:16]) <= {9}, "beyond the trained board's centre line: the centre line"
    for n in (2, 9, 13, 25):  # mirrored lines take mirrored lines (an odd board's centre line: the lower)
        lines = bias_lines(n)
        assert all(lines[n - 1 - r] == 18 - lines[r] for r in range(n) if 2 * r != n - 1)


@pytest.mark.parametrize("size", [9, 13, 25])
def test_resized_network_maps_the_bias_and_shares_the_convolutions(size, tiny_model):
    model, _ = tiny_model()
    with torch.no_grad():
        model.point_bias.bias.copy_(torch.arange(361.0).reshape(1, 19, 19))
    resized = resize_network(model, size)
    lines = bias_lines(size)
    expected = torch.tensor([[19.0 * lines[r] + lines[c] for c in range(size)] for r in range(size)])
    assert torch.equal(resized.point_bias.bias[0], expected)
    assert resized.conv1.weight.data_ptr() == model.conv1.weight.data_ptr()
    assert resized(torch.zeros(1, 48, size, size)).shape == (1, size * size)
    assert resize_network(model, 19) is model


@pytest.mark.parametrize("size", [2, 5, 9, 13, 25])
def test_genmove_plays_on_every_board_size(player, size):
    game = Game(size)
    move = player.genmove(game, BLACK)
    assert move is not None and 0 <= move < size * size
    game.play(BLACK, move)
    assert player.genmove(game, WHITE) != move


# -- moves it never plays ---------------------------------------------------------------


def test_candidates_exclude_occupied_suicide_and_own_true_eyes(player, position):
    game = position("""
        . X . . .
        X X . . .
        . . . . .
        . . . O O
        . . . O .
    """)
    black, white = player.candidates(game, BLACK), player.candidates(game, WHITE)
    assert not black[v("A5", game)], "black's own true eye"
    assert not white[v("A5", game)], "suicide for white"
    assert not white[v("E1", game)], "white's own true eye"
    assert not black[v("E1", game)], "suicide for black"
    assert not black[v("B5", game)] and not black[v("D2", game)], "occupied"
    assert black[v("C3", game)] and white[v("C3", game)]
    assert black.sum() == 25 - 6 - 2


def test_false_eyes_are_not_eyes(player, position):
    game = position("""
        . X O . .
        X O . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert player.candidates(game, BLACK)[v("A5", game)], "a corner with its diagonal white's: a false eye"


def test_simple_ko_recapture_is_masked(player, position):
    game = position("""
        . . . . .
        . X O . .
        X O . O .
        . X O . .
        . . . . .
    """)
    game.play(BLACK, v("C3", game))  # captures B3
    assert not player.candidates(game, WHITE)[v("B3", game)]
    assert player.candidates(game, WHITE)[v("E5", game)]


def test_positional_superko_is_masked_even_where_the_rules_allow_the_repetition(player, make_player, position):
    game = position("""
        . . . . .
        . X O . .
        X O . O .
        . X O . .
        . . . . .
    """, komi=-30.0)  # White far behind on the count: after Black's pass it plays on rather than passing
    game.play(BLACK, v("C3", game))  # takes the ko
    game.play(WHITE, None)  # passes clear the ko...
    game.play(BLACK, None)
    assert not game.superko and game.is_legal(WHITE, v("B3", game)), "...so the rules allow retaking it"
    assert not player.candidates(game, WHITE)[v("B3", game)], "but it repeats the position before C3"
    eager = make_player(favour=("B3", 5))
    move = eager.genmove(game, WHITE)
    assert move is not None and move != v("B3", game)


def test_genmove_never_fills_its_own_eye_even_when_the_network_wants_to(make_player, position):
    game = position("""
        . X . . .
        X X . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    eager = make_player(favour=("A5", 5))
    assert eager.network(5).point_bias.bias[0].argmax() == v("A5", game)
    move = eager.genmove(game, BLACK)
    assert move is not None and move != v("A5", game)


def test_genmove_does_not_throw_a_group_away(make_player, position):
    game = position("""
        . . . . .
        . . . . .
        O O O O .
        X X X O .
        . . X O .
    """)  # black's four stones have two liberties, A1 and B1
    assert throws_stones_away(game.board, BLACK, v("B1", game))
    assert throws_stones_away(game.board, BLACK, v("A1", game))
    assert not throws_stones_away(game.board, BLACK, v("E3", game))
    assert not throws_stones_away(game.board, WHITE, v("B1", game)), "a single stone: a throw-in"
    eager = make_player(favour=("B1", 5))
    move = eager.genmove(game, BLACK)
    assert move not in (None, v("A1", game), v("B1", game))


def test_throwing_stones_away_counts_captures_and_suicide(position):
    game = position("""
        . O X . .
        O X . . .
        X . . . .
        . . . . .
        . . . . .
    """)
    assert not throws_stones_away(game.board, BLACK, v("A5", game)), "captures A4 and B5"
    suicide = position("""
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert throws_stones_away(suicide.board, WHITE, v("A5", suicide), allow_suicide=True)


# -- choosing -----------------------------------------------------------------------------


def test_greedy_plays_the_most_probable_candidate(player, position):
    game = position("""
        . . . . . . . . .
        . . . . . . . . .
        . . X . . . O . .
        . . . . . . . . .
        . . . . X . . . .
        . . . . . . . . .
        . . O . . . X . .
        . . . . . . . . .
        . . . . . . . . .
    """)
    probs = player.policy(game, WHITE)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert not probs[~player.candidates(game, WHITE)].any()
    assert player.genmove(game, WHITE) == int(np.argmax(probs))
    assert len({player.genmove(game, WHITE) for _ in range(5)}) == 1


def test_temperature_samples_in_proportion_and_a_tiny_one_is_greedy(make_player):
    game = Game(9)
    warm = make_player(temperature=1.0, seed=1)
    probs = warm.policy(game, BLACK)
    draws = np.bincount([warm.genmove(game, BLACK) for _ in range(400)], minlength=81)
    assert (draws > 0).sum() > 20, "a near-uniform policy sampled 400 times hits many points"
    assert not draws[probs == 0].any()
    cold = make_player(temperature=1e-4, seed=1)
    assert {cold.genmove(game, BLACK) for _ in range(20)} == {int(np.argmax(probs))}
    with pytest.raises(ValueError):
        make_player(temperature=-1.0)


def test_sample_moves_samples_the_opening_only(make_player):
    """The first N moves of a game are sampled at temperature 1, the rest greedy."""
    player = make_player(sample_moves=2, seed=3)
    game = Game(9)
    assert len({player.genmove(game, BLACK) for _ in range(40)}) > 5
    game.play(BLACK, 40)
    game.play(WHITE, 30)
    later = player.policy(game, BLACK)
    assert {player.genmove(game, BLACK) for _ in range(10)} == {int(np.argmax(later))}
    with pytest.raises(ValueError, match="sample_moves"):
        make_player(sample_moves=-1)


def test_the_same_seed_samples_the_same_moves(make_player):
    game = Game(9)
    first, second = make_player(temperature=1.0, seed=7), make_player(temperature=1.0, seed=7)
    assert [first.genmove(game, BLACK) for _ in range(30)] == [second.genmove(game, BLACK) for _ in range(30)]


def test_symmetry_averaging_is_equivariant(make_player):
    black, white = ["C3", "D5", "G7", "E2"], ["F4", "C7", "B2"]
    plain, averaged = make_player(model_seed=3), make_player(model_seed=3, symmetries=True)
    results = {}
    for s in symmetry.SYMMETRIES:
        perm = symmetry.flat_permutation(symmetry.inverse(s), 9).numpy()  # where each point goes
        game = Game(9)
        game.setup(black=[int(perm[from_gtp(x, 9)]) for x in black], white=[int(perm[from_gtp(x, 9)]) for x in white])
        results[s] = (perm, plain.policy(game, BLACK), averaged.policy(game, BLACK))
    perm0, plain0, averaged0 = results[0]
    for perm, _, averaged_s in results.values():
        np.testing.assert_allclose(averaged_s[perm], averaged0, atol=1e-6)
    assert any(np.abs(plain_s[perm] - plain0).max() > 1e-4 for perm, plain_s, _ in results.values()), \
        "a single random network is not symmetric by itself"


# -- passing, resigning, clean-up ---------------------------------------------------------


def test_passes_when_no_candidate_is_left(player, position):
    game = position("""
        . X . X .
        X X X X X
        X X . X X
        X X X X X
        . X . X .
    """)
    assert not player.candidates(game, BLACK).any()
    assert player.genmove(game, BLACK) is None
    assert player.genmove(game, WHITE) is None, "every empty point is suicide for white"


def test_passes_after_the_opponent_passed_only_when_ahead(player, position):
    game = position("""
        . . X O .
        . . X O .
        . . X O .
        . . X O .
        . . X O .
    """, komi=0.5)  # black area 15, white 10
    game.play(WHITE, None)
    assert player.genmove(game, BLACK) is None
    game.undo()
    game.play(BLACK, None)
    assert player.genmove(game, WHITE) is not None, "white is behind: it plays on"
    game.komi = 7.5
    assert player.genmove(game, WHITE) is None, "with komi white leads"


def test_after_two_passes_genmove_still_answers_sensibly(player):
    game = Game(9)
    game.play(BLACK, None)
    game.play(WHITE, None)
    assert game.is_over
    move = player.genmove(game, BLACK)  # white passed, but black trails by the komi: it plays on
    assert move is not None
    assert move is None or player.candidates(game, BLACK)[move]


def test_cleanup_captures_dead_stones_instead_of_passing(make_player, position):
    game = position("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . . . . . .
        . . . . . . .
        X X X X X X X
        . . . . . . .
    """, komi=0.5)
    dead = v("D5", game)
    game.play(WHITE, None)
    player = make_player()
    assert game.score() > 0 and player.genmove(game, BLACK) is None, "black leads: a plain genmove passes"
    cleanup = player.genmove(game, BLACK, cleanup=True)
    assert cleanup in {dead + 1, dead - 1, dead + 7, dead - 7}, "clean-up attacks the dead stone"
    for _ in range(4):  # black keeps at it while white passes, until the stone is captured
        game.play(BLACK, player.genmove(game, BLACK, cleanup=True))
        game.play(WHITE, None)
    assert game.board.colour_at(dead) == 0
    assert player.genmove(game, BLACK, cleanup=True) is None, "nothing left to capture"


def test_cleanup_leaves_living_groups_alone(make_player, position):
    game = position("""
        . O . O . . .
        O O O O X . .
        X X X X X . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
    """)
    player = make_player()
    move = player.genmove(game, BLACK, cleanup=True)
    assert move is None, "white's group has two eyes: E7 is only a liberty, not a way to capture it"


def test_resigns_only_when_asked_and_hopeless(make_player, position):
    game = position("""
        O O O O O O O O O
        O O O O O O O O O
        O O O O O O O O O
        O . O . O . O . O
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
    """, komi=7.5)
    hopeless = make_player(resign=True)
    assert hopeless.genmove(game, BLACK) != RESIGN, "too early: fewer moves than half the board's points"
    for _ in range(41):
        game.play(BLACK, None)  # history only: the position stays as it is
    assert hopeless.genmove(game, BLACK) == RESIGN
    assert hopeless.genmove(game, BLACK, allow_resign=False) != RESIGN
    assert hopeless.genmove(game, BLACK, cleanup=True) != RESIGN
    assert make_player().genmove(game, BLACK) != RESIGN
    assert hopeless.genmove(game, WHITE) != RESIGN, "white is winning"


# -- precision --------------------------------------------------------------------------------


def test_bf16_converts_a_copy_and_fp32_keeps_the_model(tiny_model):
    model, info = tiny_model()
    half = EnginePlayer(model, info, precision="bf16")
    assert half.model.conv1.weight.dtype == torch.bfloat16 and model.conv1.weight.dtype == torch.float32
    full = EnginePlayer(model, info, precision="fp32")
    assert full.model is model
    game = Game(19)
    np.testing.assert_allclose(half.policy(game, BLACK), full.policy(game, BLACK), atol=2e-3)


def test_a_network_that_reads_other_planes_than_its_feature_set_is_refused(tiny_model):
    model, info = tiny_model()
    wrong = ModelInfo(info.architecture, "alphago4", {}, 1, "test")
    with pytest.raises(ValueError):
        EnginePlayer(model, wrong)


def test_a_four_plane_network_plays_too(tiny_model):
    model, info = tiny_model(feature_set="alphago4")
    player = EnginePlayer(model, info, precision="fp32")
    assert player.genmove(Game(9), BLACK) is not None


def test_after_a_pass_it_counts_with_the_dead_stones_removed(make_player, position, finished_diagram):
    """Black leads by the count (36 - 36 + 1.5 once White's dead B7 is off) though Tromp-Taylor,
    every stone alive, has it 26.5 behind: it passes instead of playing on."""
    game = position(finished_diagram, komi=-1.5, to_move=WHITE)
    game.play(WHITE, None)
    assert game.score() < 0
    assert make_player(favour=("A1", 9)).genmove(game, BLACK) is None


def test_behind_after_a_pass_it_does_not_play_inside_settled_territory(make_player, position):
    game = position("""
        . X X O .
        . X X O .
        . X X O .
        . X X O .
        . X X O .
    """, to_move=BLACK)
    game.play(BLACK, None)  # White is behind by 5 and every point is settled
    assert make_player(favour=("A1", 5)).genmove(game, WHITE) is None


def test_late_in_a_finished_game_it_passes_first_unless_a_string_is_in_atari(make_player, position, monkeypatch):
    """Once half the board's points have been played (here: the threshold set to 0), a player
    whose candidates all lie in settled territory passes without waiting for the opponent's
    pass; not before that, and not while a string is in atari (Black's E3 below)."""
    from gopolicy.play import player as player_module

    settled = """
        . X X O .
        . X X O .
        . X X O .
        . X X O .
        . X X O .
    """
    player = make_player(favour=("A1", 5))
    monkeypatch.setattr(player_module, "GAME_OVER_AFTER", 0)
    assert player.genmove(position(settled, to_move=WHITE), WHITE) is None
    in_atari = position("""
        . X X O .
        . X X O .
        . X X O X
        . X X O O
        . X X O .
    """, to_move=WHITE)
    assert in_atari.board.liberties(2 * 5 + 4) == 1
    assert player.genmove(in_atari, WHITE) is not None
    monkeypatch.setattr(player_module, "GAME_OVER_AFTER", 1)
    assert player.genmove(position(settled, to_move=WHITE), WHITE) is not None


# -- searching ------------------------------------------------------------------------------------


def _game_positions() -> list[Game]:
    """A few 19x19 positions of a game played by hand."""
    game, positions = Game(19, 7.5), []
    for i, vertex in enumerate(["Q16", "D4", "Q3", "D16", "C14", "R5", "F17", "O4", "K10"]):
        game.play(BLACK if i % 2 == 0 else WHITE, from_gtp(vertex, 19))
        positions.append(game.copy())
    return positions


def test_a_value_network_makes_genmove_search(make_search_player, material_evaluator):
    player = make_search_player(playouts=16, batch_size=4)
    assert player.searches(19) and not player.searches(9), "the value network is for 19x19 only"
    spy = player.search.evaluator = material_evaluator(player.search.evaluator)
    game = _game_positions()[2]
    reports = []
    move = player.genmove(game, game.to_move, report=reports.append)
    assert spy.calls == 1 + 4, "the root, then four batches of four leaves"
    assert reports and reports[-1].visits == 16 and move == reports[-1].move, "the most visited move"
    assert player.genmove(Game(9), BLACK) is not None and spy.calls == 5, "other sizes: the raw policy"


def test_playouts_zero_or_no_value_network_is_exactly_the_raw_policy(make_player, make_search_player):
    raw, zero = make_player(model_seed=2), make_search_player(model_seed=2, playouts=0)
    assert zero.search is None
    for game in _game_positions():
        assert zero.genmove(game, game.to_move) == raw.genmove(game, game.to_move)
        np.testing.assert_array_equal(zero.policy(game, WHITE), raw.policy(game, WHITE))


def test_both_networks_run_in_bf16_when_asked(make_search_player):
    player = make_search_player(precision="bf16")
    evaluator = player.search.evaluator
    assert evaluator.bf16 and evaluator.value.conv1.weight.dtype == torch.bfloat16
    assert evaluator.policy.conv1.weight.dtype == torch.bfloat16
    game = _game_positions()[0]
    assert player.genmove(game, game.to_move) is not None


class ClockedEvaluator:
    """Wraps an evaluator: each batch takes ``per_batch`` seconds of a fake clock."""

    def __init__(self, inner, per_batch: float):
        self.inner, self.size, self.per_batch, self.now, self.calls = inner, inner.size, per_batch, 0.0, 0

    def clock(self) -> float:
        return self.now

    def evaluate(self, games):
        self.now += self.per_batch
        self.calls += 1
        return self.inner.evaluate(games)


def test_one_second_a_move_by_default_and_never_more_than_the_clock(make_search_player):
    player = make_search_player(playouts=None)
    assert player.seconds == 1.0 and player.playouts is None
    fake = player.search.evaluator = ClockedEvaluator(player.search.evaluator, per_batch=0.07)
    player.search.clock = fake.clock
    game = _game_positions()[1]
    for allowed, expected in ((None, 1.0), (5.0, 1.0), (0.3, 0.3)):
        start = fake.now
        player.genmove(game, game.to_move, allowed)
        assert expected - 0.07 <= fake.now - start <= expected, "the time is used, and no more"
    calls = fake.calls
    assert player.genmove(game, game.to_move, 0.01) is not None and fake.calls == calls, "too short: the raw policy"


# Black to play on 9x9: White's four stones B5-F5 are in atari (their last liberty G5);
# White's two stones at H2-H3 are not. (Saving such a group is tested on the search alone,
# in tests/play/test_search.py: a value that counts material sees it only two moves deep.)
CAPTURE_9X9 = """
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . X X X X . . .
. X O O O O . . .
. . X X X X . . .
. . . . . . . O .
. . . . . . . O .
. . . . . . . . .
"""


def test_the_search_captures_what_the_policy_misses_on_9x9(make_search_player, material_evaluator, position):
    game = position(CAPTURE_9X9, komi=7.5, to_move=BLACK)
    player = make_search_player(value_size=9, favour=("A9", 9), favour_logit=2.0, playouts=800, batch_size=4)
    player.search.evaluator = material_evaluator(player.search.evaluator)
    policy = player.policy(game, BLACK)
    assert int(np.argmax(policy)) == v("A9", game) and policy[v("G5", game)] < 0.02, "the raw policy plays A9"
    assert player.genmove(game, BLACK) == v("G5", game)


def _hopeless(position, moves: int) -> Game:
    """Black to play on 9x9 with four white rows on the board, ``moves`` moves into the game."""
    game = position("""
        O O O O O O O O O
        O O O O O O O O O
        O O O O O O O O O
        O . O . O . O . O
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
    """, komi=7.5)
    for i in range(moves - 1):  # history only
        game.play(BLACK if i % 2 == 0 else WHITE, None)
    game.play(WHITE, v("J1", game))
    return game


def test_a_searching_player_resigns_below_its_threshold_only(make_search_player, material_evaluator, position):
    def player(**options):
        searching = make_search_player(value_size=9, **{"playouts": 48, "batch_size": 8, **options})
        searching.search.evaluator = material_evaluator(searching.search.evaluator)
        return searching

    game = _hopeless(position, 22)
    assert player(resign_below=0.1).genmove(game, BLACK) == RESIGN
    assert player(resign_below=0.0).genmove(game, BLACK) != RESIGN, "resigning off"
    assert player(resign_below=0.1).genmove(game, BLACK, allow_resign=False) != RESIGN
    assert player(resign_below=0.1, playouts=16).genmove(game, BLACK) != RESIGN, "too small a search to judge"
    assert player(resign_below=0.1).genmove(_hopeless(position, 10), BLACK) != RESIGN, "too early"
    assert player(resign_below=0.1).genmove(game, WHITE) != RESIGN, "White is winning"


class PassingEvaluator:
    """Priors that all but insist on a pass, values of 0: a search whose best move is a pass."""

    size = 19

    def evaluate(self, games):
        priors = np.full((len(games), 362), 0.02 / 361)
        priors[:, -1] = 0.98
        return priors, np.zeros(len(games))


def test_a_searching_player_passes_when_the_search_says_so(make_search_player):
    player = make_search_player(playouts=32)
    player.search.evaluator = PassingEvaluator()
    game = _game_positions()[4]
    assert player.genmove(game, game.to_move) is None


def test_the_tree_is_kept_between_moves_and_rebuilt_after_an_undo(make_search_player):
    player = make_search_player(playouts=64, batch_size=4)
    game = _game_positions()[2]
    colour = game.to_move
    move = player.genmove(game, colour)
    kept = player.search.root_moves(game)  # the opponent's replies in the subtree kept
    game.play(colour, move)
    reply = max(kept, key=lambda m: m.visits) if kept else None
    assert reply is not None and reply.visits > 1
    game.play(opponent(colour), reply.move)
    assert player.ponder(game, colour).visits == reply.visits - 1, "the reply's subtree is the new root"
    game.undo()
    game.undo()
    game.undo()
    assert player.ponder(game, game.to_move).visits == 0, "another position: a new tree"


def test_a_searching_player_still_captures_dead_stones_in_clean_up(make_search_player, position):
    game = position("""
        . . . . . . .
        . . . . . . .
        . . . O . . .
        . . . . . . .
        . . . . . . .
        X X X X X X X
        . . . . . . .
    """, komi=0.5)
    dead = v("D5", game)
    game.play(WHITE, None)
    player = make_search_player(value_size=7, playouts=16)
    assert player.searches(7) and player.genmove(game, BLACK) is None, "black leads: a plain genmove passes"
    for _ in range(4):  # black attacks the stone while white passes, until it is captured
        move = player.genmove(game, BLACK, cleanup=True)
        assert move is not None
        game.play(BLACK, move)
        game.play(WHITE, None)
    assert game.board.colour_at(dead) == 0
    assert player.genmove(game, BLACK, cleanup=True) is None, "nothing left to capture"
