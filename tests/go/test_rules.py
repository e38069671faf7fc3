"""gopolicy.go.rules (Game) and the compiled board under it, on hand-built positions.

Diagrams are drawn with row 1 at the bottom, as on a real board and in GTP:
``X`` black, ``O`` white, ``.`` empty; the column letters skip ``I``. Row
numbers and the letter header are decoration: :func:`board_from_diagram`
reads only the ``X``/``O``/``.`` cells, top row first.

The last part checks random legal games against sgfmill's board (an
independent implementation) and against a legality oracle built on it.
"""
import random
import textwrap

import numpy as np
import pytest
from sgfmill import boards as sgf_boards

from gopolicy import _board
from gopolicy.errors import GopolicyError, IllegalMoveError
from gopolicy.go.coords import BLACK, EMPTY, WHITE, from_gtp, opponent, to_gtp
from gopolicy.go.rules import Board, Game

# -- helpers -----------------------------------------------------------------------------------


def diagram_rows(diagram: str) -> list[str]:
    """The cells of a diagram, top row first, as strings like ``'.XO..'``."""
    rows = []
    for line in textwrap.dedent(diagram).strip().splitlines():
        cells = [token for token in line.split() if token in ("X", "O", ".")]
        if cells:
            rows.append("".join(cells))
    assert rows and all(len(row) == len(rows) for row in rows), "a diagram must be square"
    return rows


def board_from_diagram(diagram: str, komi: float = 0.0, **options) -> Game:
    """A Game whose position is the diagram, placed as setup stones (AB/AW)."""
    rows = diagram_rows(diagram)
    size = len(rows)
    game = Game(size, komi, **options)
    black, white = [], []
    for r, row in enumerate(rows):
        for col, cell in enumerate(row):
            flat = (size - 1 - r) * size + col
            if cell == "X":
                black.append(flat)
            elif cell == "O":
                white.append(flat)
    game.setup(black=black, white=white)
    return game


def rendered(game: Game) -> list[str]:
    """The game's stones in :func:`diagram_rows` form."""
    stones = game.stones()
    return ["".join(".XO"[v] for v in stones[row]) for row in reversed(range(game.size))]


def assert_position(game: Game, diagram: str) -> None:
    expected = diagram_rows(diagram)
    assert rendered(game) == expected, "\n" + "\n".join(rendered(game))


def pt(game: Game, vertex: str) -> int:
    return from_gtp(vertex, game.size)


def play(game: Game, moves: str) -> list[int]:
    """Plays ``'B C3 W pass B D4'``; returns the capture counts."""
    tokens = moves.split()
    out = []
    for colour, vertex in zip(tokens[::2], tokens[1::2]):
        out.append(game.play(BLACK if colour == "B" else WHITE, from_gtp(vertex, game.size)))
    return out


def libs(game: Game, vertex: str) -> int:
    return game.board.liberties(pt(game, vertex))


def flood_fill_strings(stones: np.ndarray) -> list[tuple[int, set, set]]:
    """Independent reference: (colour, stones, liberties) of every string, as (row, col) sets."""
    size = stones.shape[0]
    seen = np.zeros_like(stones, dtype=bool)
    strings = []
    for r in range(size):
        for c in range(size):
            colour = stones[r, c]
            if colour == EMPTY or seen[r, c]:
                continue
            members, liberties, todo = set(), set(), [(r, c)]
            seen[r, c] = True
            while todo:
                y, x = todo.pop()
                members.add((y, x))
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= ny < size and 0 <= nx < size:
                        v = stones[ny, nx]
                        if v == EMPTY:
                            liberties.add((ny, nx))
                        elif v == colour and not seen[ny, nx]:
                            seen[ny, nx] = True
                            todo.append((ny, nx))
            strings.append((colour, members, liberties))
    return strings


def assert_liberties_match_flood_fill(game: Game, check_strings: bool = False) -> None:
    size = game.size
    for _colour, members, liberties in flood_fill_strings(game.stones()):
        flats = sorted(r * size + c for r, c in members)
        for flat in flats:
            assert game.board.liberties(flat) == len(liberties), (to_gtp(flat, size), "\n" + str(game))
        if check_strings:
            assert game.board.string(flats[0]) == flats


# -- captures ---------------------------------------------------------------------------------


def test_single_stone_capture():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . . X . .
          3 . X O X .
          2 . . . . .
          1 . . . . .
        """
    )
    assert libs(game, "C3") == 1
    assert play(game, "B C2") == [1]
    assert_position(
        game,
        """
          . . . . .
          . . X . .
          . X . X .
          . . X . .
          . . . . .
        """,
    )
    assert game.board.captures == (1, 0)
    assert [libs(game, v) for v in ("C4", "B3", "D3", "C2")] == [4, 4, 4, 4]
    assert game.board.ko is None  # the capturing stone has four liberties: no ko


TWO_WHITE_STONES_IN_ATARI = """
    A B C D E
  5 . . . . .
  4 . X X . .
  3 X O O X .
  2 . X . . .
  1 . . . . .
