"""Monte-Carlo ownership on hand-built finished positions: dead stones and the count."""
import numpy as np
import pytest

from gopolicy.go.coords import BLACK, from_gtp
from gopolicy.go.ownership import dead_stones, final_score, ownership
from gopolicy.go.rules import Game


def test_dead_stones_inside_territory_are_found(position, finished_diagram):
    game = position(finished_diagram)
    assert dead_stones(game) == [from_gtp("B7", 9)]
    owner = ownership(game)
    assert owner[from_gtp("A1", 9)] > 0.5 and owner[from_gtp("J9", 9)] < -0.5  # each side's territory, blurred by invasions


def test_final_score_counts_with_the_dead_removed(position, finished_diagram):
    game = position(finished_diagram, komi=0.5)
    assert game.score() == pytest.approx(9 - 37 - 0.5)  # Tromp-Taylor, every stone alive: Black's area is spoilt
    assert final_score(game) == pytest.approx(36 - 36 - 0.5)
    game.setup(black=[from_gtp("H3", 9)])  # and a dead black stone in White's area
    assert dead_stones(game) == sorted([from_gtp("B7", 9), from_gtp("H3", 9)])
    assert final_score(game) == pytest.approx(-0.5)


def test_living_groups_are_not_dead(position, finished_diagram):
    game = position(finished_diagram)
    stones = game.stones().reshape(-1)
    dead = set(dead_stones(game))
    walls = [p for p in np.flatnonzero(stones) if p != from_gtp("B7", 9)]
    assert not dead & set(int(p) for p in walls)


def test_ownership_is_reproducible_and_in_range(position, finished_diagram):
    game = position(finished_diagram)
    first, again = ownership(game, 64, seed=3), ownership(game, 64, seed=3)
    assert (first == again).all() and (np.abs(first) <= 1).all()


def test_playout_ownership_refuses_bad_arguments():
    game = Game(9)
    with pytest.raises(ValueError):
        game.board.playout_ownership(BLACK, 0, 0, np.zeros(81, np.int32))
    with pytest.raises(ValueError):
        game.board.playout_ownership(BLACK, 4, 0, np.zeros(80, np.int32))
    with pytest.raises(ValueError):
        game.board.playout_ownership(3, 4, 0, np.zeros(81, np.int32))
