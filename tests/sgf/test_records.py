"""Reading SGF records into GameRecords (gopolicy.sgf.records), with hand-written SGF."""
from __future__ import annotations

import pytest

from gopolicy.errors import RecordError
from gopolicy.go.coords import BLACK, EMPTY, WHITE, from_sgf
from gopolicy.sgf.records import GameRecord, Setup, check_legal, parse_rank, rank_label, read_game, replay


def flat(sgf_point: str, size: int = 19) -> int:
    return from_sgf(sgf_point, size)


def read(text: str, **kwargs) -> GameRecord:
    return read_game(text.encode("utf-8"), "test.sgf", **kwargs)


def reason_of(data: bytes, **kwargs) -> RecordError:
    with pytest.raises(RecordError) as caught:
        read_game(data, "bad.sgf", **kwargs)
    return caught.value


# -- well-formed records -----------------------------------------------------------


def test_handicap_game_with_root_setup_and_metadata():
    record = read(
        "(;GM[1]FF[4]CA[UTF-8]SZ[19]HA[2]KM[0.50]PB[Lee]BR[3d]PW[Cho]WR[7d?]DT[2006-01-02]RE[W+Resign]"
        "AB[dp][pd];W[qp];B[dd];W[])"
    )
    assert record.source == "test.sgf"
    assert (record.size, record.komi, record.handicap) == (19, 0.5, 2)
    assert record.setups == (Setup(black=tuple(sorted([flat("dp"), flat("pd")])), white=(), empty=(), after_moves=0),)
    assert record.moves == ((WHITE, flat("qp")), (BLACK, flat("dd")), (WHITE, None))
    assert (record.black_name, record.black_rank, record.white_name, record.white_rank) == ("Lee", "3d", "Cho", "7d?")
    assert (record.result, record.date, record.year) == ("W+Resign", "2006-01-02", 2006)
    assert record.stronger_rank == 7
    assert record.passes == 1
    assert record.first_player is None


def test_flat_indices_put_row_zero_at_the_bottom():
    record = read("(;SZ[19];B[aa];W[as];B[sa])")  # top-left, bottom-left, top-right
    assert [move for _, move in record.moves] == [18 * 19, 0, 18 * 19 + 18]


def test_pl_says_who_moves_first():
    record = read("(;SZ[19]PL[W]AB[dd][pp];W[dp])")
    assert record.first_player == WHITE
    assert read("(;SZ[19]PL[b];B[dp])").first_player == BLACK


def test_setup_in_later_nodes_keeps_its_place_among_the_moves():
    record = read("(;SZ[9];B[ee];W[cc];AB[aa]AW[bb][ii];B[gg];AE[ee];W[ee])")
    assert record.moves == ((BLACK, flat("ee", 9)), (WHITE, flat("cc", 9)), (BLACK, flat("gg", 9)), (WHITE, flat("ee", 9)))
    assert record.setups == (
        Setup(black=(flat("aa", 9),), white=tuple(sorted([flat("bb", 9), flat("ii", 9)])), empty=(), after_moves=2),
        Setup(black=(), white=(), empty=(flat("ee", 9),), after_moves=3),
    )


def test_compressed_point_lists_are_expanded():
    record = read("(;SZ[9]AB[aa:bb];B[ee])")
    assert record.setups[0].black == tuple(sorted(flat(p, 9) for p in ("aa", "ab", "ba", "bb")))


def test_two_moves_of_one_colour_in_a_row_are_kept():
    record = read("(;SZ[13];B[dd];B[jj];W[dj])")
    assert [colour for colour, _ in record.moves] == [BLACK, BLACK, WHITE]
    assert record.moves[0] == (BLACK, from_sgf("dd", 13))


@pytest.mark.parametrize("size, text, expected", [
    (19, "B[]", None), (19, "B[tt]", None), (9, "B[tt]", None), (13, "B[]", None), (21, "B[tt]", from_sgf("tt", 21)),
])
def test_passes(size, text, expected):
    record = read(f"(;SZ[{size}];B[cc];W[dd];{text})")
    assert record.moves[-1] == (BLACK, expected)
    assert record.passes == (expected is None)


def test_only_the_main_line_is_read():
    record = read("(;SZ[9];B[ee](;W[cc];B[gg])(;W[gc]))")
    assert record.moves == ((BLACK, flat("ee", 9)), (WHITE, flat("cc", 9)), (BLACK, flat("gg", 9)))


def test_only_the_first_game_of_a_collection_is_read():
    assert read("(;SZ[9];B[ee])(;SZ[13];B[aa];W[bb])").size == 9


def test_defaults_without_properties():
    record = read("(;B[pd])")
    assert (record.size, record.komi, record.handicap, record.first_player, record.setups) == (19, 0.0, 0, None, ())
    assert (record.date, record.year, record.stronger_rank) == ("", None, None)


