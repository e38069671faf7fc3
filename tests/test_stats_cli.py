"""``gopolicy stats`` end to end (subprocess on data/sample) and its counting pieces."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from gopolicy.sgf.skipped import SkippedGame, read_skipped
from gopolicy.stats import Stats, collect, format_report

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def gopolicy(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Runs ``python -m gopolicy.cli ARGS`` on this checkout's code (not an installed copy)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "gopolicy.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# Independent counts for data/sample: the KGS index CSV (moves, HA, KM of the 222 KGS members)
# plus a scan of the 100 Tygem files (all 19x19, 9d vs 9d, komi 6.5, no handicap, no passes).
SAMPLE_COUNTS = {
    "games": 322,
    "games_read": 322,
    "moves": 43390 + 20547,
    "passes": 124,
    "skipped": {},
    "board_sizes": {"19": 322},
    "handicap": {"0": 132 + 100, "2": 36, "3": 26, "4": 8, "5": 6, "6": 10, "8": 1, "9": 3},
    "stronger_rank": {"9d": 123, "8d": 45, "7d": 113, "6d": 41},
    "komi": {"0.5": 150, "5.5": 8, "6.5": 55 + 100, "7.5": 9},
}


def test_stats_json_on_the_sample_archives():
    done = gopolicy("stats", "data/sample/kgs-sample.tar.gz", "data/sample/tygem-sample.tar.gz", "--json", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert {key: counts[key] for key in SAMPLE_COUNTS} == SAMPLE_COUNTS
    assert sum(counts["years"].values()) == 322
    assert counts["years"]["2015"] >= 50  # the Tygem part is from 2015-2016
    assert counts["seconds"] > 0


def test_stats_report_on_the_sample_directory():
    done = gopolicy("stats", "data/sample", "--no-progress")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "games           322 usable of 322 read" in lines
    assert "moves           64,061 (63,937 non-pass, 124 passes)" in lines
    assert "skipped         0" in lines
    assert "board sizes     19x19: 322" in lines
    assert "handicap games  90 (HA 2: 36, HA 3: 26, HA 4: 8, HA 5: 6, HA 6: 10, HA 8: 1, HA 9: 3); even games 232" in lines
    assert "stronger rank   9d: 123, 8d: 45, 7d: 113, 6d: 41" in lines


def test_help_lists_the_stats_command():
    done = gopolicy("--help")
    assert done.returncode == 0
    assert "stats" in done.stdout and "COMMAND" in done.stdout


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def test_bad_games_are_skipped_counted_and_named(tmp_path):
    with tarfile.open(tmp_path / "mixed.tar.gz", "w:gz") as archive:
        add_member(archive, "ok.sgf", b"(;SZ[19]HA[2]AB[dd][pp]BR[2k]WR[1d]DT[1999-05-01];W[dp];B[];W[pd])")
        add_member(archive, "illegal.sgf", b"(;SZ[9];B[ee];W[ee])")
        add_member(archive, "empty.sgf", b"(;SZ[19]PB[nobody])")
        add_member(archive, "broken.sgf", b"(;SZ[19];B[pd")
        add_member(archive, "small.sgf", b"(;SZ[9]KM[7];B[ee])")
    whole = (tmp_path / "mixed.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 3])
    done = gopolicy("stats", "mixed.tar.gz", "cut.tar.gz", "--json", "--jobs", "1", cwd=tmp_path)
    assert done.returncode == 1  # an input could not be read completely
    counts = json.loads(done.stdout)
    assert counts["skipped"] == {"illegal move": 1, "no moves": 1, "malformed sgf": 1, "bad archive": 1}
    assert (counts["games"], counts["games_read"], counts["moves"], counts["passes"]) == (2, 5, 3, 1)
    assert counts["board_sizes"] == {"19": 1, "9": 1}
    assert counts["handicap"] == {"0": 1, "2": 1}
    assert counts["stronger_rank"] == {"1d": 1, "unknown": 1}
    assert counts["years"] == {"1999": 1, "unknown": 1}
    assert counts["komi"] == {"0": 1, "7": 1}
    assert "mixed.tar.gz:illegal.sgf, move 2: illegal move: W E5 (ee): occupied" in counts["examples"]
    assert any(message.startswith("cut.tar.gz: bad archive: ") for message in counts["examples"])


def test_no_games_found_is_an_error(tmp_path):
    done = gopolicy("stats", str(tmp_path), "--no-progress")
    assert done.returncode == 1
    assert "games           0 usable of 0 read" in done.stdout
    assert "no SGF games found" in done.stderr


def test_options_are_refused_at_the_command_line(tmp_path):
    for args, message in ((["stats", str(tmp_path / "nothing-here.zip")], "nothing-here.zip: no such file or folder"),
                          (["stats", "data/sample", "--jobs", "0"], "argument --jobs/-j: '0' is not a positive integer"),
                          (["stats", "data/sample", "--limit", "-3"], "argument --limit: '-3' is not a positive integer"),
                          (["stats", "data/sample", "--max-record-bytes", "0"], "--max-record-bytes: '0' is not a positive"),
                          (["stats", "data/sample", "--skipped", str(tmp_path)], f"--skipped: {tmp_path}: is a folder")):
        done = gopolicy(*args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_skipped_lists_every_skipped_game_with_its_reason_and_move(tmp_path):
    with tarfile.open(tmp_path / "bad.tar", "w") as archive:
        add_member(archive, "ok.sgf", b"(;SZ[9];B[ee];W[cc])")
        for i in range(12):  # more than the report's examples
            add_member(archive, f"illegal-{i:02d}.sgf", b"(;SZ[9];B[ee];W[cc];B[ee])")
        add_member(archive, "big.sgf", b"(;SZ[9]" + b" " * 600 + b";B[ee])")
    done = gopolicy("stats", "bad.tar", "--skipped", "skipped.tsv", "--max-record-bytes", "500", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "first problems (all of them: --skipped FILE):" in done.stdout
    assert "13 skipped games and inputs listed in skipped.tsv" in done.stderr
    rows = sorted(read_skipped(tmp_path / "skipped.tsv"))
    assert rows[1:] == [SkippedGame(f"bad.tar:illegal-{i:02d}.sgf", "illegal move", 3, "B E5 (ee): occupied")
                        for i in range(12)]
    assert rows[0][:3] == ("bad.tar:big.sgf", "record too large", None)


def test_parallel_and_inline_runs_agree():
    inline = collect([str(SAMPLE / "tygem-sample.tar.gz")], jobs=1, progress=False)
    parallel = collect([str(SAMPLE / "tygem-sample.tar.gz")], jobs=2, progress=False)
    assert inline == parallel
    assert (inline.games, inline.handicaps, inline.komis) == (100, {0: 100}, {6.5: 100})


def test_limit_stops_early():
    assert collect([str(SAMPLE)], jobs=1, limit=7, progress=False).games == 7


def test_merge_adds_every_count():
    a, b = Stats(games=1, moves=10, passes=1), Stats(games=2, moves=5)
    a.sizes[19] += 1
    b.sizes[19] += 2
    b.sizes[9] += 1
    b.skipped["no moves"] += 3
    merged = a.merge(b)
    assert (merged.games, merged.moves, merged.passes) == (3, 15, 1)
    assert merged.sizes == {19: 3, 9: 1} and merged.skipped == {"no moves": 3}
    assert merged.games_read == 6
    assert "games           3 usable of 6 read" in format_report(merged, 1.0)


def test_report_shows_the_eight_most_common_komi_values_and_the_rest():
    stats = Stats(games=15)
    stats.komis.update({float(k): 1 for k in range(9)})
    stats.komis[6.5] += 6
    komi_line = next(line for line in format_report(stats, 1.0).splitlines() if line.startswith("komi"))
    assert komi_line == "komi            0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 6.5: 6, others: 2"


def test_help_survives_percent_signs_in_command_help(monkeypatch):
    from gopolicy import cli

    monkeypatch.setitem(cli.COMMANDS, "demo", cli.Subcommand("gopolicy.stats", "right 95% of the time"))
    assert "right 95% of the time" in cli.build_parser().format_help()