"""


def test_two_stone_capture():
    game = board_from_diagram(TWO_WHITE_STONES_IN_ATARI)
    assert play(game, "B C2") == [2]
    assert_position(
        game,
        """
          . . . . .
          . X X . .
          X . . X .
          . X X . .
          . . . . .
        """,
    )
    assert game.board.captures == (2, 0)
    assert game.board.ko is None


def test_capture_gives_liberties_back_to_every_neighbouring_string():
    game = board_from_diagram(TWO_WHITE_STONES_IN_ATARI)
    before = {v: libs(game, v) for v in ("A3", "B4", "B2", "D3", "B3")}
    assert before == {"A3": 2, "B4": 4, "B2": 3, "D3": 3, "B3": 1}
    play(game, "B C2")
    # A3: A4 A2 +B3.  B4-C4: A4 B5 C5 D4 +B3 +C3.  B2-C2 (merged): A2 B1 C1 D2 +B3 +C3.  D3: D4 E3 D2 +C3.
    assert {v: libs(game, v) for v in ("A3", "B4", "C4", "B2", "C2", "D3")} == {
        "A3": 3,
        "B4": 6,
        "C4": 6,
        "B2": 6,
        "C2": 6,
        "D3": 4,
    }
    assert libs(game, "B3") == 0  # empty now
    assert_liberties_match_flood_fill(game, check_strings=True)


def test_one_move_captures_two_separate_strings():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . X . X .
          3 X O . O X
          2 . X . X .
          1 . . . . .
        """
    )
    assert play(game, "B C3") == [2]
    assert_position(
        game,
        """
          . . . . .
          . X . X .
          X . X . X
          . X . X .
          . . . . .
        """,
    )
    assert game.board.captures == (2, 0)
    assert libs(game, "C3") == 4
    assert game.board.ko is None  # two stones captured: no ko even though each string was one stone


def test_a_string_touching_the_capturing_stone_twice_is_captured_once():
    game = board_from_diagram(
        """
            A B C D E
          5 . X X . .
          4 X O O X .
          3 X O . X .
          2 . X X . .
          1 . . . . .
        """
    )
    assert play(game, "B C3") == [3]
    assert game.board.captures == (3, 0)
    assert_position(
        game,
        """
          . X X . .
          X . . X .
          X . X X .
          . X X . .
          . . . . .
        """,
    )
    assert_liberties_match_flood_fill(game, check_strings=True)


def test_edge_capture():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . . . . .
          3 . . . . .
          2 . . . . .
          1 . X O X .
        """
    )
    assert libs(game, "C1") == 1
    assert play(game, "B C2") == [1]
    assert game.board.colour_at(pt(game, "C1")) == EMPTY
    assert libs(game, "C2") == 4 and libs(game, "B1") == 3 and libs(game, "D1") == 3


def test_corner_capture_of_two_stones():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . . . . .
          3 . . . . .
          2 O X . . .
          1 O X . . .
        """
    )
    assert libs(game, "A1") == libs(game, "A2") == 1
    assert play(game, "B A3") == [2]
    assert_position(
        game,
        """
          . . . . .
          . . . . .
          X . . . .
          . X . . .
          . X . . .
        """,
    )
    assert libs(game, "A3") == 3  # A4, B3, A2
    assert libs(game, "B1") == 5  # B1-B2: A1 C1 A2 C2 B3
def test_corner_single_stone_capture():
    game = board_from_diagram(
        """
            A B C
          3 . . .
          2 . . .
          1 O X .
        """
    )
    assert play(game, "B A2") == [1]
    assert game.board.colour_at(0) == EMPTY
    assert game.board.ko is None  # A2 keeps A3 and B2: two liberties besides A1
    assert libs(game, "A2") == 3


# -- strings ----------------------------------------------------------------------------------


def test_merged_string_counts_shared_liberties_once():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . X . . .
          3 . . X O .
          2 . . . . .
          1 . . . . .
        """
    )
    # B4 and C3 share the liberties B3 (the joining move) and C4.
    assert libs(game, "B4") == 4 and libs(game, "C3") == 3
    play(game, "B B3")
    # B4: A4 B5 C4; B3: A3 B2; C3: (C4) C2; D3 is white.
    assert libs(game, "B4") == libs(game, "B3") == libs(game, "C3") == 6
    assert game.board.string(pt(game, "C3")) == sorted(pt(game, v) for v in ("B4", "B3", "C3"))
    assert libs(game, "D3") == 3  # D4 E3 D2


def test_joining_two_strings_and_taking_a_liberty_of_each_opponent():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . . O . .
          3 X X . X X
          2 . . O . .
          1 . . . . .
        """
    )
    assert libs(game, "A3") == libs(game, "D3") == 5 and libs(game, "C4") == 4
    play(game, "B C3")
    assert libs(game, "A3") == libs(game, "E3") == 8  # A4 A2 B4 B2 D4 D2 E4 E2
    assert libs(game, "C4") == 3 and libs(game, "C2") == 3
    assert_liberties_match_flood_fill(game, check_strings=True)