def test_required_size_accepts_the_right_board():
    assert read("(;SZ[19];B[pd])", size=19).size == 19


def test_empty_game_is_allowed_when_moves_are_not_required():
    record = read("(;SZ[19]AB[dd])", require_moves=False)
    assert record.moves == () and record.setups[0].black == (flat("dd"),)


# -- text encodings ------------------------------------------------------------------


def test_gb2312_names_with_ca():
    record = read_game("(;CA[gb2312]SZ[19]PB[柯洁]PW[古力]BR[9段];B[pd])".encode("gb2312"), "cn.sgf")
    assert (record.black_name, record.white_name, record.encoding) == ("柯洁", "古力", "GB2312")
    assert record.black_rank == "9段" and record.stronger_rank == 9


def test_latin1_names_with_ca():
    record = read_game("(;CA[ISO-8859-1]PB[Müller]PW[Ægir];B[pd])".encode("latin-1"), "de.sgf")
    assert (record.black_name, record.white_name, record.encoding) == ("Müller", "Ægir", "ISO-8859-1")


def test_without_ca_utf8_is_tried_before_latin1():
    assert read_game("(;PB[Müller];B[pd])".encode("utf-8")).black_name == "Müller"
    assert read_game("(;PB[Müller];B[pd])".encode("latin-1")).black_name == "Müller"


def test_unknown_ca_falls_back_instead_of_failing():
    record = read_game("(;CA[no-such-charset]PB[柯洁];B[pd])".encode("utf-8"), "x.sgf")
    assert (record.black_name, record.encoding) == ("柯洁", "UTF-8")
    assert record.moves == ((BLACK, flat("pd")),)


def test_ca_that_does_not_match_the_bytes_falls_back_to_latin1():
    data = "(;CA[UTF-8]PB[柯洁];B[pd])".encode("gb2312")  # lies about its encoding
    record = read_game(data, "liar.sgf")
    assert record.encoding == "ISO-8859-1"
    assert record.black_name == "柯洁".encode("gb2312").decode("latin-1")


def test_override_encoding_wins_over_ca():
    data = "(;CA[ISO-8859-1]PB[柯洁];B[pd])".encode("gb2312")
    assert read_game(data, override_encoding="gb2312").black_name == "柯洁"


def test_escaped_text_is_unescaped():
    assert read(r"(;PB[a\]b]RE[B+\\2];B[pd])").black_name == "a]b"


# -- broken records: exact reason, file name and move number --------------------------


@pytest.mark.parametrize("data", [
    b"",
    b"not an sgf at all",
    b"(;SZ[19];B[pd];W[dp]",  # truncated: never closed
    b"(;SZ[19];B[pd];W[dp",  # truncated inside a value
    b"(;SZ[19]B;W[dp])",  # property without a value
    b"(;SZ[19]();B[pd])",  # empty sequence
])
def test_malformed(data):
    error = reason_of(data)
    assert error.reason == "malformed sgf"
    assert error.source == "bad.sgf" and str(error).startswith("bad.sgf: malformed sgf")


def test_empty_game_has_no_moves():
    error = reason_of(b"(;GM[1]SZ[19]PB[x]PW[y]AB[dd])")
    assert (error.reason, error.move_number) == ("no moves", None)
    assert str(error) == "bad.sgf: no moves"


def test_wrong_board_size_when_19_is_required():
    error = reason_of(b"(;SZ[9];B[ee])", size=19)
    assert error.reason == "board size"
    assert str(error) == "bad.sgf: board size: 9x9, not 19x19"


@pytest.mark.parametrize("sz", [b"abc", b"19:17", b"1", b"30", b""])
def test_unsupported_board_size(sz):
    assert reason_of(b"(;SZ[" + sz + b"];B[aa])").reason == "board size"


def test_move_off_the_board_names_the_move():
    error = reason_of(b"(;SZ[9];B[ee];W[cc];B[zz])")
    assert (error.reason, error.move_number) == ("bad property", 3)
    assert str(error) == "bad.sgf, move 3: bad property: B[zz] is not a point on a 9x9 board"


def test_bad_setup_point_in_a_later_node_names_the_next_move():
    error = reason_of(b"(;SZ[9];B[ee];W[cc];AB[z];B[gg])")
    assert (error.reason, error.move_number) == ("bad property", 3)


@pytest.mark.parametrize("text, detail", [
    ("KM[six]", "KM[six]"), ("HA[two]", "HA[two]"), ("HA[-1]", "HA[-1]"), ("PL[X]", "PL[X]"), ("GM[2]", "GM[2] is not a Go record"),
])
def test_bad_root_property(text, detail):
    error = reason_of(f"(;SZ[19]{text};B[pd])".encode())
    assert error.reason == "bad property"
    assert str(error) == f"bad.sgf: bad property: {detail}"


