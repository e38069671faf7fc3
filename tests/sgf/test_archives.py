"""Streaming SGF games out of files, directories and archives (gopolicy.sgf.archives)."""
from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from gopolicy.sgf.archives import iter_sgf, split_collection

GAME_A = b"(;GM[1]SZ[19]PB[a];B[pd];W[dp])"
GAME_B = b"(;GM[1]SZ[9]PB[b];B[ee](;W[cc])(;W[gg]))"  # one game with two variations
GAME_C = b"(;GM[1]SZ[13]PB[c];B[dd])"
COLLECTION = GAME_A + b"\n" + GAME_B + b"\r\n" + GAME_C

MEMBERS = {
    "games/a.sgf": GAME_A,
    "games/readme.txt": b"not a game",
    "games/sub/coll.SGF": COLLECTION,
    "games/b.sgf": GAME_B,
}
EXPECTED = [  # archive order = order of MEMBERS
    ("games/a.sgf", GAME_A),
    ("games/sub/coll.SGF", GAME_A),
    ("games/sub/coll.SGF#2", GAME_B),
    ("games/sub/coll.SGF#3", GAME_C),
    ("games/b.sgf", GAME_B),
]


def write_tar(path: Path, mode: str, members: dict[str, bytes] = MEMBERS) -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_zip(path: Path, members: dict[str, bytes] = MEMBERS) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def read_all(inputs):
    errors = []
    games = [(name, bytes(data)) for name, data in iter_sgf(inputs, errors.append)]
    return games, errors


def test_split_collection_keeps_variations_inside_their_game():
    assert split_collection(COLLECTION) == [GAME_A, GAME_B, GAME_C]
    assert split_collection(GAME_B) == [GAME_B]
    assert split_collection(GAME_A) == [GAME_A]


def test_split_collection_keeps_a_damaged_tail_as_one_game():
    broken = GAME_A + b"(;SZ[9];B[aa](;W[bb]"  # second game never closes
    assert split_collection(broken) == [GAME_A, b"(;SZ[9];B[aa](;W[bb]"]


@pytest.mark.parametrize("suffix, mode", [
    ("tar", "w"), ("tar.gz", "w:gz"), ("tgz", "w:gz"), ("tar.bz2", "w:bz2"), ("tar.xz", "w:xz"),
])
def test_tar_archives_yield_every_game_in_order(tmp_path, suffix, mode):
    path = write_tar(tmp_path / f"games.{suffix}", mode)
    games, errors = read_all([path])
    assert errors == []
    assert games == [(f"{path}:{name}", data) for name, data in EXPECTED]


def test_zip_archive_yields_every_game_in_order(tmp_path):
    path = write_zip(tmp_path / "games.zip")
    games, errors = read_all([str(path)])
    assert errors == []
    assert games == [(f"{path}:{name}", data) for name, data in EXPECTED]


def test_directory_is_walked_recursively_in_sorted_order_including_archives(tmp_path):
    files = {**MEMBERS, "games/zz/z.sgf": GAME_C, "games/aa/x.sgf": GAME_A, "games/aa/w.sgf": GAME_B}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    archive = write_zip(tmp_path / "games" / "sub" / "more.zip", {"x.sgf": GAME_C, "y.txt": b"no"})
    games, errors = read_all([tmp_path])
    root = tmp_path / "games"
    assert errors == []
    assert games == [
        (f"{root}/a.sgf", GAME_A),
        (f"{root}/b.sgf", GAME_B),
        (f"{root}/aa/w.sgf", GAME_B),
        (f"{root}/aa/x.sgf", GAME_A),
        (f"{root}/sub/coll.SGF", GAME_A),
        (f"{root}/sub/coll.SGF#2", GAME_B),
        (f"{root}/sub/coll.SGF#3", GAME_C),
        (f"{archive}:x.sgf", GAME_C),
        (f"{root}/zz/z.sgf", GAME_C),
    ]


def test_single_sgf_file(tmp_path):
    path = tmp_path / "one.sgf"
    path.write_bytes(GAME_C)
    assert read_all([path]) == ([(str(path), GAME_C)], [])


@pytest.mark.parametrize("suffix, mode", [("tar.gz", "w:gz"), ("tar", "w"), ("tar.xz", "w:xz")])
def test_truncated_tar_keeps_what_was_read_and_reports_one_error(tmp_path, suffix, mode):
    members = {f"g/{i:03d}.sgf": GAME_A.replace(b"PB[a]", f"PB[{i}]".encode()) + b" " * 2000 for i in range(40)}
    whole = write_tar(tmp_path / f"whole.{suffix}", mode, members).read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(whole[: len(whole) // 2])
    games, errors = read_all([cut, write_tar(tmp_path / f"next.{suffix}", mode)])
    cut_games = [(name, data) for name, data in games if name.startswith(str(cut))]
    assert 0 < len(cut_games) < 40
    expected = [(f"{cut}:{name}", data) for name, data in members.items()]
    assert cut_games == expected[: len(cut_games)]  # a prefix, in order, each game whole
    assert [(e.reason, e.source) for e in errors] == [("bad archive", str(cut))]
    assert len(games) - len(cut_games) == len(EXPECTED)  # the next input is still read


def test_member_cut_inside_its_data_is_not_yielded(tmp_path):
    members = {f"g/{i}.sgf": GAME_A + b" " * 1000 for i in range(3)}
    whole = write_tar(tmp_path / "whole.tar", "w", members).read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole[: 3 * 512 + 600])  # member 0 (header + 2 data blocks), then half of member 1's data
    games, errors = read_all([cut])
    assert games == [(f"{cut}:g/0.sgf", members["g/0.sgf"])]
    assert [(e.reason, e.source) for e in errors] == [("bad archive", str(cut))]


def test_truncated_bz2_with_nothing_readable_reports_one_error(tmp_path):
    whole = write_tar(tmp_path / "whole.tar.bz2", "w:bz2").read_bytes()
    cut = tmp_path / "cut.tar.bz2"
    cut.write_bytes(whole[: len(whole) // 2])
    games, errors = read_all([cut])
    assert games == []
    assert [(e.reason, e.source) for e in errors] == [("bad archive", str(cut))]
    assert str(cut) in str(errors[0])


def test_corrupt_gzip_data_is_one_error(tmp_path):
    members = {f"g/{i:03d}.sgf": bytes(range(256)) * 8 + GAME_A for i in range(20)}
    data = bytearray(write_tar(tmp_path / "whole.tar.gz", "w:gz", members).read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(bytes(data))
    games, errors = read_all([bad])
    assert len(games) < 20
    assert [(e.reason, e.source) for e in errors] == [("bad archive", str(bad))]


def test_truncated_zip_is_one_error(tmp_path):
    whole = write_zip(tmp_path / "whole.zip").read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[:-40])
    games, errors = read_all([cut])
    assert games == []
    assert [(e.reason, e.source) for e in errors] == [("bad archive", str(cut))]


def test_missing_and_unsupported_inputs_are_reported_not_raised(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    good = write_zip(tmp_path / "good.zip")
    games, errors = read_all([tmp_path / "missing.tar.gz", text, good])
    assert [(e.reason, e.source) for e in errors] == [
        ("bad input", str(tmp_path / "missing.tar.gz")),
        ("bad input", str(text)),
    ]
    assert len(games) == len(EXPECTED)


def test_default_error_handler_logs_a_warning(tmp_path, caplog):
    assert list(iter_sgf([tmp_path / "missing.sgf"])) == []
    assert "missing.sgf: bad input" in caplog.text
