"""gopolicy.features: feature sets, every plane group on hand-built positions, ladders,
and real games, each checked against explicit expectations and the slow reference.

Diagrams are drawn as on a board: top row first, ``X`` black, ``O`` white, ``.`` empty.
Expected one-hot groups are drawn the same way, each point showing the value its
plane stands for (``.``: no plane of the group set); single planes are sets of GTP
vertices.
"""
from __future__ import annotations

import time
from pathlib import Path
from textwrap import dedent

import numpy as np
import pytest
import reference_features
from reference_features import reference_planes
from sgfmill import boards, sgf

from gopolicy import features
from gopolicy.errors import RecordError
from gopolicy.features import FEATURE_SETS, encode, game_planes, get_feature_set
from gopolicy.go.coords import BLACK, WHITE, from_gtp, to_gtp
from gopolicy.go.rules import Game
from gopolicy.sgf.archives import iter_sgf
from gopolicy.sgf.records import read_game, replay

PLAYER, OPPONENT, EMPTY_POINT, ONES = 0, 1, 2, 3
TURNS, LIBERTIES, CAPTURE, SELF_ATARI, LIBS_AFTER = 4, 12, 20, 28, 36
LADDER_CAPTURE, LADDER_ESCAPE, SENSIBLE, ZEROS, COLOUR = 44, 45, 46, 47, 48

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


# -- helpers ---------------------------------------------------------------------------


def game_from(diagram: str, *moves: str, superko: bool = False) -> Game:
    """A game whose stones are ``diagram`` (setup stones), then ``moves`` such as ``'B C3'``, ``'W pass'``."""
    rows = [line.split() for line in dedent(diagram).strip().splitlines()]
    size = len(rows)
    stones: dict[str, list[int]] = {"X": [], "O": []}
    for i, row in enumerate(rows):
        assert len(row) == size, "diagrams are square"
        for col, mark in enumerate(row):
            if mark in stones:
                stones[mark].append((size - 1 - i) * size + col)
    game = Game(size, superko=superko)
    game.setup(stones["X"], stones["O"])
    for move in moves:
        colour, vertex = move.split()
        game.play(BLACK if colour == "B" else WHITE, from_gtp(vertex, size))
    return game


def game_with(size: int, black: str = "", white: str = "") -> Game:
    """A game with setup stones given as GTP vertices, e.g. ``black='D3 E2'``."""
    game = Game(size)
    game.setup([from_gtp(v, size) for v in black.split()], [from_gtp(v, size) for v in white.split()])
    return game


def planes_of(game: Game, player: int) -> np.ndarray:
    """The compiled 49 planes, after checking that the slow reference agrees on every one."""
    planes = encode(game, player, "alphago49")
    reference = reference_planes(game, player)
    disagreements = [(int(k), to_gtp(int(r) * game.size + int(c), game.size)) for k, r, c in np.argwhere(planes != reference)]
    assert not disagreements, f"compiled and reference planes differ at (plane, point): {disagreements[:10]}"
    return planes


def points(plane: np.ndarray) -> set[str]:
    """The GTP vertices where a plane is 1."""
    return {to_gtp(int(f), plane.shape[0]) for f in np.flatnonzero(plane)}


def render(planes: np.ndarray, first: int, low: int, count: int = 8) -> str:
    """A one-hot group as a diagram: each point shows ``low + k`` for its plane ``first + k``, ``.`` for none."""
    size = planes.shape[1]
    rows = []
    for row in reversed(range(size)):
        cells = []
        for col in range(size):
            hot = np.flatnonzero(planes[first:first + count, row, col])
            assert len(hot) <= 1, f"two planes of one group set at {to_gtp(row * size + col, size)}"
            cells.append(str(low + hot[0]) if len(hot) else ".")
        rows.append(" ".join(cells))
    return "\n".join(rows)


def drawing(text: str) -> str:
    return "\n".join(line.strip() for line in dedent(text).strip().splitlines())


