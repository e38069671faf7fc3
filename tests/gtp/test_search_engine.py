"""The GTP engine with a value network: the command line loads it and searches, a recorded GUI
session replayed against the real launcher with every analysis line parsed as Sabaki parses
it, and in-process: lz-analyze / kata-analyze / genmove_analyze streaming the search, ownership,
GoGui's search commands, the raw policy kept where there is no search."""
from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
import torch
from gtp_driver import LAUNCHER, TRANSCRIPTS, EngineProcess, replay_transcript, sabaki_parse

from gopolicy.gtp import GtpEngine
from gopolicy.gtp.analysis import POLICY_COMMANDS, SEARCH_COMMANDS
from gopolicy.gtp.protocol import parse_line
from gopolicy.nn.modelfile import save_model


@pytest.fixture(scope="module")
def model_files(tmp_path_factory, tiny_model, tiny_value) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("models")
    model, info = tiny_model()
    save_model(folder / "policy.pt", model, info.feature_set)
    value, value_info = tiny_value()
    save_model(folder / "value.pt", value, value_info.feature_set)
    return str(folder / "policy.pt"), str(folder / "value.pt")


def check_variations(line: str) -> list[dict]:
    """Sabaki's reading of a search's analysis line, checked: every entry survives, win rates
    in range, lcb below the win rate, order 0, 1, ..., visits best first, pv from the move."""
    kata = " ownership " in line
    info = line.split(" ownership ")[0]
    variations = sabaki_parse(info)
    assert len(variations) == info.count("info move") - info.count("info move pass "), line
    assert [v["order"] for v in variations] == list(range(len(variations))) or "info move pass" in info
    for v in variations:
        assert 0 <= v["winrate"] <= 100 and v["pv"][0] == v["move"]
        lcb = v["lcb"] * (1 if kata or isinstance(v["lcb"], float) else 1 / 10000)
        assert 0 <= lcb <= v["winrate"] / 100 + 1e-6
    visits = [v["visits"] for v in variations]
    assert visits == sorted(visits, reverse=True)
    return variations


def test_the_recorded_search_session(model_files):
    policy, value = model_files
    engine = EngineProcess("--model", policy, "--value", value, "--threads", "1", "--playouts", "48",
                           "--batch-size", "4")
    seen = []

    def check(line: str) -> None:
        if line.startswith("info move"):
            seen.append(check_variations(line))

    try:
        assert replay_transcript(engine, (TRANSCRIPTS / "sabaki_search_session.gtp").read_text(), check) > 30
        assert engine.process.wait(timeout=10) == 0
        log = engine.process.stderr.read().decode()
    finally:
        engine.close()
    assert sum(1 for variations in seen if variations) >= 3
    assert "searching 48 playouts a move on 19x19" in log, log