# -- simple ko ------------------------------------------------------------------------------

KO = """
        A B C D E
      5 . . . . .
      4 . X O . .
      3 X O . O .
      2 . X O . .
      1 . . . . .
    """


def test_ko_capture_bars_the_immediate_recapture():
    game = board_from_diagram(KO)
    assert play(game, "B C3") == [1]
    assert game.board.ko == (pt(game, "B3"), WHITE)
    assert not game.is_legal(WHITE, pt(game, "B3"))
    assert not game.legal_mask(WHITE)[pt(game, "B3")]
    with pytest.raises(IllegalMoveError) as info:
        game.play(WHITE, pt(game, "B3"))
    assert info.value.reason == "ko"
    assert info.value.move == "B3" and info.value.colour == "w"


def test_ko_bars_only_the_other_colour():
    game = board_from_diagram(KO)
    play(game, "B C3")
    assert game.is_legal(BLACK, pt(game, "B3"))
    assert game.legal_mask(BLACK)[pt(game, "B3")]
    assert play(game, "B B3") == [0]  # black may fill the ko itself (two black moves in a row)


def test_ko_recapture_is_legal_after_a_threat_exchange():
    game = board_from_diagram(KO)
    play(game, "B C3 W E5 B E1")
    assert game.board.ko is None
    assert game.is_legal(WHITE, pt(game, "B3"))
    assert play(game, "W B3") == [1]
    # now black is barred from retaking at once
    assert game.board.ko == (pt(game, "C3"), BLACK)
    assert not game.is_legal(BLACK, pt(game, "C3"))
    assert game.is_legal(WHITE, pt(game, "C3"))
    assert_position(
        game,
        """
          . . . . O
          . X O . .
          X O . O .
          . X O . .
          . . . . X
        """,
    )


def test_a_pass_clears_the_ko():
    game = board_from_diagram(KO)
    play(game, "B C3")
    game.play(WHITE, None)
    assert game.board.ko is None
    assert game.is_legal(WHITE, pt(game, "B3"))
    play(game, "B E1")
    assert play(game, "W B3") == [1]


def test_ko_lasts_one_move_only_even_if_the_same_colour_moves_twice():
    game = board_from_diagram(KO)
    play(game, "B C3 B E1")
    assert game.board.ko is None
    assert game.is_legal(WHITE, pt(game, "B3"))


def test_ko_on_the_edge():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . . . . .
          3 . . . . .
          2 . X O . .
          1 X O . O .
        """
    )
    assert play(game, "B C1") == [1]
    assert game.board.ko == (pt(game, "B1"), WHITE)
    assert not game.is_legal(WHITE, pt(game, "B1"))


def test_capturing_one_stone_with_a_stone_that_keeps_two_liberties_is_not_ko():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 . X O . .
          3 X O . . .
          2 . X O . .
          1 . . . . .
        """
    )
    assert play(game, "B C3") == [1]
    assert game.board.ko is None  # C3 keeps D3 and gets B3
    # white B3 is now illegal only as a suicide (two black liberties remain), not as a ko
    assert game.board.check(WHITE, pt(game, "B3")) == _board.ILLEGAL_SUICIDE


# -- snapback -------------------------------------------------------------------------------


def test_snapback_recapture_of_several_stones_is_not_ko():
    game = board_from_diagram(
        """
            A B C D E
          5 . . . . .
          4 X X X . .
          3 O O X . .
          2 O O X . .
          1 . . X . .
        """
    )
    # Black throws in at A1 (self-atari); white takes it with B1, leaving its six stones one liberty: A1.
    assert play(game, "B A1") == [0]
    assert libs(game, "A1") == 1 and libs(game, "A2") == 1
    assert play(game, "W B1") == [1]
    assert game.board.ko is None  # white's capturing stone joined a string: not a ko shape
    assert libs(game, "B1") == 1
    assert game.is_legal(BLACK, pt(game, "A1"))
    assert play(game, "B A1") == [5]
    assert_position(
        game,
        """
          . . . . .
          X X X . .
          . . X . .
          . . X . .
          X . X . .
        """,
    )
    assert game.board.captures == (5, 1)
    assert game.board.ko is None


# -- suicide -------------------------------------------------------------------------------

SINGLE_SUICIDE = """
        A B C
      3 . . .
      2 O . .
      1 . O .
    """

MULTI_SUICIDE = """
        A B C D
      4 . . . .
      3 . . . .
      2 O O . .
      1 . X O .
    """


