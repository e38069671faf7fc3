#!/usr/bin/env python3
"""Fuzzes the GTP engine in-process: thousands of random and malformed lines (analysis
commands interrupted by the next line included) through its real command loop, and checks
every answer: one per command, in order, with its id, well framed, never an internal error,
none late (a hang). Prints the figures as JSON.

    python scripts/fuzz_gtp.py [--lines 20000] [--seed 0] [--model FILE]

Without --model it plays with a tiny random network (k=8, 3 layers). The test suite runs a
smaller round of the same (tests/gtp/test_fuzz.py).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gopolicy.gtp import GtpEngine  # noqa: E402
from gopolicy.gtp.protocol import parse_line  # noqa: E402

HEAD = re.compile(r"([=?])(\d+)?(?: (.*))?")
STALL_SECONDS = 20.0  # no answer for this long: a hang


def rss_mib() -> float:
    """This process's resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fuzz_files(folder: Path) -> dict[str, str]:
    """Files for loadsgf and printsgf to meet: a good record, a broken one, a pipe, a large one."""
    (folder / "game.sgf").write_text("(;GM[1]FF[4]SZ[9]KM[6.5]AB[aa];W[ee];B[dd];W[cc])")
    (folder / "broken.sgf").write_bytes(b"(;GM[1]SZ[9];B[ee];W[ee]")
    (folder / "illegal.sgf").write_text("(;GM[1]SZ[9];B[ee];W[ee])")
    (folder / "big.sgf").write_bytes(b"(;GM[1]SZ[19]" + b";B[]" * 300_000 + b")")
    fifo = folder / "pipe.sgf"
    if not fifo.exists():
        os.mkfifo(fifo)
    return {name: str(folder / name) for name in ("game.sgf", "broken.sgf", "illegal.sgf", "big.sgf", "pipe.sgf")}


def random_lines(rng: np.random.Generator, count: int, commands: list[str], files: dict[str, str],
                 out_file: str) -> list[str]:
    """``count`` input lines: commands with random (often wrong) arguments, with and without
    ids, analysis commands, and garbage (control characters, tabs, comments, long lines, non-ASCII)."""
    colours = ["b", "w", "B", "white", "black", "x", "", "ＢＬＡＣＫ"]
    numbers = ["0", "1", "-1", "2", "3", "5", "7", "9", "13", "19", "25", "26", "1e400", "nan", "inf", "-0",
               "3.5", "99999999999999999999", "٣", "0x10", "1_0", "9" * 5000]
    files_ = list(files.values()) + ["/dev/zero", "/dev/null", "/no/such/file.sgf", os.path.dirname(out_file)]
    letters = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
    safe = [c for c in commands if c not in ("quit", "printsgf", "loadsgf")]
    analysis = ["lz-analyze", "analyze", "lz-genmove_analyze", "genmove_analyze"]

    def vertex() -> str:
        if rng.random() < 0.1:
            return str(rng.choice(["pass", "PASS", "Z99", "A0", "I5", "a1", "j5", "T20", "Ａ1", "A1A", "-"]))
        return f"{letters[rng.integers(9)]}{rng.integers(1, 10)}"

    def word() -> str:
        kind = rng.integers(4)
        return (str(rng.choice(colours)) if kind == 0 else str(rng.choice(numbers)) if kind == 1
                else vertex() if kind == 2 else str(rng.choice(["interval", "maxmoves", "avoid", "allow", "ownership",
                                                                "none", "absolute", "byoyomi", "canadian", "#x"])))

    def garbage() -> str:
        pool = "abcXYZ019 \t#=?-\x00\x01\x07\x0b\x1b\x7f\r\u00e9\u4e2d\ufffd"
        length = int(rng.choice([0, 1, 5, 40, 10_000]))
        return "".join(pool[i] for i in rng.integers(len(pool), size=length))

    lines = []
    for number in range(count):
        roll = rng.random()
        ident = f"{number} " if rng.random() < 0.7 else ""
        if roll < 0.1:
            lines.append(garbage())
        elif roll < 0.17:
            lines.append(f"{ident}{rng.choice(analysis)} {rng.choice(colours)} {rng.choice(['0', '1', '2', '-5', 'x'])}"
                         + (" interval 1 maxmoves 3" if rng.random() < 0.3 else ""))
        elif roll < 0.2:
            lines.append(f"{ident}loadsgf {rng.choice(files_)} {rng.choice(numbers) if rng.random() < 0.3 else ''}")
        elif roll < 0.22:
            lines.append(f"{ident}printsgf {out_file if rng.random() < 0.5 else ''}")
        elif roll < 0.3:
            lines.append(f"{ident}boardsize {rng.choice(['2', '3', '5', '7', '9', '9', '13', '19', '25', '0', '26', 'x'])}")
        elif roll < 0.5:
            lines.append(f"{ident}play {rng.choice(colours)} {vertex()}")
        elif roll < 0.6:
            lines.append(f"{ident}{rng.choice(['genmove', 'reg_genmove', 'kgs-genmove_cleanup', 'undo'])} "
                         f"{rng.choice(colours)}")
        else:
            name = str(rng.choice(safe)) if rng.random() < 0.9 else garbage()[:10]
            lines.append(f"{ident}{name} " + " ".join(word() for _ in range(rng.integers(4))))
    return lines


