"""gopolicy.go.coords: one vocabulary for points, GTP vertices and SGF points.

Orientation reminder (sgfmill's): row 0 is the BOTTOM of the board, so GTP
``A1`` is flat 0 and SGF ``aa`` is the TOP-left corner.
"""
import itertools
import string

import pytest
from sgfmill import sgf_properties

from gopolicy.go.coords import (
    BLACK,
    GTP_COLUMNS,
    MAX_SIZE,
    MIN_SIZE,
    WHITE,
    check_size,
    colour_letter,
    from_flat,
    from_gtp,
    from_sgf,
    move_to_point,
    neighbours,
    opponent,
    parse_colour,
    point_to_move,
    to_flat,
    to_gtp,
    to_sgf,
)

# -- colours -------------------------------------------------------------------------------


def test_opponent_swaps_the_two_colours():
    assert opponent(BLACK) == WHITE
    assert opponent(WHITE) == BLACK


@pytest.mark.parametrize("text", ["b", "B", "black", "Black", " BLACK "])
def test_parse_colour_black_spellings(text):
    assert parse_colour(text) == BLACK


@pytest.mark.parametrize("text", ["w", "W", "white", "WHITE"])
def test_parse_colour_white_spellings(text):
    assert parse_colour(text) == WHITE


@pytest.mark.parametrize("text", ["", "x", "e", "empty", "bl", "blackwhite"])
def test_parse_colour_rejects_non_colours(text):
    with pytest.raises(ValueError):
        parse_colour(text)


def test_colour_letter_uses_sgfmill_names():
    assert colour_letter(BLACK) == "b"
    assert colour_letter(WHITE) == "w"


# -- sizes ---------------------------------------------------------------------------------


def test_supported_sizes_are_2_to_25():
    assert (MIN_SIZE, MAX_SIZE) == (2, 25)
    for size in range(2, 26):
        assert check_size(size) == size


@pytest.mark.parametrize("size", [-1, 0, 1, 26, 100])
def test_check_size_rejects_unsupported_sizes(size):
    with pytest.raises(ValueError):
        check_size(size)


def test_gtp_columns_skip_i_and_cover_25_columns():
    assert len(GTP_COLUMNS) == 25
    assert "I" not in GTP_COLUMNS
    assert GTP_COLUMNS[7] == "H" and GTP_COLUMNS[8] == "J"
    assert GTP_COLUMNS[18] == "T" and GTP_COLUMNS[24] == "Z"


# -- flat indices --------------------------------------------------------------------------


def test_flat_index_is_row_major_from_the_bottom():
    assert to_flat(0, 0, 19) == 0
    assert to_flat(0, 18, 19) == 18
    assert to_flat(1, 0, 19) == 19
    assert to_flat(18, 18, 19) == 360
    assert from_flat(20, 19) == (1, 1)
    assert from_flat(80, 9) == (8, 8)


@pytest.mark.parametrize("row, col", [(-1, 0), (0, -1), (9, 0), (0, 9), (9, 9)])
def test_to_flat_rejects_off_board(row, col):
    with pytest.raises(ValueError):
        to_flat(row, col, 9)


def test_sgfmill_move_form_round_trip():
    assert move_to_point(None, 19) is None
    assert point_to_move(None, 19) is None
    assert move_to_point(41, 19) == (2, 3)
    assert point_to_move((2, 3), 19) == 41
    with pytest.raises(ValueError):
        point_to_move((19, 0), 19)


# -- the four corners, in every form --------------------------------------------------------

# size, (row, col), flat, GTP vertex, SGF point
CORNERS = [
    (19, (0, 0), 0, "A1", "as"),
    (19, (0, 18), 18, "T1", "ss"),
    (19, (18, 0), 342, "A19", "aa"),
    (19, (18, 18), 360, "T19", "sa"),
    (9, (0, 0), 0, "A1", "ai"),
    (9, (0, 8), 8, "J1", "ii"),
    (9, (8, 0), 72, "A9", "aa"),
    (9, (8, 8), 80, "J9", "ia"),
    (25, (0, 0), 0, "A1", "ay"),
    (25, (0, 24), 24, "Z1", "yy"),
    (25, (24, 0), 600, "A25", "aa"),
    (25, (24, 24), 624, "Z25", "ya"),
    (2, (1, 1), 3, "B2", "ba"),
]