def test_single_stone_suicide_is_illegal():
    game = board_from_diagram(SINGLE_SUICIDE)
    a1 = pt(game, "A1")
    assert not game.is_legal(BLACK, a1)
    assert not game.legal_mask(BLACK)[a1]
    assert game.is_legal(WHITE, a1)  # white filling its own eye is fine
    with pytest.raises(IllegalMoveError) as info:
        game.play(BLACK, a1)
    assert info.value.reason == "suicide"
    assert game.move_number == 0 and game.board.colour_at(a1) == EMPTY


def test_multi_stone_suicide_is_illegal():
    game = board_from_diagram(MULTI_SUICIDE)
    a1 = pt(game, "A1")
    assert not game.is_legal(BLACK, a1)
    with pytest.raises(IllegalMoveError) as info:
        game.play(BLACK, a1)
    assert info.value.reason == "suicide"
    assert game.board.colour_at(pt(game, "B1")) == BLACK


def test_allowed_single_stone_suicide_removes_the_stone_and_counts_for_the_opponent():
    game = board_from_diagram(SINGLE_SUICIDE, allow_suicide=True)
    before = rendered(game)
    assert game.is_legal(BLACK, 0)
    assert game.play(BLACK, 0) == 0
    assert rendered(game) == before
    assert game.board.captures == (0, 1)
    assert game.history == [(BLACK, 0)] and game.to_move == WHITE
    assert libs(game, "A2") == 3 and libs(game, "B1") == 3  # A1 given back


def test_allowed_multi_stone_suicide_removes_the_whole_string():
    game = board_from_diagram(MULTI_SUICIDE, allow_suicide=True)
    assert game.play(BLACK, pt(game, "A1")) == 0
    assert_position(
        game,
        """
          . . . .
          . . . .
          O O . .
          . . O .
        """,
    )
    assert game.board.captures == (0, 2)
    assert libs(game, "A2") == 5  # A3 B3 A1 B1 C2
    assert_liberties_match_flood_fill(game, check_strings=True)


def test_a_move_without_liberties_that_captures_is_not_suicide():
    game = board_from_diagram(
        """
            A B C
          3 . . .
          2 O X .
          1 . O X
        """
    )
    # Black A1 has no empty neighbour, but white B1 is in atari: A1 captures it.
    a1 = pt(game, "A1")
    assert game.is_legal(BLACK, a1)
    assert game.play(BLACK, a1) == 1
    assert game.board.colour_at(pt(game, "B1")) == EMPTY
    assert libs(game, "A1") == 1
    assert game.board.ko == (pt(game, "B1"), WHITE)  # and this is a ko shape


def test_a_stone_without_empty_neighbours_is_legal_when_its_string_has_liberties_elsewhere():
    game = board_from_diagram(
        """
            A B C
          3 . . .
          2 O X .
          1 . O .
        """
    )
    # White A1 has no empty neighbour, but it joins A2 (which keeps A3) and B1 (which keeps C1).
    assert game.is_legal(WHITE, 0)
    assert game.play(WHITE, 0) == 0
    assert libs(game, "A1") == 2  # A3 and C1
    assert game.board.string(0) == [0, 1, 3]


# -- positional superko ---------------------------------------------------------------------

# 2x2 "send two, return one": after 1. B A1 ... 7. B A1 the position is black A1 alone again.
SEND_TWO_RETURN_ONE = "B A1 W B2 B B1 W A2 B A1 W B1"


def test_sending_two_returning_one_repeats_the_position_simple_ko_allows_it():
    game = Game(2, 0.0)
    assert play(game, SEND_TWO_RETURN_ONE) == [0, 0, 0, 2, 0, 1]
    assert game.board.ko is None  # white's B1 took one stone but joined a three-stone string
    assert game.is_legal(BLACK, 0)
    assert game.play(BLACK, 0) == 3
    assert rendered(game) == ["..", "X."]


def test_sending_two_returning_one_is_rejected_by_superko():
    game = Game(2, 0.0, superko=True)
    play(game, SEND_TWO_RETURN_ONE)
    assert game.board.check(BLACK, 0) == 0  # the compiled board (simple ko) allows it
    assert not game.is_legal(BLACK, 0)
    assert not game.legal_mask(BLACK)[0]
    with pytest.raises(IllegalMoveError) as info:
        game.play(BLACK, 0)
    assert info.value.reason == "superko"
    assert game.move_number == 6 and rendered(game) == ["OO", ".O"]