# -- feature sets ------------------------------------------------------------------------


def test_feature_sets_have_the_papers_sizes_and_names():
    assert {name: fs.planes for name, fs in FEATURE_SETS.items()} == {
        "alphago4": 4, "alphago12": 12, "alphago20": 20, "alphago48": 48, "alphago49": 49}
    names = get_feature_set("alphago49").plane_names
    assert len(names) == 49 and len(set(names)) == 49
    assert names[:5] == ["stone: player", "stone: opponent", "stone: empty", "ones", "turns since: 1"]
    assert names[11] == "turns since: >=8" and names[19] == "liberties: >=8"
    assert names[20] == "capture size: 0" and names[27] == "capture size: >=7"
    assert names[44:] == ["ladder capture", "ladder escape", "sensibleness", "zeros", "player colour"]
    assert get_feature_set("alphago48").plane_names == names[:48]
    assert get_feature_set(FEATURE_SETS["alphago12"]) is FEATURE_SETS["alphago12"]


def test_unknown_feature_set_names_the_valid_ones():
    with pytest.raises(ValueError, match="alphago7.*alphago4, alphago12, alphago20, alphago48, alphago49"):
        get_feature_set("alphago7")
    with pytest.raises(ValueError, match="alphago48"):
        encode(Game(9), BLACK, "alpha")


def test_smaller_sets_are_prefixes_of_the_full_one():
    game = game_from("""
        . . . . .
        . X O . .
        . O X X .
        . . O . .
        . . . . .
    """, "B D4", "W pass")
    full = encode(game, BLACK, "alphago49")
    for name, fs in FEATURE_SETS.items():
        planes = encode(game, BLACK, name)
        assert planes.shape == (fs.planes, 5, 5) and planes.dtype == np.uint8
        assert (planes == full[:fs.planes]).all(), name


def test_encode_takes_a_game_or_a_board_any_size_and_colour_letters():
    for size in (7, 13, 19):
        game = Game(size)
        game.play(BLACK, size + 1)
        assert encode(game, "w").shape == (48, size, size)
        assert (encode(game, "w") == encode(game.board, WHITE)).all()
        assert (encode(game, WHITE)[OPPONENT].ravel() == np.eye(size * size, dtype=np.uint8)[size + 1]).all()


def test_constant_planes():
    game = game_from("""
        X . .
        . O .
        . . .
    """)
    for player, colour_plane in ((BLACK, 1), (WHITE, 0)):
        planes = planes_of(game, player)
        assert (planes[ONES] == 1).all() and (planes[ZEROS] == 0).all()
        assert (planes[COLOUR] == colour_plane).all()


# -- stones, turns since, liberties ------------------------------------------------------


def test_stone_colour_is_relative_to_the_player_to_move():
    game = game_from("""
        X . .
        . O .
        X . O
    """)
    black, white = planes_of(game, BLACK), planes_of(game, WHITE)
    assert points(black[PLAYER]) == points(white[OPPONENT]) == {"A3", "A1"}
    assert points(black[OPPONENT]) == points(white[PLAYER]) == {"B2", "C1"}
    assert points(black[EMPTY_POINT]) == points(white[EMPTY_POINT]) == {"B3", "C3", "A2", "C2", "B1"}


def test_turns_since_counts_passes_and_collapses_old_and_setup_stones():
    game = game_from("""
        . . . . . . .
        . . . . . . O
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        X . . . . . .
    """, "B C3", "W E5", "B C5", "W E3", "B D4", "W pass", "B A7", "W B7", "B C7", "W D7", "B E7")
    # D4 was played 6 moves ago counting the pass: plane 'turns since: 7'; E3, 7 moves ago, is in the >=8 plane.
    assert render(planes_of(game, WHITE), TURNS, low=1) == drawing("""
        5 4 3 2 1 . .
        . . . . . . 8
        . . 8 . 8 . .
        . . . 7 . . .
        . . 8 . 8 . .
        . . . . . . .
        8 . . . . . .
    """)
    game.play(WHITE, None)  # a pass ages every stone
    assert render(planes_of(game, BLACK), TURNS, low=1) == drawing("""
        6 5 4 3 2 . .
        . . . . . . 8
        . . 8 . 8 . .
        . . . 8 . . .
        . . 8 . 8 . .
        . . . . . . .
        8 . . . . . .
    """)


