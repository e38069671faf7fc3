"""End-of-game judgement on hand-built finished positions: dead stones, seki, dame and the count."""
import numpy as np
import pytest
from ownership_positions import DEAD_GROUP, FALSE_EYE, IN_ATARI, NAKADE, SEKI

from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.go.ownership import area, dead_stones, final_ownership, final_score, judge, ownership, seki_stones
from gopolicy.go.rules import Game


def points(*vertices: str) -> list[int]:
    return sorted(from_gtp(v, 9) for v in vertices)


def test_dead_stones_inside_territory_are_found(position, finished_diagram):
    game = position(finished_diagram)
    assert dead_stones(game) == [from_gtp("B7", 9)]
    owner = ownership(game)
    assert owner[from_gtp("A1", 9)] > 0.5 and owner[from_gtp("J9", 9)] < -0.5  # each side's territory, blurred by invasions


def test_a_dead_group_of_several_stones_and_the_count_without_it(position):
    game = position(DEAD_GROUP, komi=0.5)
    verdict = judge(game)
    assert verdict.dead == points("B3", "C3", "B2", "G2") and verdict.seki == []
    assert verdict.score == pytest.approx(36 - 36 - 0.5)


def test_a_group_with_one_true_eye_and_one_false_eye_is_dead(position):
    game = position(FALSE_EYE)
    assert dead_stones(game) == points("B9", "A8", "B8", "A7", "B7", "B6", "A5", "A4")


def test_seki_is_alive_and_reported_as_seki(position):
    game = position(SEKI, komi=0.5)
    verdict = judge(game)
    shared = [from_gtp(f"{c}{r}", 9) for c in "DF" for r in range(1, 10)]
    assert verdict.dead == [] and verdict.seki == sorted(shared)
    assert seki_stones(game) == verdict.seki
    assert verdict.score == pytest.approx(36 - 36 - 0.5)  # A-C and F Black's, D and G-J White's, E nobody's


def test_a_nakade_is_not_a_seki(position):
    verdict = judge(position(NAKADE))
    assert verdict.dead == points("A3", "B3", "C3", "C2", "D2", "D1") and verdict.seki == []


def test_dame_are_neither_territory_nor_seki(position, finished_diagram):
    game = position(finished_diagram)
    verdict = judge(game)
    assert verdict.seki == []
    dame = [from_gtp(f"E{r}", 9) for r in range(1, 10)]
    assert (verdict.neutral[dame] < 0.1).all()  # random play fills the dame between living walls


def test_playouts_save_a_living_string_in_atari(position):
    game = position(IN_ATARI, to_move=BLACK)
    owner = ownership(game)
    assert owner[from_gtp("E6", 9)] > 0.8 and owner[from_gtp("E5", 9)] > 0.8  # not captured by White's first move
    assert dead_stones(game) == []


def test_undecided_stones_enclosed_by_one_colour_are_dead(position, finished_diagram):
    game = position(finished_diagram)
    owner = np.where(np.arange(81) % 9 < 4, 0.9, -0.9)  # settled: A-D Black's, E-J White's
    b7, around = from_gtp("B7", 9), points("A7", "C7", "B8", "B6")
    owner[b7] = 0.0  # the white stone: a coin toss in the playouts, inside Black's settled area
    assert dead_stones(game, owner=owner) == [b7]
    owner[around] = 0.1  # still undecided around it, but enclosed by Black's settled points
    assert dead_stones(game, owner=owner) == [b7]
    owner[from_gtp("A7", 9)] = -0.9  # one white point beside it: no longer enclosed by one colour
    assert dead_stones(game, owner=owner) == []
    owner[from_gtp("A7", 9)], owner[b7] = 0.1, -0.3  # the playouts lean to White: left alive
    assert dead_stones(game, owner=owner) == []


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
    verdict = judge(game, 64, seed=3)
    assert (verdict.owner == first).all() and ((verdict.neutral >= 0) & (verdict.neutral <= 1)).all()


def test_playout_ownership_refuses_bad_arguments():
    game = Game(9)
    with pytest.raises(ValueError):
        game.board.playout_ownership(BLACK, 0, 0, np.zeros(81, np.int32))
    with pytest.raises(ValueError):
        game.board.playout_ownership(BLACK, 4, 0, np.zeros(80, np.int32))
    with pytest.raises(ValueError):
        game.board.playout_ownership(3, 4, 0, np.zeros(81, np.int32))
    with pytest.raises(ValueError):
        game.board.playout_ownership(WHITE, 4, 0, np.zeros(81, np.int32), neutral=np.zeros(80, np.int32))


def test_area_is_the_tromp_taylor_count_point_by_point(position, finished_diagram):
    game = position(finished_diagram)
    owners = area(game)
    stones = game.stones().reshape(-1)
    assert owners.dtype == np.int8 and set(np.unique(owners)) <= {-1, 0, 1}
    assert (owners[stones == BLACK] == 1).all() and (owners[stones == WHITE] == -1).all()
    assert owners.sum() - game.komi == pytest.approx(game.score())


def test_final_ownership_gives_a_dead_stones_point_to_its_captor(position, finished_diagram):
    game = position(finished_diagram)
    dead = from_gtp("B7", 9)
    assert game.stones().reshape(-1)[dead] == WHITE and area(game)[dead] == -1
    owners = final_ownership(game)
    assert owners[dead] == 1  # the dead white stone's point is Black's territory at the count
    assert owners.sum() - game.komi == pytest.approx(final_score(game))


def test_final_ownership_of_a_seki_leaves_the_shared_liberties_to_nobody(position):
    game = position(SEKI, komi=0.5)
    owners = final_ownership(game)
    assert (owners[[from_gtp(f"E{r}", 9) for r in range(1, 10)]] == 0).all()
    assert owners.sum() - game.komi == pytest.approx(judge(game).score)