def test_ko_recapture_after_two_passes_repeats_the_position():
    """A pass clears simple ko, so the immediate retake after B pass W pass is legal under
    simple ko, but it recreates the position before black's capture: superko rejects it."""
    for superko in (False, True):
        game = board_from_diagram(KO, superko=superko)
        play(game, "B C3 W pass B pass")
        assert game.is_legal(WHITE, pt(game, "B3")) is not superko
        assert game.legal_mask(WHITE)[pt(game, "B3")] is not superko
        if superko:
            with pytest.raises(IllegalMoveError) as info:
                play(game, "W B3")
            assert info.value.reason == "superko"
        else:
            assert play(game, "W B3") == [1]


def test_superko_rejects_a_single_stone_suicide_when_suicide_is_allowed():
    # Tromp-Taylor: a one-stone suicide leaves the position unchanged, which is a repetition.
    game = board_from_diagram(SINGLE_SUICIDE, allow_suicide=True, superko=True)
    assert not game.is_legal(BLACK, 0)
    with pytest.raises(IllegalMoveError) as info:
        game.play(BLACK, 0)
    assert info.value.reason == "superko"
    # a multi-stone suicide changes the position: allowed
    game = board_from_diagram(MULTI_SUICIDE, allow_suicide=True, superko=True)
    assert game.is_legal(BLACK, 0)
    assert game.play(BLACK, 0) == 0


def test_legal_mask_agrees_with_is_legal_on_every_point_in_the_superko_positions():
    game = Game(2, 0.0, superko=True)
    for colour, vertex in zip(SEND_TWO_RETURN_ONE.split()[::2], SEND_TWO_RETURN_ONE.split()[1::2]):
        game.play(BLACK if colour == "B" else WHITE, from_gtp(vertex, 2))
        for who in (BLACK, WHITE):
            mask = game.legal_mask(who)
            assert mask.dtype == bool and mask.shape == (4,)
            assert list(mask) == [game.is_legal(who, p) for p in range(4)]
    game = board_from_diagram(KO, superko=True)
    play(game, "B C3 W pass B pass")
    for who in (BLACK, WHITE):
        assert list(game.legal_mask(who)) == [game.is_legal(who, p) for p in range(25)]


# -- undo ----------------------------------------------------------------------------------------


def test_undo_restores_stones_captures_and_returns_the_move():
    game = board_from_diagram(TWO_WHITE_STONES_IN_ATARI)
    before = rendered(game)
    hash_before = game.board.hash
    play(game, "B C2")
    assert game.undo() == (BLACK, pt(game, "C2"))
    assert rendered(game) == before
    assert game.board.captures == (0, 0)
    assert game.board.hash == hash_before
    assert libs(game, "B3") == 1 and libs(game, "B2") == 3
    assert game.move_number == 0 and game.history == []


def test_undo_restores_the_ko_state():
    game = board_from_diagram(KO)
    play(game, "B C3 W E5")
    assert game.board.ko is None
    game.undo()
    assert game.board.ko == (pt(game, "B3"), WHITE)
    assert not game.is_legal(WHITE, pt(game, "B3"))
    game.undo()
    assert game.board.ko is None
    assert game.is_legal(WHITE, pt(game, "C3"))


def test_undo_restores_to_move_and_the_pass_count():
    game = Game(9)
    assert game.to_move == BLACK
    play(game, "B E5 W pass")
    assert game.to_move == BLACK and game.passes == 1
    play(game, "W C3")  # white twice in a row
    assert game.to_move == BLACK
    game.undo()
    assert game.to_move == BLACK and game.passes == 1
    game.undo()
    assert game.to_move == WHITE and game.passes == 0
    game.undo()
    assert game.to_move == BLACK


def test_undo_takes_the_position_out_of_the_superko_history():
    # Same ending as send-two-return-one, reached without black A1 alone on the board.
    approach = "W A2 B pass W B2 B pass W B1"
    game = Game(2, 0.0, superko=True)
    play(game, "B A1")
    game.undo()
    play(game, approach)
    assert game.is_legal(BLACK, 0)
    assert game.play(BLACK, 0) == 3
    # control: with "black A1 alone" really in the history, the same capture is a repetition
    control = Game(2, 0.0, superko=True)
    control.setup(black=[0])
    control.setup(empty=[0])
    play(control, approach)
    assert not control.is_legal(BLACK, 0)


def test_undo_after_undo_all_gives_back_the_initial_game():
    game = board_from_diagram(KO, superko=True)
    fresh = board_from_diagram(KO, superko=True)
    play(game, "B C3 W pass B pass W E5 B B3 W E4")
    while game.history:
        game.undo()
    assert rendered(game) == rendered(fresh)
    assert game.board.hash == fresh.board.hash
    assert game.board.captures == (0, 0) and game.to_move == BLACK
    for who in (BLACK, WHITE):
        assert (game.legal_mask(who) == fresh.legal_mask(who)).all()


def test_undo_across_a_setup_keeps_the_superko_history_right():
    game = Game(3, 0.0, superko=True)
    game.play(BLACK, 0)
    game.setup(white=[8])
    assert game.undo() == (BLACK, 0)
    assert rendered(game) == ["...", "...", "..."]  # undo restores the board before the move
    assert game.is_legal(BLACK, 0)  # the empty board is the only position this game has had


