"""Driving the GTP engine as GUIs do, for the tests: the real launcher in a subprocess, recorded
transcripts replayed against it, and analysis lines parsed the way Sabaki parses them."""
from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "gtp_engine.py"
TRANSCRIPTS = ROOT / "tests" / "data" / "gtp"
VERTEX = r"(?:[A-HJ-T](?:1[0-9]|[1-9]))"
MOVE = rf"(?:{VERTEX}|pass)"
# Analysis entries: the raw policy's (Leela Zero's and KataGo's units), then the search's.
INFO = rf"info move {VERTEX} visits \d+ winrate 5000 prior \d+ order \d+ pv {VERTEX}"
KATA_INFO = rf"info move {VERTEX} visits \d+ winrate 0\.500000 prior [01]\.\d{{6}} order \d+ pv {VERTEX}"
SEARCH_INFO = rf"info move {MOVE} visits \d+ winrate \d+ prior \d+ lcb \d+ order \d+ pv {MOVE}( {MOVE})*"
KATA_SEARCH_INFO = (rf"info move {MOVE} visits \d+ winrate [01]\.\d{{6}} prior [01]\.\d{{6}} lcb [01]\.\d{{6}} "
                    rf"order \d+ pv {MOVE}( {MOVE})*")
PLACEHOLDERS = {"{info}": INFO, "{kinfo}": KATA_INFO, "{sinfo}": SEARCH_INFO, "{skinfo}": KATA_SEARCH_INFO,
                "{vertex}": VERTEX, "{move}": MOVE}


class EngineProcess:
    """``python gtp_engine.py ARGS`` with its stdout read line by line in a thread."""

    def __init__(self, *args: str, cwd: Path = ROOT):
        self.process = subprocess.Popen([sys.executable, str(LAUNCHER), *args], cwd=cwd, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # bytes: CRs stay visible
        self.lines: "queue.Queue[str | None]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.decode())
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def line(self, timeout: float = 60) -> str:
        """The next output line with its line end; fails on a time-out or the end of output."""
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"the engine stopped: {self.process.stderr.read().decode()}"
        return line

    def response(self, timeout: float = 60) -> str:
        """One whole response, up to and including its empty line."""
        lines = [self.line(timeout)]
        while lines[-1] != "\n":
            lines.append(self.line(timeout))
        return "".join(lines)

    def ask(self, command: str) -> str:
        self.send(command + "\n")
        return self.response()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


def replay_transcript(engine: EngineProcess, script: str, check: Optional[Callable[[str], None]] = None) -> int:
    """Plays a transcript (format: see tests/data/gtp/sabaki_session.gtp's header); returns how
    many lines were checked. ``check`` is also called with every line received."""
    pending_run, checked = None, 0
    items = [line for line in script.splitlines() if line.startswith(("<", ">"))]
    i = 0
    while i < len(items):
        if items[i].startswith(">"):
            burst = []
            while i < len(items) and items[i].startswith(">"):
                burst.append(items[i][2:].replace("\\r", "\r") + "\n")
                i += 1
            engine.send("".join(burst))
            continue
        kind, _, pattern = items[i].partition(" ")
        for name, regex in PLACEHOLDERS.items():
            pattern = pattern.replace(name, regex)
        line = engine.line()
        assert line.endswith("\n"), line
        line = line[:-1]
        if check is not None:
            check(line)
        if pending_run is not None and pending_run.fullmatch(line):
            continue  # more of a run that a command interrupted
        pending_run = None
        assert re.fullmatch(pattern, line), f"expected {items[i]!r}, got {line!r}"
        checked += 1
        if kind == "<+":
            pending_run = re.compile(pattern)
        i += 1
    return checked


def sabaki_parse(line: str) -> list[dict]:
    """Sabaki's parseAnalysis (src/modules/analysis.js), in Python: 'info' entries -> variations,
    every key with its value (visits, prior, order, lcb as ints where they are; winrate in
    percent: '0.55' as KataGo's fraction, '5500' as Leela Zero's 1/10000), the pv cut at a pass."""
    variations = []
    for entry in re.split(r"\s*info\s+", line)[1:]:
        entry = entry.strip()
        pv = re.search(r"(pass|[A-Za-z]\d+)(\s+(pass|[A-Za-z]\d+))*$", entry)
        if pv is None:
            continue
        tokens = entry[:pv.start()].strip().split()[:-1]
        fields = dict(zip(tokens[0::2], tokens[1::2]))
        moves = [m for m in pv.group(0).split("pass")[0].split() if len(m) >= 2]
        if not re.fullmatch(r"[A-Za-z]\d+", fields["move"]):
            continue
        winrate = fields["winrate"]
        variation = {**fields, "visits": int(fields["visits"]), "pv": moves,
                     "winrate": float(winrate) * 100 if "." in winrate else int(winrate) / 100}
        variation.update({k: float(fields[k]) if "." in fields[k] else int(fields[k])
                          for k in ("prior", "order", "lcb") if k in fields})
        variations.append(variation)
    return variations
