"""The GTP engine under hostile or unusual input: loaded games undo like played ones,
printsgf is linear, loadsgf reads only regular files of bounded size, bad options are
refused at the command line."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gopolicy.gtp import GtpEngine
from gopolicy.gtp.sgf_commands import MAX_SGF_BYTES

ROOT = Path(__file__).resolve().parents[2]



def ok(engine: GtpEngine, line: str) -> str:
    answer = engine.respond(line)
    assert answer.startswith("= ") or answer == "=\n\n", f"{line!r} -> {answer!r}"
    return answer[2:].rstrip("\n")


def timed(engine: GtpEngine, line: str, limit: float) -> str:
    """The answer to ``line``, which must come within ``limit`` seconds (the command runs in a thread)."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(engine.respond(line)), daemon=True)
    thread.start()
    thread.join(limit)
    assert answers, f"{line!r}: no answer within {limit} s"
    return answers[0]


def test_undo_after_loadsgf_takes_back_loaded_and_later_moves(tmp_path):
    path = tmp_path / "two.sgf"
    path.write_text("(;GM[1]SZ[19];B[pd];W[dp])")
    engine = GtpEngine()
    ok(engine, f"loadsgf {path}")
    ok(engine, "play b Q4")
    ok(engine, "undo")
    assert ok(engine, "list_stones b") == "Q16" and ok(engine, "list_stones w") == "D4"
    ok(engine, "undo")
    assert ok(engine, "list_stones w") == "" and engine.game.to_move == 2
    ok(engine, "undo")
    assert ok(engine, "list_stones b") == ""
    assert engine.respond("undo") == "? cannot undo\n\n"


def test_undo_after_loadsgf_keeps_setup_stones_and_the_rules(tmp_path):
    path = tmp_path / "setup.sgf"
    path.write_text("(;GM[1]SZ[9]KM[6.5]AB[aa][bb]AW[cc];W[ee];B[dd])")
    engine = GtpEngine(superko=True)
    ok(engine, f"loadsgf {path}")
    ok(engine, "undo")
    assert set(ok(engine, "list_stones b").split()) == {"A9", "B8"} and engine.game.komi == 6.5
    assert set(ok(engine, "list_stones w").split()) == {"C7", "E5"} and engine.game.superko


def test_printsgf_is_linear_and_round_trips(tmp_path):
    passes = 16000
    path = tmp_path / "passes.sgf"
    path.write_text("(;GM[1]SZ[19]" + "".join(";B[]" if i % 2 == 0 else ";W[]" for i in range(passes)) + ")")
    engine = GtpEngine()
    ok(engine, f"loadsgf {path}")
    assert engine.game.move_number == passes
    start = time.monotonic()
    text = ok(engine, "printsgf")
    assert time.monotonic() - start < 2, "was about 10 s: quadratic"
    assert text.count(";") == passes + 1
    ok(engine, "boardsize 9")
    ok(engine, "komi 5.5")
    for move in ("b e5", "w c3", "b pass", "w d4"):
        ok(engine, f"play {move}")
    out = tmp_path / "out.sgf"
    ok(engine, f"printsgf {out}")
    again = GtpEngine()
    ok(again, f"loadsgf {out}")
    assert again.game.history == engine.game.history and again.game.komi == 5.5 and again.game.size == 9


def test_printsgf_refuses_to_write_over_anything_but_a_regular_file(tmp_path):
    engine = GtpEngine()
    assert engine.respond(f"printsgf {tmp_path}").startswith("? cannot write")
    assert engine.respond(f"printsgf {tmp_path}/no/such/dir/x.sgf").startswith("? cannot write")


def test_loadsgf_of_a_device_a_pipe_or_a_huge_file_is_refused_at_once(tmp_path):
    engine = GtpEngine()
    assert timed(engine, "loadsgf /dev/zero", 5) == "? cannot load file: /dev/zero: not a regular file\n\n"
    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)
    assert timed(engine, f"loadsgf {fifo}", 5).startswith("? cannot load file:")
    big = tmp_path / "big.sgf"
    big.write_bytes(b"(;GM[1]SZ[19]" + b";B[]" * (MAX_SGF_BYTES // 4) + b")")
    assert "larger than" in timed(engine, f"loadsgf {big}", 5)
    assert timed(engine, f"loadsgf {tmp_path}", 5).startswith("? cannot load file:")
    assert ok(engine, "name") == "gopolicy"


@pytest.mark.parametrize("option", [["--temperature", "nan"], ["--temperature", "-1"], ["--threads", "-1"],
                                    ["--threads", "0"], ["--precision", "fp16"], ["--device", "tpu"]])
def test_bad_options_are_refused_at_the_command_line(option):
    result = subprocess.run([sys.executable, str(ROOT / "gtp_engine.py"), *option], input="name\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert f"error: argument {option[0]}" in result.stderr.strip().splitlines()[-1]


def test_every_gtp_failure_is_a_gopolicy_error():
    from gopolicy.errors import GopolicyError
    from gopolicy.gtp import GtpError

    assert issubclass(GtpError, GopolicyError)


def test_a_huge_id_is_an_unknown_command_not_a_crash():
    engine = GtpEngine()
    assert engine.respond("9" * 5000 + " name") == "? unknown command\n\n"
    assert engine.respond("123456789012345678 name") == "=123456789012345678 gopolicy\n\n"