def test_undo_with_no_moves_raises():
    game = Game(9)
    with pytest.raises(IndexError):
        game.undo()
    game.setup(black=[40])
    with pytest.raises(IndexError):  # setup stones are not moves
        game.undo()
    assert game.board.colour_at(40) == BLACK


# -- copy -----------------------------------------------------------------------------------


def test_copy_is_independent_both_ways():
    game = board_from_diagram(KO)
    play(game, "B C3")
    other = game.copy()
    assert other.board is not game.board
    assert rendered(other) == rendered(game) and other.board.ko == game.board.ko
    play(other, "W E5 B E1 W B3")
    assert game.move_number == 1 and game.board.ko == (pt(game, "B3"), WHITE)
    assert game.board.colour_at(pt(game, "C3")) == BLACK
    assert other.board.colour_at(pt(other, "C3")) == EMPTY
    play(game, "W A1")
    assert other.board.colour_at(0) == EMPTY
    assert other.move_number == 4 and other.board.captures == (1, 1)
    assert game.board.captures == (1, 0)


def test_copy_keeps_the_superko_history():
    game = Game(2, 0.0, superko=True)
    play(game, SEND_TWO_RETURN_ONE)
    assert not game.copy().is_legal(BLACK, 0)


def test_undo_and_play_in_one_copy_does_not_change_the_other():
    game = Game(9)
    play(game, "B A1 W J9")
    other = game.copy()
    game.undo()
    play(game, "W E5")  # mutates the board object that `other` keeps as its undo snapshot
    other.undo()
    assert rendered(other) == ["." * 9] * 8 + ["X" + "." * 8]


# -- setup ------------------------------------------------------------------------------------


def test_setup_stones_then_play():
    game = Game(9, 0.5)
    game.setup(black=[pt(game, v) for v in ("C3", "G7", "C7")], white=[pt(game, v) for v in ("G3", "D3")])
    assert game.move_number == 0 and game.to_move == BLACK
    assert libs(game, "C3") == 3 and libs(game, "D3") == 3 and libs(game, "G3") == 4
    game.setup(empty=[pt(game, "C7")])  # AE
    assert game.board.colour_at(pt(game, "C7")) == EMPTY
    game.setup(black=[pt(game, "D4"), pt(game, "D2")])
    assert libs(game, "D3") == 1 and libs(game, "D4") == 3
    assert play(game, "B E3") == [1]
    assert libs(game, "C3") == 4  # C4 B3 C2 + D3 given back
    assert game.board.captures == (1, 0)
    assert_liberties_match_flood_fill(game, check_strings=True)


def test_setup_can_replace_a_stone_of_the_other_colour():
    game = Game(5)
    game.setup(black=[12])
    game.setup(white=[12])
    assert game.board.colour_at(12) == WHITE
    assert libs(game, "C3") == 4


def test_setup_clears_the_ko():
    game = board_from_diagram(KO)
    play(game, "B C3")
    game.setup(black=[pt(game, "E5")])
    assert game.board.ko is None
    assert game.is_legal(WHITE, pt(game, "B3"))


def test_setup_off_the_board_is_rejected():
    game = Game(5)
    with pytest.raises(ValueError):
        game.setup(black=[25])


# -- passes and the end of the game ---------------------------------------------------------------


def test_two_passes_in_a_row_end_the_game():
    game = Game(9)
    assert not game.is_over and game.passes == 0 and game.last_move is None
    game.play(BLACK, None)
    assert not game.is_over and game.passes == 1 and game.to_move == WHITE
    game.play(WHITE, 40)
    assert game.passes == 0
    game.play(BLACK, None)
    game.play(WHITE, None)
    assert game.is_over and game.passes == 2
    assert game.last_move == (WHITE, None) and game.move_number == 4
    assert game.board.move_count == 4
    # moves after the end are still accepted (GTP clean-up phase); the game is then not over
    game.play(BLACK, 0)
    assert not game.is_over


def test_a_pass_is_always_legal():
    game = board_from_diagram(KO)
    play(game, "B C3")
    assert game.is_legal(WHITE, None) and game.is_legal(BLACK, None)
    assert game.play(WHITE, None) == 0


# -- scoring ------------------------------------------------------------------------------------


def sgfmill_area(game: Game) -> int:
    board = sgf_boards.Board(game.size)
    stones = game.stones()
    for r, c in zip(*np.nonzero(stones)):
        board.play(int(r), int(c), "b" if stones[r, c] == BLACK else "w")
    return board.area_score()


def test_empty_board_scores_minus_komi():
    game = Game(9, 7.5)
    assert game.score() == -7.5
    assert game.result() == "W+7.5"
    assert Game(19, 0.0).result() == "0"
    assert Game(5, -3.0).result() == "B+3"