@pytest.mark.parametrize("size, point, flat, vertex, sgf_point", CORNERS)
def test_corner_conversions(size, point, flat, vertex, sgf_point):
    assert to_flat(*point, size) == flat
    assert from_flat(flat, size) == point
    assert to_gtp(flat, size) == vertex
    assert from_gtp(vertex, size) == flat
    assert to_sgf(flat, size) == sgf_point
    assert from_sgf(sgf_point, size) == flat


def test_h_is_followed_by_j_on_the_board():
    """Column index 7 is H, 8 is J: H8 and J8 are horizontal neighbours."""
    h8, j8 = from_gtp("H8", 19), from_gtp("J8", 19)
    assert from_flat(h8, 19) == (7, 7)
    assert from_flat(j8, 19) == (7, 8)
    assert j8 == h8 + 1
    assert to_gtp(h8 + 1, 19) == "J8"
    assert to_gtp(from_gtp("K8", 19) - 1, 19) == "J8"
    assert from_gtp("J1", 9) == 8  # the last column of a 9x9 board is J


@pytest.mark.parametrize("vertex", ["d4", "D4", " d4 ", "D4\n"])
def test_gtp_vertices_are_case_insensitive(vertex):
    assert from_gtp(vertex, 19) == to_flat(3, 3, 19)


def test_lower_case_j_and_t():
    assert from_gtp("j10", 19) == from_gtp("J10", 19) == 9 * 19 + 8
    assert from_gtp("t19", 19) == 360


@pytest.mark.parametrize("vertex", ["pass", "PASS", "Pass", " pass "])
def test_gtp_pass(vertex):
    assert from_gtp(vertex, 19) is None


def test_to_gtp_pass():
    assert to_gtp(None, 19) == "pass"
    assert to_gtp(None, 9) == "pass"


@pytest.mark.parametrize(
    "vertex, size",
    [
        ("I5", 19),  # there is no column I
        ("i5", 19),
        ("Z99", 19),
        ("A0", 19),
        ("T20", 19),
        ("U1", 19),  # the 20th column
        ("K10", 9),
        ("K9", 9),  # K is the 10th column: off a 9x9 board
        ("A10", 9),
        ("A26", 25),
        ("", 19),
        ("A", 19),
        ("4", 19),
        ("44", 19),
        ("D", 19),
        ("DD", 19),
        ("D-4", 19),
        ("D 4", 19),
        ("D4.0", 19),
        ("passs", 19),
        ("resign", 19),
    ],
)
def test_gtp_rejects_malformed_and_off_board_vertices(vertex, size):
    with pytest.raises(ValueError):
        from_gtp(vertex, size)


def test_k9_is_a_9x9_vertex_only_when_it_is_on_the_board():
    # On 9x9 the columns are A..H, J: "K9" would be column 10.  On 10x10 K9 is real.
    assert from_gtp("J9", 9) == 80
    assert from_gtp("K9", 10) == 8 * 10 + 9
    assert from_gtp("K10", 10) == 99
    with pytest.raises(ValueError):
        from_gtp("K10", 9)


# -- SGF points ----------------------------------------------------------------------------


def test_sgf_points_count_rows_from_the_top():
    assert from_sgf("aa", 19) == to_flat(18, 0, 19)
    assert from_sgf("dd", 19) == from_gtp("D16", 19)
    assert from_sgf("pd", 19) == from_gtp("Q16", 19)
    assert from_sgf("dp", 19) == from_gtp("D4", 19)
    assert to_sgf(from_gtp("Q4", 19), 19) == "pp"


def test_sgf_pass_forms():
    assert from_sgf("", 19) is None
    assert from_sgf("", 25) is None
    assert from_sgf("tt", 9) is None
    assert from_sgf("tt", 19) is None
    assert to_sgf(None, 19) == ""
    assert to_sgf(None, 9) == ""