def test_turns_since_of_a_stone_played_where_a_setup_stone_was_captured():
    game = game_from("""
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        O X . . .
    """, "B A2", "W E5", "B A1")  # A2 captures the setup stone on A1; black plays there later
    assert render(planes_of(game, WHITE), TURNS, low=1) == drawing("""
        . . . . 2
        . . . . .
        . . . . .
        3 . . . .
        1 8 . . .
    """)


def test_liberties_of_each_string_up_to_the_8_or_more_bucket():
    game = game_from("""
        . . . . X . . . X
        . . . . . . . . .
        . . . O O O O O .
        . X . . . . . . .
        . . . . . . X X .
        . O O . . . X . .
        . . . . . . . . .
        O . . . . . . . .
        X . . . X X X . .
    """)
    expected = drawing("""
        . . . . 3 . . . 2
        . . . . . . . . .
        . . . 8 8 8 8 8 .
        . 4 . . . . . . .
        . . . . . . 7 7 .
        . 6 6 . . . 7 . .
        . . . . . . . . .
        2 . . . . . . . .
        1 . . . 5 5 5 . .
    """)
    assert render(planes_of(game, BLACK), LIBERTIES, low=1) == expected
    assert render(planes_of(game, WHITE), LIBERTIES, low=1) == expected  # liberties do not depend on the player


# -- look-ahead: captures, self-atari, liberties after -----------------------------------


def test_capture_size_marks_every_legal_move_and_sums_strings():
    game = game_from("""
        O O O O O O O O .
        X X X X X X X X .
        . . . . . . . . .
        . . . X . . . . .
        . . X O X . . . .
        . . . . . . . . .
        . . X O X . . . .
        . . X O X . . . .
        . . . X . X O X .
    """)
    # D4 takes a 1-stone and a 2-stone string; J9 takes 8 (the >=7 plane); G2 takes one; every other legal move 0.
    assert render(planes_of(game, BLACK), CAPTURE, low=0) == drawing("""
        . . . . . . . . 7
        . . . . . . . . 0
        0 0 0 0 0 0 0 0 0
        0 0 0 . 0 0 0 0 0
        0 0 . . . 0 0 0 0
        0 0 0 3 0 0 0 0 0
        0 0 . . . 0 0 0 0
        0 0 . . . 0 1 0 0
        0 0 0 . 0 . . . 0
    """)


def test_self_atari_size_and_liberties_after_move():
    game = game_from("""
        . . . . . . . . .
        O . . . . . . . .
        . . O O O O . . .
        . O X X X . O . .
        . . O O O . . . .
        . . . . . . . . .
        . . . . . . . . .
        O O O O O O O O .
        X X X X X X X X .
    """)
    planes = planes_of(game, BLACK)
    # A9 alone in atari (1), F6 joins three stones in atari (4), J1 joins eight (9: the >=8 plane).
    assert render(planes, SELF_ATARI, low=1) == drawing("""
        1 . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . 4 . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . 8
    """)
    assert render(planes, LIBS_AFTER, low=1) == drawing("""
        1 3 3 3 3 3 3 3 2
        . 3 3 3 3 3 4 4 3
        2 2 . . . . 2 4 3
        2 . . . . 1 . 3 3
        3 2 . . . 3 3 4 3
        3 4 3 3 3 4 4 4 3
        2 3 3 3 3 3 3 3 3
        . . . . . . . . 2
        . . . . . . . . 1
    """)