def test_split_board_score():
    game = board_from_diagram(
        """
            A B C D E
          5 . X O . .
          4 . X O . .
          3 . X O . .
          2 . X O . .
          1 . X O . .
        """,
        komi=0.5,
    )
    assert game.board.area_score() == 10 - 15 == sgfmill_area(game)
    assert game.score() == -5.5
    assert game.result() == "W+5.5"


def test_board_with_a_neutral_point():
    game = board_from_diagram(
        """
            A B C D E
          5 . X . O .
          4 . X X O .
          3 . X O O .
          2 . X O . .
          1 . X O . .
        """,
        komi=0.5,
    )
    # Black: 6 stones + column A (5) = 11.  White: 6 stones + E column and D2 D1 (7) = 13.
    # C5 touches B5 / C4 (X) and D5 (O): neutral.
    owner = np.zeros(25, np.int8)
    score = game.board.area_score(owner)
    assert owner[pt(game, "C5")] == EMPTY
    assert owner[pt(game, "A3")] == BLACK and owner[pt(game, "E3")] == WHITE and owner[pt(game, "D1")] == WHITE
    assert (owner == BLACK).sum() == 11 and (owner == WHITE).sum() == 13 and (owner == EMPTY).sum() == 1
    assert score == -2 == sgfmill_area(game)
    assert game.score() == -2.5 and game.result() == "W+2.5"


def test_score_counts_a_region_touching_one_colour_only():
    game = board_from_diagram(
        """
            A B C
          3 . X .
          2 X X X
          1 . O .
        """,
        komi=0.0,
    )
    # A3, C3 black; A1 and C1 touch both colours: neutral.  Black 4 stones + 2 = 6, white 1.
    assert game.board.area_score() == 5 == sgfmill_area(game)
    assert game.result() == "B+5"


def test_result_strings():
    game = board_from_diagram(
        """
          . X O
          . X O
          . X O
        """,
        komi=2.5,
    )
    assert game.score() == 6 - 3 - 2.5 and game.result() == "B+0.5"
    game.komi = 3.0
    assert game.score() == 0 and game.result() == "0"
    game.komi = 6.5
    assert game.result() == "W+3.5"
    game.komi = 0
    assert game.result() == "B+3"


# -- sizes and errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(2, 26))
def test_board_sizes_2_to_25_are_accepted(size):
    game = Game(size)
    assert game.stones().shape == (size, size)
    assert game.legal_mask(BLACK).shape == (size * size,)
    assert game.legal_mask(BLACK).all()
    corner = size * size - 1
    game.play(BLACK, corner)
    assert game.stones()[size - 1, size - 1] == BLACK
    assert game.board.liberties(corner) == 2


@pytest.mark.parametrize("size", [0, 1, 26, 27])
def test_board_sizes_outside_2_to_25_are_rejected(size):
    with pytest.raises(ValueError):
        Game(size)
    with pytest.raises(ValueError):
        Board(size)


def test_illegal_move_error_reasons():
    game = board_from_diagram(KO, superko=True)
    reasons = {}
    for name, colour, move in [
        ("occupied", BLACK, pt(game, "B4")),
        ("occupied", WHITE, pt(game, "B4")),
        ("off board", BLACK, -1),
        ("off board", BLACK, 25),
    ]:
        with pytest.raises(IllegalMoveError) as info:
            game.play(colour, move)
        reasons[name] = info.value.reason
        assert not game.is_legal(colour, move)
    play(game, "B C3")
    with pytest.raises(IllegalMoveError) as info:
        game.play(WHITE, pt(game, "B3"))
    reasons["ko"] = info.value.reason
    suicide = board_from_diagram(SINGLE_SUICIDE)
    with pytest.raises(IllegalMoveError) as info:
        suicide.play(BLACK, 0)
    reasons["suicide"] = info.value.reason
    assert reasons == {r: r for r in ("occupied", "off board", "ko", "suicide")}
    assert set(IllegalMoveError.REASONS) == {"occupied", "ko", "superko", "suicide", "off board"}
    assert isinstance(info.value, GopolicyError) and isinstance(info.value, ValueError)
    assert "suicide" in str(info.value) and "A1" in str(info.value)


def test_an_illegal_move_leaves_the_game_unchanged():
    game = board_from_diagram(KO)
    play(game, "B C3")
    state = (rendered(game), game.board.hash, game.board.ko, game.to_move, list(game.history), game.board.move_count)
    for colour, move in [(WHITE, pt(game, "B3")), (WHITE, pt(game, "C3")), (BLACK, 99)]:
        with pytest.raises(IllegalMoveError):
            game.play(colour, move)
    assert (rendered(game), game.board.hash, game.board.ko, game.to_move, game.history, game.board.move_count) == state