@pytest.mark.parametrize("size", [20, 21, 23, 25])
def test_sgf_tt_is_a_real_point_above_19x19(size):
    # 't' is column 19 and row 19 from the top.
    assert from_sgf("tt", size) == to_flat(size - 20, 19, size)
    assert to_sgf(to_flat(size - 20, 19, size), size) == "tt"


@pytest.mark.parametrize(
    "text, size",
    [
        ("ja", 9),  # column 10 on 9x9
        ("aj", 9),
        ("ss", 9),
        ("za", 25),  # 'z' is column 26
        ("ta", 19),  # only the exact 'tt' is a pass
        ("at", 19),
        ("AA", 19),
        ("Aa", 19),
        ("a", 19),
        ("abc", 19),
        ("a1", 19),
        ("11", 19),
        ("a ", 19),
    ],
)
def test_sgf_rejects_malformed_and_off_board_points(text, size):
    with pytest.raises(ValueError):
        from_sgf(text, size)


# -- round trips over whole boards ---------------------------------------------------------


@pytest.mark.parametrize("size", [9, 19, 25])
def test_round_trips_for_every_point(size):
    gtp_seen, sgf_seen = set(), set()
    for flat in range(size * size):
        row, col = from_flat(flat, size)
        assert to_flat(row, col, size) == flat
        vertex = to_gtp(flat, size)
        assert from_gtp(vertex, size) == flat
        assert from_gtp(vertex.lower(), size) == flat
        point = to_sgf(flat, size)
        assert len(point) == 2
        assert from_sgf(point, size) == flat
        # the three forms chained: flat -> gtp -> flat -> sgf -> flat -> gtp
        assert to_gtp(from_sgf(to_sgf(from_gtp(vertex, size), size), size), size) == vertex
        assert vertex[0] == GTP_COLUMNS[col] and int(vertex[1:]) == row + 1
        gtp_seen.add(vertex)
        sgf_seen.add(point)
    # every point got its own text, in both vocabularies
    assert len(gtp_seen) == len(sgf_seen) == size * size
    assert not any(v.startswith("I") for v in gtp_seen)


@pytest.mark.parametrize("size", [2, 3, 5, 7, 9, 13, 19, 20, 21, 25])
def test_to_sgf_agrees_with_sgfmill_serialise_go_point(size):
    for flat in range(size * size):
        point = from_flat(flat, size)
        assert to_sgf(flat, size).encode("ascii") == sgf_properties.serialise_go_point(point, size)


@pytest.mark.parametrize("size", [2, 9, 19, 20, 25])
def test_from_sgf_agrees_with_sgfmill_interpret_go_point(size):
    """Every two-letter lower-case text, on and off the board, including 'tt'."""
    letters = string.ascii_lowercase
    for a, b in itertools.product(letters, letters):
        text = a + b
        try:
            expected = sgf_properties.interpret_go_point(text.encode("ascii"), size)
        except ValueError:
            with pytest.raises(ValueError):
                from_sgf(text, size)
            continue
        assert from_sgf(text, size) == point_to_move(expected, size), text


@pytest.mark.parametrize("size", [9, 19, 20, 25])
def test_passes_agree_with_sgfmill(size):
    # sgfmill writes 'tt' for a pass up to 19x19 and '' above; both read back as a pass here.
    assert from_sgf(sgf_properties.serialise_go_point(None, size).decode(), size) is None
    assert sgf_properties.interpret_go_point(to_sgf(None, size).encode(), size) is None


def test_neighbours_are_the_on_board_points_next_to_a_point():
    assert sorted(neighbours(0, 19)) == [1, 19]  # a corner
    assert sorted(neighbours(to_flat(0, 5, 19), 19)) == [4, 6, 24]  # an edge
    assert sorted(neighbours(to_flat(3, 3, 9), 9)) == [21, 29, 31, 39]
    assert sorted(neighbours(80, 9)) == [71, 79]
