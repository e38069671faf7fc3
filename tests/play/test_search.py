"""PUCT search on hand-built positions, judged by an exact evaluator: uniform or misleading
priors, and the Tromp-Taylor lead as the value. The search must find the move that a look at
the prior alone misses."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gopolicy.go.coords import BLACK, WHITE, from_gtp, move_to_action
from gopolicy.go.rules import Game
from gopolicy.play.search import Search


class LeadEvaluator:
    """Priors: uniform over legal moves (pass a little), captures much more; ``favour`` (a policy that likes the
    wrong move) gets half of the mass and ``second`` a tenth, at the root only; value: the
    colour to move's lead in stones on the board, squashed to (-1, 1). Records batch sizes;
    ``pass_only`` allows only a pass."""

    def __init__(self, favour: str | None = None, second: str | None = None, pass_only: bool = False):
        self.favour, self.second, self.pass_only = favour, second, pass_only
        self.root_hash = None
        self.batches: list[int] = []

    def evaluate(self, games):
        self.batches.append(len(games))
        priors, values = [], []
        for game in games:
            size = game.size
            prior = np.zeros(size * size + 1)
            legal = game.legal_mask(game.to_move) & (not self.pass_only)
            prior[:-1][legal] = 1.0
            for point in np.flatnonzero(legal):  # a policy that sees captures, as a network does
                if game.copy(undoable=False).play(game.to_move, int(point)):
                    prior[point] = 20.0
            prior[-1] = 0.1
            prior /= prior.sum()
            if self.root_hash is None:
                self.root_hash = game.board.hash
            if self.favour is not None and game.board.hash == self.root_hash:
                prior *= 0.4
                prior[from_gtp(self.favour, size)] += 0.5
                prior[from_gtp(self.second, size)] += 0.1
            priors.append(prior)
            stones = game.stones()
            lead = int((stones == BLACK).sum()) - int((stones == WHITE).sum())  # material: captures count
            values.append(math.tanh((lead if game.to_move == BLACK else -lead) / 10))
        return np.array(priors), np.array(values)


# Black to play captures the four white stones in atari at E3, their last liberty.
CAPTURE = """
. . . . . . .
. . . . . . .
. X X X X . .
X O O O O X .
. X X X . . .
. . . . . . .
. . . . . . .
"""


def test_search_finds_the_capture_that_a_misleading_prior_hides(position):
    game = position(CAPTURE, to_move=BLACK)
    evaluator = LeadEvaluator(favour="A7", second="E3")
    assert np.argmax(evaluator.evaluate([game])[0][0]) == from_gtp("A7", 7)  # the raw policy's choice
    result = Search(evaluator, batch_size=4).run(game, playouts=800)
    assert result.move == from_gtp("E3", 7)  # the white string's last liberty
    by_move = {m.move: m for m in result.moves}
    assert by_move[from_gtp("E3", 7)].winrate > by_move[from_gtp("A7", 7)].winrate


# White to play: its four stones B4-E4 are in atari (last liberty F4); extending saves them.
SAVE = """
. . . . . . .
. . . . . . .
. X X X X . .
X O O O O . .
. X X X X . .
. . . . . . .
. . . . . . .
"""


def test_search_saves_the_group_in_atari(position):
    game = position(SAVE, to_move=WHITE)
    evaluator = LeadEvaluator(favour="G1", second="F4")
    assert np.argmax(evaluator.evaluate([game])[0][0]) == from_gtp("G1", 7)
    result = Search(evaluator, batch_size=4).run(game, playouts=800)
    assert result.move == from_gtp("F4", 7)


def test_virtual_loss_spreads_a_batch_over_different_leaves():
    game = Game(7, 0.0)
    evaluator = LeadEvaluator()
    search = Search(evaluator, batch_size=8)
    search.run(game, playouts=8)
    assert evaluator.batches == [1, 8]  # the root, then one batch of eight leaves
    assert len(search.root.children) == 8  # eight different first moves
    assert search.root.total_visits == 8
    assert (search.root.visits >= 0).all()  # virtual losses all taken back


def test_visits_add_up_and_the_move_is_the_most_visited():
    game = Game(5, 0.5)
    search = Search(LeadEvaluator(), batch_size=3)
    result = search.run(game, playouts=50)
    assert result.playouts == 50 and result.visits == 50
    assert [m.visits for m in result.moves] == sorted((m.visits for m in result.moves), reverse=True)
    assert result.move == result.moves[0].move
    assert result.moves[0].pv[0] == result.move


def test_tree_is_reused_after_the_move_is_played():
    game = Game(5, 0.5)
    search = Search(LeadEvaluator(), batch_size=2)
    result = search.run(game, playouts=60)
    kept = result.moves[0].visits
    search.advance(game, result.move)
    game.play(BLACK, result.move)
    assert search.root is not None and search.root.total_visits == kept - 1  # the child's own expansion visit
    again = search.run(game, playouts=10)
    assert again.visits == kept - 1 + 10


def test_a_finished_game_is_scored_exactly():
    game = Game(5, 0.5)
    game.play(BLACK, from_gtp("C3", 5))
    game.play(WHITE, None)  # Black passing now ends the game with Black ahead by 24.5
    result = Search(LeadEvaluator(pass_only=True), batch_size=2).run(game, playouts=10)
    assert [m.move for m in result.moves] == [None]
    assert result.moves[0].visits == 10 and result.winrate == pytest.approx(1.0)


def test_seconds_bound_the_search():
    search = Search(LeadEvaluator(), batch_size=4)
    result = search.run(Game(9, 7.5), seconds=0.2)
    assert result.playouts >= 4 and result.seconds < 2.0


def test_edges_are_only_the_moves_with_a_prior(position):
    game = position(CAPTURE, to_move=BLACK)
    search = Search(LeadEvaluator(), batch_size=1)
    search.run(game, playouts=1)
    legal = np.flatnonzero(game.legal_mask(BLACK))
    assert set(search.root.actions) == set(legal) | {move_to_action(None, 7)}


class FakeClock:
    """Seconds that pass only when told: each evaluation of a batch takes ``per_batch``."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowEvaluator(LeadEvaluator):
    def __init__(self, clock: FakeClock, per_batch: float):
        super().__init__()
        self.clock, self.per_batch = clock, per_batch

    def evaluate(self, games):
        self.clock.now += self.per_batch
        return super().evaluate(games)


