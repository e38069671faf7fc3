"""The GTP engine as GUIs see it: the real launcher in a subprocess (framing, a recorded
Sabaki session, quitting), and the engine in-process (board commands, move choice on
hand-built positions, analysis output parsed the way Sabaki and GoGui parse it)."""
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from gtp_driver import INFO, LAUNCHER, ROOT, TRANSCRIPTS, EngineProcess, replay_transcript, sabaki_parse

from gopolicy.go.coords import WHITE, from_gtp
from gopolicy.gtp import GtpEngine
from gopolicy.gtp.analysis import HEAT_COLOURS, POLICY_COMMANDS
from gopolicy.gtp.engine import _no_model
from gopolicy.gtp.loading import BackgroundPlayer
from gopolicy.nn.modelfile import save_model

TRANSCRIPT = TRANSCRIPTS / "sabaki_session.gtp"


# -- the engine in a subprocess --------------------------------------------------------------


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, tiny_model) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    model, info = tiny_model()
    save_model(path, model, info.feature_set)
    return path


@pytest.fixture(scope="module")
def engine_process(model_path):
    engine = EngineProcess("--model", str(model_path), "--threads", "1", "--playouts", "0")  # the raw policy
    yield engine
    engine.close()


def test_framing_ids_comments_cr_tabs_and_empty_lines(engine_process):
    engine = engine_process
    assert engine.ask("12 name") == "=12 gopolicy\n\n"
    assert engine.ask("0 protocol_version") == "=0 2\n\n"
    engine.send("\n   \n# just a comment\n\t\n17 name\r\n")
    assert engine.response() == "=17 gopolicy\n\n"
    assert engine.ask("18\tknown_command\tplay  # trailing comment") == "=18 true\n\n"
    assert engine.ask("boardsize 9") == "=\n\n"
    assert engine.ask("play b e5") == "=\n\n"
    assert engine.ask("19 undo") == "=19\n\n"


def test_pipelined_commands_are_answered_in_order(engine_process):
    engine_process.send("21 protocol_version\n22 no_such_command\n23 known_command name\n24 name\n")
    answers = [engine_process.response() for _ in range(4)]
    assert answers == ["=21 2\n\n", "?22 unknown command\n\n", "=23 true\n\n", "=24 gopolicy\n\n"]


@pytest.mark.parametrize("command", ["no_such_command", "play X D4", "play B Z99", "play B", "boardsize abc",
                                     "boardsize 26", "komi abc", "genmove X", "genmove", "lz-analyze X 10",
                                     "lz-analyze B interval", "genmove_analyze", "gopolicy-policy_top purple",
                                     "loadsgf /no/such/file.sgf"])
def test_bad_input_is_an_error_and_the_engine_goes_on(engine_process, command):
    answer = engine_process.ask("31 " + command)
    assert answer.startswith("?31 ") and answer.endswith("\n\n") and answer.count("\n") == 2
    assert engine_process.ask("32 name") == "=32 gopolicy\n\n"


def test_genmove_on_9x9_in_the_real_engine(engine_process):
    engine = engine_process
    for command in ("boardsize 9", "clear_board", "komi 7", "play B E5"):
        assert engine.ask(command) == "=\n\n"
    answer = engine.ask("genmove W")
    vertex = re.fullmatch(r"= ([A-HJ])([1-9])\n\n", answer)
    assert vertex, answer
    assert engine.ask(f"play B {vertex.group(1)}{vertex.group(2)}") == "? illegal move\n\n", "the move was played"
    assert engine.ask("boardsize 19") == "=\n\n"


def test_analysis_streams_until_the_next_command(engine_process):
    engine = engine_process
    engine.ask("clear_board")
    engine.send("41 lz-analyze B 2\n")
    assert engine.line() == "=41\n"
    first = engine.line()
    assert re.fullmatch(rf"{INFO}( {INFO})*\n", first)
    assert engine.line() == first, "the line comes again every interval"
    engine.send("42 name\n")
    line = engine.line()
    while line == first:
        line = engine.line()
    assert line == "\n", "the analysis ends with the empty line"
    assert engine.response() == "=42 gopolicy\n\n"


def test_recorded_gui_session(engine_process):
    """The last test of the shared engine: the session ends with quit."""
    assert replay_transcript(engine_process, TRANSCRIPT.read_text()) > 50
    assert engine_process.process.wait(timeout=10) == 0, "quit ends the process"
    assert engine_process.lines.get(timeout=5) is None, "nothing after the last response"