def test_only_record_errors_escape_on_random_bytes():
    import random

    generator = random.Random(7)
    pieces = [b"(", b")", b";", b"B[", b"W[", b"]", b"pd", b"SZ[", b"AB[", b"aa:", b"\\", b"CA[", b"HA[", b"KM["]
    for _ in range(500):
        data = b"".join(generator.choice(pieces) for _ in range(generator.randint(1, 30)))
        try:
            read_game(data, "fuzz.sgf")
        except RecordError:
            pass


# -- replaying under the rules -------------------------------------------------------------


def stone(game, sgf_point: str) -> int:
    row, col = divmod(from_sgf(sgf_point, game.size), game.size)
    return int(game.stones()[row, col])


def test_replay_yields_the_position_before_each_move_with_the_recorded_colour():
    record = read("(;SZ[19]HA[2]AB[dp][pd];W[qp];B[dd];W[])")
    seen = []
    for game, colour, move in replay(record):
        seen.append((game.move_number, colour, move, stone(game, "dp"), stone(game, "qp")))
    assert seen == [
        (0, WHITE, flat("qp"), BLACK, EMPTY),  # handicap stones are there before move 1
        (1, BLACK, flat("dd"), BLACK, WHITE),
        (2, WHITE, None, BLACK, WHITE),
    ]
    assert game.komi == 0.0 and game.size == 19


def test_replay_places_later_setup_stones_between_the_right_moves():
    record = read("(;SZ[9];B[ee];W[cc];AB[aa]AE[ee];B[gg];W[ee])")
    states = [(stone(g, "aa"), stone(g, "ee")) for g, _, _ in replay(record)]
    assert states == [(EMPTY, EMPTY), (EMPTY, BLACK), (BLACK, EMPTY), (BLACK, EMPTY)]


def test_replay_accepts_two_moves_of_one_colour_in_a_row():
    record = read("(;SZ[9];B[ee];B[cc];B[gg];W[cg])")
    assert [colour for _, colour, _ in replay(record)] == [BLACK, BLACK, BLACK, WHITE]
    assert check_legal(record) is record


def test_replay_on_13x13_uses_the_record_size():
    record = read("(;SZ[13]KM[6.5];B[aa];W[mm])")
    games = [(g.size, g.komi) for g, _, _ in replay(record)]
    assert games == [(13, 6.5), (13, 6.5)]


def test_captures_are_applied():
    record = read("(;SZ[9];B[ba];W[aa];B[ab];W[ee];B[ff])")  # B[ab] captures W[aa]
    positions = [stone(g, "aa") for g, _, _ in replay(record)]
    assert positions == [EMPTY, EMPTY, WHITE, EMPTY, EMPTY]


@pytest.mark.parametrize("text, number, detail", [
    ("(;SZ[9];B[ee];W[cc];B[ee])", 3, "B E5 (ee): occupied"),  # onto a stone
    ("(;SZ[9]AB[ee];W[gg];B[ee])", 2, "B E5 (ee): occupied"),  # onto a setup stone
    ("(;SZ[9];B[ba];W[gg];B[ab];W[aa])", 4, "W A9 (aa): suicide"),
    ("(;SZ[9]AB[ba][ab][bc]AW[ca][bb][db][cc];B[cb];W[bb])", 2, "W B8 (bb): ko"),  # immediate ko recapture
])
def test_illegal_moves_name_the_file_and_move(text, number, detail):
    record = read_game(text.encode(), "games/bad.sgf")
    steps = []
    with pytest.raises(RecordError) as caught:
        for _game, _colour, move in replay(record):
            steps.append(move)
    error = caught.value
    assert (error.reason, error.source, error.move_number) == ("illegal move", "games/bad.sgf", number)
    assert str(error) == f"games/bad.sgf, move {number}: illegal move: {detail}"
    assert len(steps) == number  # every position up to the illegal move was yielded


def test_ko_can_be_retaken_after_a_move_elsewhere():
    record = read("(;SZ[9]AB[ba][ab][bc]AW[ca][bb][db][cc];B[cb];W[gg];B[hh];W[bb])")
    assert check_legal(record) is record


def test_suicide_is_legal_when_allowed():
    record = read("(;SZ[9];B[ba];W[gg];B[ab];W[aa])")
    assert check_legal(record, allow_suicide=True) is record
    with pytest.raises(RecordError):
        check_legal(record)


# -- ranks ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("9d", 9), ("7d?", 7), ("1d", 1), ("1k", 0), ("3k", -2), ("30k", -29), ("2p", 11), ("9p", 18),
    ("5 dan", 5), ("1 Kyu", 0), ("9段", 9), ("", None), ("-", None), ("?", None), ("10d", None), ("pro", None), ("3dx", None),
])
def test_parse_rank(text, value):
    assert parse_rank(text) == value


def test_ranks_order_by_strength_and_round_trip():
    labels = ["15k", "1k", "1d", "9d", "1p", "9p"]
    values = [parse_rank(label) for label in labels]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert [rank_label(v) for v in values] == labels