def test_liberties_after_count_shared_liberties_of_merged_strings_once():
    game = game_from("""
        . . . . .
        . X . . .
        . . X . .
        . . . . .
        . . . . .
    """)
    # C4 joins B4 and C3, which share the liberty B3 ... and C4 itself: 7 liberties, not 8.
    assert render(planes_of(game, BLACK), LIBS_AFTER, low=1) == drawing("""
        2 5 3 3 2
        5 . 7 4 3
        3 7 . 6 3
        3 4 6 4 3
        2 3 3 3 2
    """)


def test_liberties_after_include_points_freed_by_captures():
    game = game_from("""
        . . . . .
        . . . . .
        . X O X .
        . . X . .
        . . . . .
    """)
    planes = planes_of(game, BLACK)
    assert points(planes[CAPTURE + 1]) == {"C4"}
    assert render(planes, LIBS_AFTER, low=1) == drawing("""
        2 3 3 3 2
        3 5 4 5 3
        4 . . . 4
        3 6 . 6 3
        2 3 4 3 2
    """)


KO = """
    . . . . .
    . . . . .
    . X O . .
    X O . O .
    . X O . .
"""


def test_a_ko_capture_is_a_self_atari_of_one_stone():
    planes = planes_of(game_from(KO), BLACK)
    assert points(planes[CAPTURE + 1]) == {"C2"}
    assert points(planes[SELF_ATARI]) == {"C2", "D1"}  # D1: a lone stone between white stones
    assert points(planes[SELF_ATARI + 2]) == {"A1"}  # A1 joins A2 and B1: 3 stones, 1 liberty
    assert points(planes[LIBS_AFTER]) == {"A1", "C2", "D1"}


def test_illegal_points_are_zero_in_every_look_ahead_plane():
    game = game_from(KO, "B C2")  # black takes the ko: white may not retake at B2 at once; A1 is suicide for white
    planes = planes_of(game, WHITE)
    empty = points(planes[EMPTY_POINT])
    assert {"A1", "B2"} <= empty
    for k in range(CAPTURE, ZEROS):
        assert not points(planes[k]) & ({"A1", "B2"} | points(planes[PLAYER]) | points(planes[OPPONENT])), k
    assert points(planes[CAPTURE:LADDER_CAPTURE].any(0)) == points(planes[SENSIBLE]) == empty - {"A1", "B2"}


def test_look_ahead_ignores_superko():
    game = game_from(KO, "B C2", "W pass", "B pass", superko=True)
    # Retaking at B2 would repeat the position before C2: superko forbids it, simple ko no longer does.
    assert not game.is_legal(WHITE, from_gtp("B2", 5))
    assert points(planes_of(game, WHITE)[CAPTURE + 1]) == {"B2"}


def test_legal_and_sensible_points_read_back_from_planes_numpy_or_torch_batched_or_not():
    import torch

    eye = """
        . X . . .
        X . X . .
        . X . . .
        . . . . .
        . . . . .
    """
    positions = [(game_from(KO, "B C2"), WHITE), (game_from(eye), BLACK)]  # a ko and a suicide; a true eye
    full = np.stack([encode(game, colour, "alphago49") for game, colour in positions])
    legal = np.stack([game.legal_mask(colour, superko=False) for game, colour in positions])
    sensible = legal.copy()
    sensible[1, [from_gtp("B4", 5), from_gtp("A5", 5)]] = False  # black's own true eyes
    assert legal[0].sum() < (full[0, EMPTY_POINT] > 0).sum() and legal[1, from_gtp("B4", 5)]
    for batch in (full, torch.from_numpy(full), torch.from_numpy(full).to(torch.bfloat16)):
        assert (np.asarray(features.legal_points(batch)) == legal).all()
        assert (np.asarray(features.sensible_points(batch)) == sensible).all()
        assert (np.asarray(features.legal_points(batch[1])) == legal[1]).all()
    few = full[:, :20]  # alphago20: no look-ahead planes, the empty points stand in
    assert (features.legal_points(few) == full[:, EMPTY_POINT].reshape(2, -1).astype(bool)).all()
    assert features.sensible_points(few) is None