@dataclass
class FuzzResult:
    lines: int = 0
    commands: int = 0
    answers: int = 0
    errors: int = 0
    internal_errors: int = 0
    malformed: list[str] = field(default_factory=list)
    crashes: int = 0
    hangs: int = 0
    seconds: float = 0.0
    rss_before_mib: float = 0.0
    rss_after_mib: float = 0.0

    def figures(self) -> dict:
        figures = dict(self.__dict__)
        figures["malformed"] = len(self.malformed)
        return figures


def fuzz(engine: GtpEngine, lines: list[str], burst: int = 20, pause: float = 0.002) -> FuzzResult:
    """Feeds ``lines`` to ``engine.serve`` through pipes in bursts and checks every answer."""
    result = FuzzResult(lines=len(lines), rss_before_mib=rss_mib())
    expected = [command.id for command in map(parse_line, lines) if command is not None]
    result.commands = len(expected)
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    infile = os.fdopen(in_read, "r", encoding="utf-8", errors="replace", newline="\n")
    outfile = os.fdopen(out_write, "w", encoding="utf-8")
    crashed: list[BaseException] = []

    def serve() -> None:
        try:
            engine.serve(infile, outfile)
        except BaseException as e:  # noqa: BLE001  a crash of the loop is what this looks for
            crashed.append(e)
        finally:
            outfile.close()

    def feed() -> None:
        with os.fdopen(in_write, "w", encoding="utf-8", errors="surrogatepass") as f:
            for start in range(0, len(lines), burst):
                f.write("".join(line + "\n" for line in lines[start:start + burst]))
                f.flush()
                time.sleep(pause)

    output: "queue.Queue[str | None]" = queue.Queue()

    def read() -> None:
        with os.fdopen(out_read, "r", encoding="utf-8", errors="replace", newline="\n") as f:
            for line in f:
                output.put(line)
        output.put(None)

    start = time.monotonic()
    for target in (serve, feed, read):
        threading.Thread(target=target, daemon=True).start()
    answer: list[str] = []
    while True:
        try:
            line = output.get(timeout=STALL_SECONDS)
        except queue.Empty:
            result.hangs += 1
            break
        if line is None:
            break
        if line != "\n":
            answer.append(line)
            continue
        _check(answer, expected, result)
        answer = []
    if answer:
        result.malformed.append("unterminated: " + "".join(answer)[:200])
    result.crashes = len(crashed)
    if result.answers != result.commands and not result.hangs:
        result.malformed.append(f"{result.commands} commands but {result.answers} answers")
    result.seconds = round(time.monotonic() - start, 2)
    result.rss_after_mib = rss_mib()
    return result


def _check(answer: list[str], expected: list, result: FuzzResult) -> None:
    """One whole response (its lines, without the empty one that ended it)."""
    index = result.answers
    result.answers += 1
    head = HEAD.fullmatch(answer[0].rstrip("\n")) if answer else None
    if head is None or any(not line.endswith("\n") or not line.strip() for line in answer):
        result.malformed.append("bad framing: " + "".join(answer)[:200])
        return
    ident = int(head.group(2)) if head.group(2) is not None else None
    if index >= len(expected) or ident != expected[index]:
        result.malformed.append(f"answer {index} has id {ident}, expected {expected[index] if index < len(expected) else '-'}")
    if head.group(1) == "?":
        result.errors += 1
        if "internal error" in (head.group(3) or ""):
            result.internal_errors += 1
            result.malformed.append("".join(answer)[:200])


def tiny_engine(seed: int = 0) -> GtpEngine:
    import torch

    from gopolicy.nn.modelfile import ModelInfo
    from gopolicy.nn.policy import PolicyNetwork
    from gopolicy.play.player import EnginePlayer

    torch.manual_seed(seed)
    model = PolicyNetwork(planes=48, filters=8, layers=3, board_size=19).eval()
    info = ModelInfo(model.architecture, "alphago48", {}, 1, "fuzz")
    return GtpEngine(EnginePlayer(model, info, precision="fp32", temperature=1.0, seed=seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="a model file instead of a tiny random network")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.model:
        from gopolicy.gtp.loading import load_player

        engine = GtpEngine(load_player(args.model, 1, "cpu", temperature=1.0, seed=args.seed))
    else:
        engine = tiny_engine(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        files = fuzz_files(Path(folder))
        commands = sorted(engine.commands)
        lines = random_lines(np.random.default_rng(args.seed), args.lines, commands, files, str(Path(folder) / "out.sgf"))
        result = fuzz(engine, lines)
    print(json.dumps(result.figures()))
    for problem in result.malformed[:10]:
        print(problem, file=sys.stderr)


if __name__ == "__main__":
    main()
