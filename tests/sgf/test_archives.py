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


# -- what is not a record: links, fifos, folders, devices, and records too big to be real ----------


def special_members_tar(path: Path) -> Path:
    """A tar holding one real game and a symlink, a hard link, a fifo and a folder all named .sgf."""
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("g/a.sgf")
        info.size = len(GAME_A)
        archive.addfile(info, io.BytesIO(GAME_A))
        for name, kind in (("g/sym.sgf", tarfile.SYMTYPE), ("g/hard.sgf", tarfile.LNKTYPE),
                           ("g/fifo.sgf", tarfile.FIFOTYPE), ("g/dir.sgf", tarfile.DIRTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "g/a.sgf" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            archive.addfile(info)
    return path


def test_tar_members_that_are_not_regular_files_are_skipped_by_name(tmp_path):
    games, errors = read_all([special_members_tar(tmp_path / "special.tar")])
    assert [name for name, _ in games] == [f"{tmp_path / 'special.tar'}:g/a.sgf"]
    assert [(e.reason, e.source.rsplit(":", 1)[1], e.detail) for e in errors] == [
        ("not a regular file", "g/sym.sgf", "a symbolic link"), ("not a regular file", "g/hard.sgf", "a hard link"),
        ("not a regular file", "g/fifo.sgf", "a fifo"), ("not a regular file", "g/dir.sgf", "a folder")]


def test_zip_symlink_member_is_skipped_like_the_tar_one(tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("g/a.sgf", GAME_A)
        link = zipfile.ZipInfo("g/sym.sgf")
        link.external_attr = (0o120777 << 16)  # what `zip -y` stores for a symbolic link
        archive.writestr(link, "g/a.sgf")
    games, errors = read_all([path])
    assert len(games) == 1 and [(e.reason, e.detail) for e in errors] == [("not a regular file", "a symbolic link")]


def zeros_members(path: Path, size: int) -> tuple[Path, Path]:
    """A .tar.gz and a .zip, each holding a real game and ``size`` bytes of zeros named .sgf."""
    class Zeros(io.RawIOBase):
        def __init__(self):
            self.left = size

        def readinto(self, buffer):
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    tar = path / "zeros.tar.gz"
    with tarfile.open(tar, "w:gz", compresslevel=1) as archive:
        for name, data, n in (("a.sgf", io.BytesIO(GAME_A), len(GAME_A)), ("zeros.sgf", Zeros(), size)):
            info = tarfile.TarInfo(name)
            info.size = n
            archive.addfile(info, data)
    zip_path = path / "zeros.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("a.sgf", GAME_A)
        with archive.open("zeros.sgf", "w", force_zip64=True) as out:
            zeros = Zeros()
            while block := zeros.read(1 << 20):
                out.write(block)
    return tar, zip_path


def test_members_over_the_size_limit_are_skipped_and_never_held_in_memory(tmp_path):
    import tracemalloc

    size = 64 << 20
    for archive in zeros_members(tmp_path, size):
        tracemalloc.start()
        errors = []
        games = [name for name, _ in iter_sgf([archive], errors.append, max_record_bytes=1 << 20)]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert games == [f"{archive}:a.sgf"], archive
        assert [e.reason for e in errors] == ["record too large"], archive
        assert "67,108,864 bytes, over the limit of 1,048,576" in errors[0].detail
        assert peak < 8 << 20, f"{archive}: {peak:,} bytes at the peak"


def test_zip_member_whose_header_understates_its_size_is_cut_at_the_limit(tmp_path):
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("big.sgf", b"(;" + bytes(5000) + b")")
    games, errors = read_all([path])
    assert len(games) == 1
    errors = []
    assert list(iter_sgf([path], errors.append, max_record_bytes=1000)) == []
    assert [e.reason for e in errors] == ["record too large"]


def test_folders_read_regular_files_only_fifos_and_devices_are_skipped(tmp_path):
    import os
    import signal

    (tmp_path / "a.sgf").write_bytes(GAME_A)
    os.mkfifo(tmp_path / "fifo.sgf")
    (tmp_path / "zero.sgf").symlink_to("/dev/zero")
    (tmp_path / "link.sgf").symlink_to(tmp_path / "a.sgf")  # a link to a regular file is read
    (tmp_path / "dir.sgf").mkdir()
    (tmp_path / "big.sgf").write_bytes(GAME_A + bytes(3000))
    signal.alarm(20)  # the fifo used to block the reader for ever
    try:
        errors = []
        games = [name for name, _ in iter_sgf([tmp_path], errors.append, max_record_bytes=2000)]
        direct = read_all([tmp_path / "fifo.sgf", tmp_path / "zero.sgf"])
    finally:
        signal.alarm(0)
    assert games == [str(tmp_path / "a.sgf"), str(tmp_path / "link.sgf")]
    assert sorted((Path(e.source).name, e.reason, e.detail) for e in errors) == [
        ("big.sgf", "record too large", "3,031 bytes, over the limit of 2,000 (--max-record-bytes)"),
        ("dir.sgf", "not a regular file", "a folder"),
        ("fifo.sgf", "not a regular file", "a fifo"),
        ("zero.sgf", "not a regular file", "a character device")]
    assert direct[0] == [] and [e.reason for e in direct[1]] == ["not a regular file"] * 2