def test_encode_writes_into_a_given_array():
    game = game_from(KO, "B C2")
    batch = np.zeros((2, 12, 5, 5), np.uint8)
    row = batch[1]
    assert encode(game, WHITE, "alphago12", out=row) is row
    assert (batch[1] == encode(game, WHITE, "alphago12")).all() and not batch[0].any()


# -- sensibleness ----------------------------------------------------------------------------


def test_sensibleness_excludes_own_true_eyes_only():
    game = game_from("""
        . . . . . . . X .
        . . O X . . . . X
        . . X . X . . . .
        . . . X O . . . .
        . . . . . . . . .
        . . O X . . . . .
        X X X . X . . . .
        O O X X X O . O X
        . O X X . X . X .
    """)
    black, white = planes_of(game, BLACK), planes_of(game, WHITE)
    legal = points(black[CAPTURE:LADDER_CAPTURE].any(0))
    # D3: centre, one white diagonal: an eye. J9: corner, no white diagonal: an eye. Both legal, both not sensible.
    assert {"D3", "J9"} <= legal
    assert points(black[EMPTY_POINT]) - points(black[SENSIBLE]) == {"D3", "J9"}
    # D7: centre, two white diagonals; E1: edge, one; J1: corner, one: no eyes.
    assert {"D7", "E1", "J1"} <= points(black[SENSIBLE])
    # A1 is white's true eye, but black may play it (capturing three stones): sensible for black.
    assert "A1" in points(black[CAPTURE + 3]) & points(black[SENSIBLE])
    assert "A1" not in points(white[SENSIBLE])


# -- ladders ----------------------------------------------------------------------------------

LADDER = """
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . X O . . . .
    . . . . X X . . .
    . . . . . . . . .
"""


def test_a_ladder_that_works_is_a_ladder_capture_and_running_does_not_escape():
    game = game_from(LADDER)
    planes = planes_of(game, BLACK)
    assert points(planes[LADDER_CAPTURE]) == {"E4"}  # F3 instead lets white out at E4
    game.play(BLACK, from_gtp("E4", 9))
    planes = planes_of(game, WHITE)
    assert points(planes[LADDER_ESCAPE]) == set()  # F3 runs, but into the captured ladder
    assert "F3" in points(planes[LIBS_AFTER + 1])  # ... with 2 liberties


def test_a_ladder_breaker_saves_the_runner():
    game = game_from(LADDER)
    game.setup(white=[from_gtp("G6", 9)])
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == set()
    game.play(BLACK, from_gtp("E4", 9))
    assert points(planes_of(game, WHITE)[LADDER_ESCAPE]) == {"F3"}


def test_a_ladder_breaker_off_the_path_does_not():
    game = game_from(LADDER)
    game.setup(white=[from_gtp("H8", 9)])
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == {"E4"}


def test_a_hunter_stone_in_atari_breaks_the_ladder():
    game = game_from("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . O . . . . .
        . . O X O . . . .
        . . . . X X . . .
        . . . . . . . . .
    """)
    planes = planes_of(game, BLACK)
    assert points(planes[LADDER_CAPTURE]) == set()  # after E4 white captures D3 at D2
    assert points(planes[LADDER_ESCAPE]) == {"D2"}  # black's D3 itself escapes by D2
    game.play(BLACK, from_gtp("E4", 9))
    # D2 saves E3 without touching it, by capturing D3; F3 runs out since D3 is still in atari.
    assert points(planes_of(game, WHITE)[LADDER_ESCAPE]) == {"D2", "F3"}


def test_an_escape_to_three_liberties():
    game = game_from("""
        . . . . .
        . . . . .
        . X O X .
        . . X . .
        . . . . .
    """)
    planes = planes_of(game, WHITE)
    assert points(planes[LADDER_ESCAPE]) == {"C4"}
    assert "C4" in points(planes[LIBS_AFTER + 2])


def test_a_ladder_along_the_first_line():
    game = game_from("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . X . . . .
        . . . . O . . . .
    """)
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == {"D1", "F1"}  # white crawls into a corner either way
    game.setup(white=[from_gtp("H2", 9)])
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == {"F1"}  # crawling right now connects to H2


