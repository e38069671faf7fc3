"""scripts/atari_losses.py on hand-built games: why each captured string of the engine was lost."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from atari_losses import classify  # noqa: E402

from gopolicy.go.coords import BLACK, WHITE  # noqa: E402
from gopolicy.sgf.records import read_game  # noqa: E402

# Black's string c3-e3 (SGF cc dc ec) walled in by White.
WALL = "AB[cc][dc][ec]AW[bc][fc][cb][db][eb][cd]"


def record(setup: str, moves: str):
    return read_game(f"(;SZ[9]KM[0]PB[engine]PW[other]{setup}{moves})".encode())


def test_a_savable_string_left_in_atari_and_captured_was_ignored():
    # Black's c7-c5 (SGF cc cd ce) can run to c4 (cf), which has three empty neighbours.
    game = record("AB[cc][cd][ce]AW[cb][bc][dc][bd][dd][be][de]", ";B[ii];W[cf]")
    strings, stones, missed = classify(game, BLACK, 3, 12)
    assert strings == {"ignored": 1} and stones == {"ignored": 3} and missed == 0


def test_a_string_that_no_move_saves_was_doomed():
    game = record(WALL + "AW[dd]", ";B[aa];W[ed]")  # running to ed gives two liberties and a lost ladder
    strings, stones, _ = classify(game, BLACK, 3, 12)
    assert strings == {"doomed": 1} and stones == {"doomed": 3}


def test_a_move_that_fills_its_own_strings_second_liberty_is_self_atari():
    game = record(WALL + "AW[de]", ";B[dd];W[ed]")  # liberties dd and ed; Black fills dd
    strings, stones, _ = classify(game, BLACK, 3, 12)
    assert strings == {"self-atari": 1} and stones == {"self-atari": 4}


def test_small_strings_and_the_other_colour_are_not_counted():
    game = record(WALL + "AW[dd]", ";B[aa];W[ed]")
    assert classify(game, BLACK, 4, 12)[0] == {}
    assert classify(game, WHITE, 3, 12)[0] == {}


def test_an_opponent_string_in_atari_that_escapes_is_a_missed_capture():
    # White's string c3-e3 has one liberty (ed); Black plays elsewhere and White extends.
    swapped = record("AW[cc][dc][ec]AB[bc][fc][cb][db][eb][cd][dd]", ";B[aa];W[ed]")
    assert classify(swapped, BLACK, 3, 12)[2] == 1


def test_a_string_that_runs_from_atari_and_is_caught_was_chased():
    # Black's b9-d9 (SGF ba ca da) on the top edge has one liberty, a9; running there leaves one (a8).
    game = record("AB[ba][ca][da]AW[ea][bb][cb][db]", ";B[aa];W[ab]")
    strings, stones, _ = classify(game, BLACK, 3, 12)
    assert strings == {"chased": 1} and stones == {"chased": 4}


def test_a_string_given_up_for_a_bigger_capture_is_a_trade():
    # Black leaves c3-e3 in atari to capture White's four stones f9-i9 (SGF fa-ia), in atari at e9.
    game = record(WALL + "AW[dd][fa][ga][ha][ia]AB[fb][gb][hb][ib]", ";B[ea];W[ed]")
    strings, stones, _ = classify(game, BLACK, 3, 12)
    assert strings == {"trade": 1} and stones == {"trade": 3}