def test_quit_ends_the_engine_at_once_from_any_directory(model_path, tmp_path):
    engine = EngineProcess("--model", str(model_path), cwd=tmp_path)
    try:
        assert engine.ask("quit") == "=\n\n"
        start = time.monotonic()
        assert engine.process.wait(timeout=10) == 0
        assert time.monotonic() - start < 3
    finally:
        engine.close()


def test_end_of_input_ends_the_engine(model_path):
    engine = EngineProcess("--model", str(model_path))
    try:
        assert engine.ask("name") == "= gopolicy\n\n"
        engine.process.stdin.close()
        assert engine.process.wait(timeout=10) == 0
    finally:
        engine.close()


def test_the_engine_answers_before_torch_has_loaded():
    """torch (about 2 s to import here) loads in the background: the GTP front end must not import it."""
    code = "import sys, gopolicy.gtp.engine, gopolicy.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_a_missing_model_file_is_reported_on_stderr():
    result = subprocess.run([sys.executable, str(LAUNCHER), "--model", "/no/such/model.pt"], input="name\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert "no such model file" in result.stderr


# -- the engine in-process --------------------------------------------------------------------



def ok(engine: GtpEngine, line: str) -> str:
    """The text of a successful response."""
    answer = engine.respond(line)
    assert answer.startswith("= ") or answer == "=\n\n", f"{line!r} -> {answer!r}"
    return answer[2:].rstrip("\n")


def setup_board(engine: GtpEngine, size: int, diagram: str = "", komi: float = 0) -> None:
    """boardsize, clear_board, komi, then the diagram's stones (top row first) as play commands."""
    ok(engine, f"boardsize {size}")
    ok(engine, "clear_board")
    ok(engine, f"komi {komi}")
    rows = diagram.split()
    for i, row in enumerate(rows):
        for col, mark in enumerate(row):
            if mark in "XO":
                ok(engine, f"play {'B' if mark == 'X' else 'W'} {'ABCDEFGHJKLMNOPQRST'[col]}{len(rows) - i}")


@pytest.fixture
def engine(make_player) -> GtpEngine:
    torch.set_num_threads(1)
    return GtpEngine(make_player())


def test_board_commands(engine):
    setup_board(engine, 9)
    ok(engine, "play B C3")
    ok(engine, "play W D3")
    assert ok(engine, "list_stones black") == "C3" and ok(engine, "list_stones white") == "D3"
    assert engine.respond("play B C3") == "? illegal move\n\n"
    ok(engine, "undo")
    assert ok(engine, "list_stones white") == ""
    assert "X" in ok(engine, "showboard")
    assert ok(engine, "is_legal w c3") == "0" and ok(engine, "is_legal w d3") == "1"
    ok(engine, "boardsize 13")
    assert ok(engine, "list_stones black") == "", "a new size clears the board"


def test_final_score_on_a_hand_built_board(engine):
    setup_board(engine, 5, """
        ..XO.
        ..XO.
        ..XO.
        ..XO.
        ..XO.
    """, komi=6.5)  # black 15 points, white 10
    assert ok(engine, "final_score") == "W+1.5"
    ok(engine, "komi 0.5")
    assert ok(engine, "final_score") == "B+4.5"


def test_final_status_list_and_score_remove_the_dead_stones(engine):
    setup_board(engine, 9, """
        ...X.O...
        ...X.O...
        .O.X.O...
        ...X.O...
        ...X.O...
        ...X.O...
        ...X.O...
        ...X.O...
        ...X.O...
    """, komi=0.5)  # Black A-D, White F-J, the white stone at B7 dead in Black's area
    assert ok(engine, "final_status_list dead") == "B7"
    alive = ok(engine, "final_status_list alive").split()
    assert len(alive) == 18 and "B7" not in alive and "D5" in alive and "F5" in alive
    assert ok(engine, "final_status_list seki") == ""
    assert ok(engine, "final_score") == "W+0.5"  # 36 - 36 - 0.5 once B7 is off; Tromp-Taylor alone says W+28.5


def test_final_status_list_seki_names_the_strings_in_seki(engine):
    setup_board(engine, 9, """
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
        ..XO.XO..
    """, komi=0.5)  # White's D column and Black's F column share the E liberties: seki
    seki = set(ok(engine, "final_status_list seki").split())
    assert seki == {f"{c}{r}" for c in "DF" for r in range(1, 10)}
    assert ok(engine, "final_status_list dead") == ""
    alive = set(ok(engine, "final_status_list alive").split())
    assert seki < alive and len(alive) == 36
    assert ok(engine, "final_score") == "W+0.5"  # 36 points each (A-C and F, D and G-J), the E column nobody's


def test_genmove_avoids_its_eye_and_passes_when_nothing_sensible_is_left(make_player):
    engine = GtpEngine(make_player(favour=("A5", 5)))
    setup_board(engine, 5, """
        .X.X.
        XXXXX
        XX.XX
        XXXX.
        .X.XO
    """)
    move = ok(engine, "genmove B")
    assert move not in ("A5", "C5", "E5", "C3", "A1", "C1", "pass"), "only E2 is sensible: capture-free, no eye"
    assert move == "E2", "(it captures E1)"
    assert ok(engine, "genmove B") == "pass", "every empty point is now an eye of black's"
    assert ok(engine, "genmove W") == "pass", "and suicide for white"


def test_genmove_never_plays_an_illegal_move_on_hand_built_positions(make_player):
    ko = """
        .....
        .XO..
        XO.O.
        .XO..
        .....
    """
    engine = GtpEngine(make_player(favour=("B3", 5)))
    setup_board(engine, 5, ko)
    ok(engine, "play B C3")  # takes the ko
    assert ok(engine, "genmove W") != "B3", "the immediate recapture is illegal"
    engine = GtpEngine(make_player(favour=("A5", 5)))
    setup_board(engine, 5, """
        .X...
        X....
        .....
        .....
        .....
    """)
    assert ok(engine, "genmove W") != "A5", "suicide"


def test_cleanup_removes_dead_stones_instead_of_passing(engine):
    setup_board(engine, 7, """
        .......
        .......
        ...O...
        .......
        .......
        XXXXXXX
        .......
    """, komi=0.5)
    ok(engine, "play W pass")
    assert ok(engine, "genmove B") == "pass", "black leads on the Tromp-Taylor count"
    ok(engine, "undo")
    ok(engine, "play W pass")
    for _ in range(4):
        assert ok(engine, "kgs-genmove_cleanup B") in ("C5", "E5", "D6", "D4")
        ok(engine, "play W pass")
    assert ok(engine, "list_stones white") == "", "the dead stone is gone"
    assert ok(engine, "kgs-genmove_cleanup B") == "pass"


def test_a_whole_9x9_game_ends_with_legal_moves_only(engine):
    setup_board(engine, 9, komi=7.5)
    colour, passes, moves = "B", 0, 0
    while passes < 2:
        move = ok(engine, f"genmove {colour}")
        assert move != "resign"
        passes = passes + 1 if move == "pass" else 0
        colour, moves = ("W" if colour == "B" else "B"), moves + 1
        assert moves < 3 * 81, "the game did not end"
    assert engine.game.is_over and re.fullmatch(r"[BW]\+\d+(\.5)?", ok(engine, "final_score"))


def test_an_engine_without_a_model_answers_and_says_why_it_cannot_move():
    engine = GtpEngine(BackgroundPlayer(_no_model))
    assert ok(engine, "name") == "gopolicy" and "lz-analyze" in ok(engine, "list_commands")
    answer = engine.respond("genmove B")
    assert answer.startswith("? no model") and "--model" in answer
    assert engine.respond("lz-analyze B 10").startswith("? no model")


def test_loadsgf_loads_the_position_before_a_move(engine, tmp_path):
    path = tmp_path / "game.sgf"
    path.write_text("(;GM[1]FF[4]SZ[9]KM[6.5]AB[aa];W[ee];B[dd];W[cc])")
    ok(engine, f"loadsgf {path} 3")
    assert ok(engine, "list_stones white") == "E5" and set(ok(engine, "list_stones black").split()) == {"A9", "D6"}
    ok(engine, f"loadsgf {path}")
    assert set(ok(engine, "list_stones white").split()) == {"C7", "E5"} and engine.game.komi == 6.5
    assert ok(engine, "genmove B") not in ("A9", "C7", "D6", "E5")


# -- analysis output ----------------------------------------------------------------------------


def test_lz_analyze_lines_parse_as_sabaki_parses_them(engine):
    setup_board(engine, 19, "")
    ok(engine, "play B Q16")
    answer = engine.respond("lz-analyze W 10")
    head, line, end = answer.split("\n", 2)
    assert head == "=" and end == "\n"
    variations = sabaki_parse(line)
    probs = engine.player.policy(engine.game, WHITE)
    assert len(variations) == np.count_nonzero(np.round(probs * 10000) >= 1) > 300
    assert 9900 <= sum(v["prior"] for v in variations) <= 10100, "priors in 1/10000, each rounded"
    assert [v["order"] for v in variations] == list(range(len(variations)))
    assert all(v["pv"] == [v["move"]] and v["winrate"] == 50 for v in variations)
    priors = [v["prior"] for v in variations]
    assert priors == sorted(priors, reverse=True) and "Q16" not in {v["move"] for v in variations}
    best = variations[0]
    assert from_gtp(best["move"], 19) == int(np.argmax(probs))
    assert best["visits"] == round(probs.max() * 1000) or best["visits"] == 1
    assert engine.respond("lz-analyze W interval 10 maxmoves 5").count("info move") == 5
    assert engine.respond("analyze 10").startswith("=\ninfo move "), "colour optional, interval alone"


def test_genmove_analyze_ends_with_the_move_and_plays_it(engine):
    setup_board(engine, 9)
    answer = engine.respond("5 lz-genmove_analyze B 10")
    head, info, play, end = answer.split("\n", 3)
    assert head == "=5" and sabaki_parse(info) and end == "\n"
    vertex = re.fullmatch(r"play ([A-J]\d)", play).group(1)
    assert ok(engine, "list_stones black") == vertex


def test_analysis_of_a_position_without_candidates_is_a_pass(engine):
    setup_board(engine, 3, """
        .X.
        XXX
        .X.
    """)
    assert engine.respond("lz-analyze B 10") == "=\ninfo move pass visits 1 winrate 5000 prior 10000 order 0 pv pass\n\n"
    assert sabaki_parse("info move pass visits 1 winrate 5000 prior 10000 order 0 pv pass") == []


def test_gogui_analyze_commands_and_their_output(engine):
    listed = ok(engine, "gogui-analyze_commands").splitlines()
    assert listed == list(POLICY_COMMANDS), "no search commands without a value network"
    types = {"gfx", "dboard", "string", "sboard", "cboard", "pspairs", "plist", "var", "none"}
    for entry in listed:
        kind, label, command = entry.split("/")
        assert kind in types and label and command.split()[0] in engine.commands
    assert {entry.split("/")[0] for entry in listed} >= {"gfx", "dboard", "string"}
    setup_board(engine, 9, komi=7.5)
    ok(engine, "play B E5")
    heat = ok(engine, "gopolicy-policy_heatmap w").splitlines()
    assert all(line.startswith("COLOR #") for line in heat[:-1]) and heat[-1].startswith("TEXT best ")
    shown = {line.split()[1]: line.split()[2:] for line in heat[:-1]}
    assert set(shown) <= {colour for _, colour in HEAT_COLOURS}
    best = heat[-1].split()[2]
    assert shown[HEAT_COLOURS[0][1]][:1] == [best] or best in shown[HEAT_COLOURS[0][1]], "the best move: the strongest colour"
    assert "E5" not in sum(shown.values(), []), "an occupied point has no colour"
    ok(engine, "play W D5")
    black = ok(engine, "gopolicy-policy_heatmap b").splitlines()
    assert black[0].startswith(f"COLOR {HEAT_COLOURS[0][1]} "), "the same colours whichever colour is to play"
    ok(engine, "undo")
    top = ok(engine, "gopolicy-policy_top").splitlines()[0].split()
    assert top[0] == "LABEL" and len(top) == 1 + 2 * 10 and all(x.endswith("%") for x in top[2::2])
    assert "0.0%" not in top
    board = [row.split() for row in ok(engine, "gopolicy-policy_board W").splitlines()]
    assert len(board) == 9 and all(len(row) == 9 for row in board)
    assert float(board[4][4]) == 0, "E5 is occupied"
    assert sum(float(x) for row in board for x in row) == pytest.approx(1, abs=0.01)
    text = ok(engine, "gopolicy-policy_text").splitlines()
    assert text[0].startswith("White to play") and len(text) == 21


def test_the_bundled_model_is_where_the_engine_looks_for_it():
    from gopolicy.gtp.engine import DEFAULT_MODEL, DEFAULT_VALUE

    assert DEFAULT_MODEL == ROOT / "data" / "models" / "default.pt" and DEFAULT_MODEL.is_file()
    assert DEFAULT_VALUE == ROOT / "data" / "models" / "value.pt", "the value network beside it, when there is one"