CROSSING_LADDER = {"black": "D3 E2 F2", "white": "E3"}  # E4 chases E3 up and right to the far corner


def test_a_ladder_across_the_whole_board():
    game = game_with(19, **CROSSING_LADDER)
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == {"E4"}
    game.play(BLACK, from_gtp("E4", 19))
    assert points(planes_of(game, WHITE)[LADDER_ESCAPE]) == set()


@pytest.mark.parametrize("breaker", ["R16", "Q15"])
def test_a_ladder_across_the_board_broken_near_the_far_corner(breaker):
    game = game_with(19, CROSSING_LADDER["black"], f"{CROSSING_LADDER['white']} {breaker}")
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == set()
    game.play(BLACK, from_gtp("E4", 19))
    assert points(planes_of(game, WHITE)[LADDER_ESCAPE]) == {"F3"}


def test_the_longest_ladder_on_25x25_is_read_to_the_end(monkeypatch):
    game = game_with(25, **CROSSING_LADDER)
    assert points(encode(game, BLACK)[LADDER_CAPTURE]) == {"E4"}
    # It takes 78 plies: with a bound of 77 the reference no longer sees the capture.
    e4 = from_gtp("E4", 25)
    assert reference_features.ladder_capture(game.board, BLACK, e4)
    monkeypatch.setattr(reference_features, "MAX_PLY", 77)
    assert not reference_features.ladder_capture(game.board, BLACK, e4)


def test_an_escape_into_a_snapback_fails():
    game = game_from("""
        . . . . .
        . . . . .
        X X X . .
        O O O . .
        O X . X .
    """)
    assert points(planes_of(game, BLACK)[LADDER_CAPTURE]) == {"D2"}
    game.play(BLACK, from_gtp("D2", 5))
    planes = planes_of(game, WHITE)
    # C1 captures B1 but leaves the five white stones one liberty, B1: black takes them back.
    assert "C1" in points(planes[CAPTURE + 1]) & points(planes[SELF_ATARI + 4])
    assert points(planes[LADDER_ESCAPE]) == set()


# Found by hill-climbing on the compiled reader's node count: after H9 the chase along the top
# edge branches at every hunter move, and the reader spends its whole node budget (20,000
# positions) on that one query. The exhaustive reference needs a few dozen positions here.
PATHOLOGICAL = """
    O X O . . . O . X
    O . . . . . X . O
    X X X O . . . . .
    . X O . X . O . X
    X O . . . . X O X
    X . . . . . O . X
    . . . X . X X . X
    . . . . O . . X .
    . O X . X O . X O
"""


def test_a_pathological_position_is_computed_quickly():
    game = game_from(PATHOLOGICAL)
    start = time.perf_counter()
    planes = encode(game, BLACK)
    assert time.perf_counter() - start < 2.0
    assert (planes == planes_of(game, BLACK)[:48]).all()
    assert points(planes[LADDER_CAPTURE]) == {"B2", "C5", "C8", "D9", "F9", "H8", "J7"}


# -- real games -----------------------------------------------------------------------------


def sample_games(limit_per_archive: int) -> list[tuple[str, bytes]]:
    archives = sorted(SAMPLE.glob("*.tar.*")) if SAMPLE.is_dir() else []
    if not archives:
        pytest.skip(f"no sample archives in {SAMPLE}")
    games = []
    for archive in archives:
        for count, game in enumerate(iter_sgf([archive])):
            if count == limit_per_archive:
                break
            games.append(game)
    return games