def test_compiled_board_returns_codes_for_illegal_moves():
    board = Board(3)
    assert board.play(BLACK, 4) == 0
    assert board.play(WHITE, 4) == _board.ILLEGAL_OCCUPIED
    assert board.play(WHITE, 9) == _board.ILLEGAL_OFF_BOARD
    assert board.check(WHITE, None) == 0
    with pytest.raises(ValueError):
        board.play(3, 0)  # not a colour


# -- property tests: random games against sgfmill ---------------------------------------------------


def random_game_moves(game: Game, rng: random.Random, max_moves: int, pass_rate: float = 0.03):
    """Plays random legal moves (alternating colours); yields (colour, move, captured) after each."""
    colour = BLACK
    for _ in range(max_moves):
        legal = np.flatnonzero(game.legal_mask(colour))
        move = None if len(legal) == 0 or rng.random() < pass_rate else int(legal[rng.randrange(len(legal))])
        captured = game.play(colour, move)
        yield colour, move, captured
        if game.is_over:
            return
        colour = opponent(colour)


SGFMILL_CODES = {None: EMPTY, "b": BLACK, "w": WHITE}


def sgfmill_stones(reference) -> list[int]:
    """sgfmill's board as a flat list of 0/1/2, row 0 first (the same order as Game.stones())."""
    return [SGFMILL_CODES[cell] for row in reference.board for cell in row]


@pytest.mark.parametrize("size, games, max_moves", [(7, 120, 70), (9, 80, 100)])
def test_random_games_agree_with_sgfmill_board(size, games, max_moves):
    rng = random.Random(20240 + size)
    captures_seen = kos_seen = 0
    for game_number in range(games):
        game = Game(size, 7.5)
        reference = sgf_boards.Board(size)
        total_captured, stones_before = 0, 0
        for colour, move, captured in random_game_moves(game, rng, max_moves):
            total_captured += captured
            if move is None:
                assert game.board.ko is None
                continue
            ko_point = reference.play(*divmod(move, size), "b" if colour == BLACK else "w")
            ours = game.stones().ravel().tolist()
            assert ours == sgfmill_stones(reference), (game_number, game.history)
            stones_after = size * size - ours.count(EMPTY)
            assert captured == stones_before + 1 - stones_after
            stones_before = stones_after
            if ko_point is None:
                assert game.board.ko is None
            else:
                assert game.board.ko == (ko_point[0] * size + ko_point[1], opponent(colour))
                kos_seen += 1
            captures_seen += captured > 0
            if game_number % 5 == 0:
                assert_liberties_match_flood_fill(game, check_strings=game_number % 10 == 0)
        assert sum(game.board.captures) == total_captured
        assert game.board.area_score() == reference.area_score()
    assert captures_seen > games and kos_seen > 0  # the games did exercise captures and ko


def oracle_is_legal(reference, positions, ko, colour, point, allow_suicide) -> tuple[bool, str]:
    """Legality from sgfmill's board alone: occupied / simple ko / suicide / positional superko."""
    row, col = point
    if reference.get(row, col) is not None:
        return False, "occupied"
    if ko is not None and ko == (point, colour):
        return False, "ko"
    after = reference.copy()
    after.play(row, col, colour)
    if after.get(row, col) is None and not allow_suicide:
        return False, "suicide"
    if frozenset(after.list_occupied_points()) in positions:
        return False, "superko"
    return True, ""


@pytest.mark.parametrize("size, allow_suicide", [(3, False), (4, False), (4, True), (5, False)])
def test_superko_legality_agrees_with_an_sgfmill_oracle(size, allow_suicide):
    rng = random.Random(size * 10 + allow_suicide)
    superko_rejections = 0
    for _ in range({3: 12, 4: 6, 5: 4}[size]):
        game = Game(size, 0.5, superko=True, allow_suicide=allow_suicide)
        reference = sgf_boards.Board(size)
        positions = {frozenset()}
        ko = None  # ((row, col), colour barred)
        for colour, move, _captured in random_game_moves(game, rng, 3 * size * size, pass_rate=0.08):
            letter = "b" if colour == BLACK else "w"
            if move is None:
                ko = None
            else:
                ko_point = reference.play(*divmod(move, size), letter)
                ko = None if ko_point is None else (ko_point, "w" if letter == "b" else "b")
                positions.add(frozenset(reference.list_occupied_points()))
            for who in (BLACK, WHITE):
                mask = game.legal_mask(who)
                for p in range(size * size):
                    expected, why = oracle_is_legal(
                        reference, positions, ko, "b" if who == BLACK else "w", divmod(p, size), allow_suicide
                    )
                    assert game.is_legal(who, p) == expected, (to_gtp(p, size), who, why, game.history)
                    assert mask[p] == expected
                    superko_rejections += why == "superko"
    assert superko_rejections > 0  # the random games did reach repetitions