@pytest.mark.parametrize("seconds, per_batch", [(1.0, 0.07), (0.3, 0.1), (0.25, 0.05), (2.0, 0.3)])
def test_a_time_limit_is_never_exceeded(seconds, per_batch):
    clock = FakeClock()
    search = Search(SlowEvaluator(clock, per_batch), batch_size=4, clock=clock)
    result = search.run(Game(9, 7.5), seconds=seconds)
    assert result.seconds <= seconds + 1e-9, "no batch is started that would end past the limit"
    assert result.seconds > seconds - 2 * per_batch, "and the time is used"
    assert result.playouts == 4 * round((result.seconds - per_batch) / per_batch)


def test_the_tree_follows_the_opponents_reply_and_is_rebuilt_elsewhere():
    game = Game(5, 0.5)
    search = Search(LeadEvaluator(), batch_size=2)
    result = search.run(game, playouts=200)
    search.advance(game, result.move)
    game.play(BLACK, result.move)
    reply = search.root_moves(game)[0]  # White's most visited answer in the kept subtree
    game.play(WHITE, reply.move)
    assert search.run(game, playouts=0).visits == reply.visits - 1, "the subtree below the reply"
    game.play(BLACK, None)
    game.play(WHITE, None)
    assert search.run(game, playouts=0).visits == 0, "two moves on: a new tree"


def test_a_finished_game_counts_without_its_dead_stones(position, finished_diagram):
    """Black leads by the count (a dead white stone in its area), though Tromp-Taylor, every
    stone alive, has it 26.5 behind: the pass that ends the game wins."""
    game = position(finished_diagram, komi=-1.5, to_move=WHITE)
    game.play(WHITE, None)
    assert game.score() < 0
    result = Search(LeadEvaluator(pass_only=True), batch_size=2).run(game, playouts=4)
    assert result.moves[0].move is None and result.winrate == pytest.approx(1.0)