def test_compiled_planes_match_the_reference_on_real_games():
    positions = 0
    for source, data in sample_games(limit_per_archive=2):
        for game, colour, _ in replay(read_game(data, source)):
            planes = encode(game, colour, "alphago49")
            different = np.argwhere(planes != reference_planes(game, colour))
            assert not len(different), f"{source} before move {game.move_number + 1}: (plane, row, col) {different[:5].tolist()}"
            positions += 1
    assert positions > 500


def test_game_planes_follow_sgfmill_on_a_real_game():
    games = sample_games(limit_per_archive=20)
    source, data = ([game for game in games if b"AB[" in game[1]] or games)[0]  # a handicap game if there is one
    sgf_game = sgf.Sgf_game.from_bytes(data)
    board = boards.Board(19)
    black, white, _ = sgf_game.get_root().get_setup_stones()
    assert board.apply_setup(black, white, ())
    triples = list(game_planes(data))
    assert [(colour, move) for _, colour, move in triples] == [
        node.get_move() for node in sgf_game.get_main_sequence() if node.get_move()[0]]
    setup_plane = triples[0][0][TURNS + 7]
    assert {tuple(point) for point in np.argwhere(setup_plane)} == black | white
    for planes, colour, move in triples:
        assert planes.shape == (48, 19, 19) and planes.dtype == np.uint8
        occupied = board.list_occupied_points()
        assert {tuple(point) for point in np.argwhere(planes[PLAYER])} == {p for c, p in occupied if c == colour}
        assert {tuple(point) for point in np.argwhere(planes[OPPONENT])} == {p for c, p in occupied if c != colour}
        if move is not None:
            board.play(move[0], move[1], colour)


# PL[W]; a second white move in a row; a black pass; stones added in a later node.
HAND_SGF = b"(;GM[1]FF[4]SZ[9]PL[W]AB[cc][gg]AW[ee];W[dd];W[ef];B[];AB[aa];W[ff])"


def test_game_planes_reads_a_path_like_its_bytes(tmp_path):
    path = tmp_path / "game.sgf"
    path.write_bytes(HAND_SGF)
    from_path, from_bytes = list(game_planes(path, "alphago20")), list(game_planes(HAND_SGF, "alphago20"))
    assert [(c, m) for _, c, m in from_path] == [(c, m) for _, c, m in from_bytes]
    assert all((a == b).all() and a.shape == (20, 9, 9) for (a, _, _), (b, _, _) in zip(from_path, from_bytes))
    assert list(game_planes(str(path)))[0][1] == "w"


def test_game_planes_handles_setup_passes_and_repeated_colours():
    triples = list(game_planes(HAND_SGF))
    assert [(colour, move) for _, colour, move in triples] == [("w", (5, 3)), ("w", (3, 4)), ("b", None), ("w", (3, 5))]
    first, second, third, fourth = (planes for planes, _, _ in triples)
    assert points(first[PLAYER]) == {"E5"} and points(first[OPPONENT]) == {"C7", "G3"}
    assert points(first[TURNS + 7]) == {"E5", "C7", "G3"}  # setup stones: the >=8 plane
    assert points(second[PLAYER]) == {"E5", "D6"} and points(second[TURNS]) == {"D6"}
    assert points(third[PLAYER]) == {"C7", "G3"} and points(third[TURNS]) == {"E4"}
    assert points(fourth[TURNS + 1]) == {"E4"}  # the pass is a move: E4 is 2 moves old
    assert "A9" in points(fourth[OPPONENT] & fourth[TURNS + 7])


def test_game_planes_reports_an_illegal_move_as_a_record_error():
    with pytest.raises(RecordError, match="move 3"):
        list(game_planes(b"(;GM[1]FF[4]SZ[9];B[dd];W[ee];B[dd])"))