def test_the_command_line_refuses_bad_search_options(model_files):
    policy, _ = model_files
    for option in (["--playouts", "-1"], ["--seconds", "0"], ["--resign-below", "1"], ["--batch-size", "0"],
                   ["--value", "/no/such/value.pt"], ["--resign", "--no-resign"]):
        result = subprocess.run([sys.executable, str(LAUNCHER), "--model", policy, *option], input="name\n",
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and result.stdout == "", option
        assert f"argument {option[-1] if option[0] == '--resign' else option[0]}" in result.stderr, result.stderr


def test_a_policy_file_given_as_the_value_network_is_refused_by_name(model_files):
    policy, _ = model_files
    result = subprocess.run([sys.executable, str(LAUNCHER), "--model", policy, "--value", policy],
                            input="genmove b\nname\n", capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("? ") and "value network" in result.stdout.splitlines()[0]
    assert result.stdout.endswith("= gopolicy\n\n"), "and the engine goes on answering"


# -- in-process ------------------------------------------------------------------------------------


@pytest.fixture
def engine(make_search_player) -> GtpEngine:
    torch.set_num_threads(1)
    return GtpEngine(make_search_player(playouts=None, seconds=1.0, batch_size=4))


def streamed(engine: GtpEngine, line: str, lines: int) -> list[str]:
    """The response lines of a streaming command interrupted once it has sent ``lines`` lines."""
    out = io.StringIO()
    rest = engine.execute(parse_line(line), out, lambda: out.getvalue().count("\n") > lines)
    return (out.getvalue() + rest).splitlines()


def setup(engine: GtpEngine, *moves: str) -> None:
    for command in ("boardsize 19", "clear_board", "komi 7.5", *(f"play {m}" for m in moves)):
        assert engine.respond(command) == "=\n\n", command


def test_lz_analyze_streams_a_growing_search(engine):
    setup(engine, "B Q16", "W D4")
    lines = streamed(engine, "lz-analyze B 10", 3)
    assert lines[0] == "=" and lines[-1] == "" and len(lines) >= 5
    totals = []
    for line in lines[1:-1]:
        variations = check_variations(line)
        assert all(isinstance(v["prior"], int) and isinstance(v["lcb"], int) for v in variations)
        totals.append(sum(v["visits"] for v in variations))
        assert 0 < variations[0]["prior"] <= 10000
    assert totals == sorted(totals) and totals[-1] > totals[0], "the same tree, searched further"
    assert engine.player.ponder(engine.game, engine.game.to_move).visits >= totals[-1], "kept for genmove"


def test_analysis_limits_the_moves_shown(engine):
    setup(engine, "B Q16")
    line = streamed(engine, "lz-analyze W interval 10 maxmoves 2", 1)[1]
    assert line.count("info move") == 2
    line = streamed(engine, "lz-analyze W interval 10 minmoves 30", 1)[1]
    assert line.count("info move") >= 30 and " visits 0 " in line, "topped up with unvisited moves"


def test_kata_analyze_gives_fractions_and_ownership_top_row_first(engine):
    setup(engine, *(f"B {col}{row}" for row in (19, 18, 17) for col in "ABCDEFGHJKLMNOPQRST"))
    for colour, sign in (("B", 1), ("W", -1)):
        line = streamed(engine, f"kata-analyze {colour} 10 ownership true", 1)[1]
        info, owned = line.split(" ownership ")
        variations = check_variations(info)
        assert all(isinstance(v["prior"], float) and 0 < v["prior"] <= 1 for v in variations)
        values = [float(x) for x in owned.split()]
        assert len(values) == 361 and all(-1 <= x <= 1 for x in values)
        assert all(sign * x > 0.9 for x in values[:19]), "the top row is Black's"
    assert "ownership" not in streamed(engine, "kata-analyze B 10", 1)[1]


def test_with_an_ownership_head_the_analysis_ownership_is_the_network_s(model_files, tiny_model, tiny_value):
    """A value network with an ownership head gives kata-analyze's and GoGui's ownership: here
    a head that gives the colour to move two thirds of every point, so Black's view flips with
    the colour analysed, and GoGui's text names the head."""
    from gopolicy.play.player import EnginePlayer

    model, info = tiny_model()
    value, value_info = tiny_value(ownership=True)
    with torch.no_grad():
        value.ownership_conv.weight.zero_()
        value.ownership_conv.bias.fill_(float(torch.atanh(torch.tensor(2 / 3))))
    engine = GtpEngine(EnginePlayer(model, info, value=value, value_info=value_info, precision="fp32", playouts=8))
    for colour, sign in (("B", 1), ("W", -1)):
        owned = streamed(engine, f"kata-analyze {colour} 10 ownership true", 1)[1].split(" ownership ")[1]
        assert [float(x) for x in owned.split()] == pytest.approx([2 / 3] * 361, abs=1e-3)  # for the colour analysed
        influence = engine.respond(f"gopolicy-search_ownership {colour}")[2:].strip().splitlines()
        cells = influence[0].split()[1:]
        assert [float(x) for x in cells[1::2]] == pytest.approx([sign * 2 / 3] * 361, abs=0.01)  # Black's
        assert influence[-1] == f"TEXT Black {sign * 2 / 3 * 361 - 7.5:+.1f} by the value network's ownership head"


def test_genmove_analyze_streams_the_search_then_plays(engine):
    setup(engine, "B Q16")
    lines = streamed(engine, "kata-genmove_analyze W 30", 10**6)
    assert lines[0] == "=" and lines[-1] == ""
    assert len(lines) >= 4, "a line every 0.3 s of a 1 s search, then the move"
    vertex = re.fullmatch(r"play ([A-T]\d+)", lines[-2]).group(1)
    for line in lines[1:-2]:
        check_variations(line)
    assert engine.respond(f"play W {vertex}") == "? illegal move\n\n", "the move was played"
    assert engine.respond("list_stones white") == f"= {vertex}\n\n"


def test_gogui_search_commands(engine):
    listed = engine.respond("gogui-analyze_commands")[2:].strip().splitlines()
    assert listed == list(POLICY_COMMANDS + SEARCH_COMMANDS)
    assert all(entry.split("/")[2].split()[0] in engine.commands for entry in listed)
    setup(engine, "B Q16", "W D4")
    winrates = engine.respond("gopolicy-search_winrates b")[2:].strip().splitlines()
    assert winrates[0].startswith("COLOR #d7191c ")
    labels = next(line for line in winrates if line.startswith("LABEL ")).split()[1:]
    assert all(re.fullmatch(r"\d{1,3}", label) for label in labels[1::2])
    assert re.fullmatch(r"TEXT Black [A-T]\d+: win rate \d+(\.\d)?%, \d+ of \d+ playouts; best line [A-T]\d+( \S+)*", winrates[-1])
    influence = engine.respond("gopolicy-search_ownership b")[2:].strip().splitlines()
    cells = influence[0].split()[1:]
    assert influence[0].startswith("INFLUENCE ") and all(-1 <= float(x) <= 1 for x in cells[1::2])


def test_without_a_search_for_the_size_analysis_is_the_raw_policy(engine):
    ok = engine.respond("boardsize 9")
    assert ok == "=\n\n" and not engine.player.searches(9)
    line = streamed(engine, "lz-analyze B 10", 1)[1]
    assert " winrate 5000 " in line and " lcb " not in line
    assert engine.respond("gopolicy-search_visits b").startswith("? no value network for 9x9")
    assert "search" not in engine.respond("gogui-analyze_commands"), "GoGui is offered only what works"
    assert re.fullmatch(r"= [A-J]\d\n\n", engine.respond("genmove b"))


def test_the_bare_launcher_searches_with_the_bundled_value_network():
    """``python gtp_engine.py`` with no arguments loads data/models/value.pt (it ships) and
    searches about a second a move; ``--playouts 0`` is the raw policy again."""
    from gopolicy.gtp.engine import DEFAULT_VALUE

    assert DEFAULT_VALUE.is_file(), "a value network ships beside the policy network"
    engine = EngineProcess("--threads", "1")
    try:
        assert engine.ask("genmove B").startswith("= ")
        assert engine.ask("quit") == "=\n\n"
        assert engine.process.wait(timeout=10) == 0
        log = engine.process.stderr.read().decode()
    finally:
        engine.close()
    assert f"loaded {DEFAULT_VALUE}" in log and "searching 1 s a move on 19x19" in log, log
