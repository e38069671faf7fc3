"""NetworkEvaluator: priors over the shared candidates plus a pass, values in range, one batch."""
import numpy as np
import pytest
import torch

from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.go.rules import Game
from gopolicy.go.symmetry import transform_indices, untransform
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.nn.value import ValueNetwork
from gopolicy.play.candidates import candidates
from gopolicy.play.evaluator import PASS_PRIOR, NetworkEvaluator
from gopolicy.play.search import Search


@pytest.fixture(scope="module")
def evaluator():
    torch.manual_seed(0)
    policy = PolicyNetwork(planes=48, filters=8, layers=3, board_size=19)
    value = ValueNetwork(planes=49, filters=8, layers=3, board_size=19, hidden=16)
    return NetworkEvaluator(policy, "alphago48", value, "alphago49")


def opening() -> Game:
    game = Game(19, 7.5)
    for colour, vertex in ((BLACK, "D4"), (WHITE, "Q16"), (BLACK, "D16")):
        game.play(colour, from_gtp(vertex, 19))
    return game


def test_priors_cover_the_candidates_and_a_pass(evaluator):
    games = [Game(19, 7.5), opening()]
    priors, values = evaluator.evaluate(games)
    assert priors.shape == (2, 362) and values.shape == (2,)
    assert np.allclose(priors.sum(axis=1), 1.0)
    assert (np.abs(values) <= 1).all()
    for game, prior in zip(games, priors):
        allowed = candidates(game, game.to_move)
        assert (prior[:-1][~allowed] == 0).all() and (prior[:-1][allowed] > 0).all()
        assert prior[-1] == pytest.approx(PASS_PRIOR)


def test_with_no_candidate_only_a_pass_remains(evaluator):
    game = Game(19, 7.5)
    everything_but_eyes = [p for p in range(361) if p % 19 % 2 == 0 or p // 19 % 2 == 0]  # single-point eyes elsewhere
    game.setup(black=everything_but_eyes)
    priors, _ = evaluator.evaluate([game])
    assert priors[0, -1] == 1.0 and priors[0, :-1].sum() == 0


def test_other_sizes_are_refused(evaluator):
    with pytest.raises(ValueError, match="19x19"):
        evaluator.evaluate([Game(9, 7.5)])


def test_mismatched_networks_are_refused():
    policy = PolicyNetwork(planes=48, filters=4, layers=3, board_size=19)
    with pytest.raises(ValueError, match="9x9"):
        NetworkEvaluator(policy, "alphago48", ValueNetwork(planes=49, filters=4, layers=3, board_size=9), "alphago49")
    with pytest.raises(ValueError, match="planes"):
        NetworkEvaluator(policy, "alphago48", ValueNetwork(planes=48, filters=4, layers=3), "alphago49")


class FixedTurns:
    """Stands in for the evaluator's random generator: always the same symmetry."""

    def __init__(self, symmetry: int):
        self.symmetry = symmetry

    def integers(self, high: int, size: int) -> np.ndarray:
        return np.full(size, self.symmetry)


def test_under_a_symmetry_the_networks_see_the_turned_board_and_their_policy_is_turned_back(evaluator):
    moves = ((BLACK, "D4"), (WHITE, "Q16"), (BLACK, "C16"), (WHITE, "R5"))
    symmetric = NetworkEvaluator(evaluator.policy, "alphago48", evaluator.value, "alphago49", symmetries=True)
    for symmetry in (1, 6):
        symmetric._rng = FixedTurns(symmetry)
        game, turned = Game(19, 7.5), Game(19, 7.5)
        for colour, vertex in moves:
            point = from_gtp(vertex, 19)
            game.play(colour, point)
            turned.play(colour, int(transform_indices(torch.tensor([point]), symmetry, 19)))
        priors, values = symmetric.evaluate([game])
        turned_priors, turned_values = evaluator.evaluate([turned])
        back = untransform(turned_priors[0, :-1].reshape(19, 19), symmetry).reshape(-1)
        assert np.allclose(priors[0, :-1], back, atol=1e-6) and priors[0, -1] == turned_priors[0, -1]
        assert values == pytest.approx(turned_values, abs=1e-6)
        assert not np.allclose(priors, evaluator.evaluate([game])[0], atol=1e-4)  # the network is not symmetric


def test_search_runs_on_the_networks(evaluator):
    game = opening()
    result = Search(evaluator, batch_size=4).run(game, playouts=16)
    assert result.playouts == 16 and result.visits == 16
    assert result.move is None or candidates(game, game.to_move)[result.move]


def test_values_from_the_ownership_head_count_the_expected_area_with_komi():
    """value_from "score": tanh((the head's area margin for the mover + komi's share) / SCORE_SCALE),
    so the same board is worth more to White than its margin alone says; "mean" averages it with
    the value head; a network without the head is refused."""
    from gopolicy.play.evaluator import SCORE_SCALE

    torch.manual_seed(0)
    policy = PolicyNetwork(planes=48, filters=8, layers=3, board_size=19)
    value = ValueNetwork(planes=49, filters=8, layers=3, board_size=19, hidden=16, ownership=True).eval()
    with torch.no_grad():
        value.ownership_conv.weight.zero_()
        value.ownership_conv.bias.fill_(0.05)  # every point a little the mover's: a margin of 361 tanh(0.05)
    black, white = Game(19, 7.5), opening()
    assert black.to_move == BLACK and white.to_move == WHITE
    margin = 361 * np.tanh(0.05)
    heads = NetworkEvaluator(policy, "alphago48", value, "alphago49").evaluate([black, white])[1]
    scored = NetworkEvaluator(policy, "alphago48", value, "alphago49", value_from="score").evaluate([black, white])[1]
    mean = NetworkEvaluator(policy, "alphago48", value, "alphago49", value_from="mean").evaluate([black, white])[1]
    expected = np.tanh((margin + np.array([-7.5, 7.5])) / SCORE_SCALE)
    assert np.allclose(scored, expected, atol=0.01) and scored[1] > scored[0]
    assert np.allclose(mean, (heads + scored) / 2, atol=0.01)
    with pytest.raises(ValueError, match="ownership head"):
        NetworkEvaluator(policy, "alphago48", ValueNetwork(planes=49, filters=8, layers=3), "alphago49", value_from="score")
    with pytest.raises(ValueError, match="value_from"):
        NetworkEvaluator(policy, "alphago48", value, "alphago49", value_from="playouts")
