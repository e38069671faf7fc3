"""gopolicy.dataset: prepare (filters, splits, de-duplication, resume), the shard format, the loader."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gopolicy import _board
from gopolicy.dataset import prepare as prepare_module
from gopolicy.dataset.format import META_DTYPE, PASS, Dataset, DatasetError, read_journal, unpack_rows
from gopolicy.dataset.loader import BatchLoader, sequential_batches
from gopolicy.dataset.prepare import Filters, SplitSizes, game_key, prepare
from gopolicy.features import encode
from gopolicy.go.symmetry import transform
from gopolicy.sgf.archives import iter_sgf
from gopolicy.sgf.records import parse_rank, read_game, replay
from gopolicy.sgf.skipped import read_skipped

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
KGS, TYGEM = SAMPLE / "kgs-sample.tar.gz", SAMPLE / "tygem-sample.tar.gz"


def sample_games(path: Path):
    return [read_game(data, source) for source, data in iter_sgf([path])]


@pytest.fixture(scope="module")
def kgs_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kgs")
    prepare([KGS], out, shard_rows=6000, jobs=2, progress=False, splits=SplitSizes(0.05, 0.05))
    return out


def test_prepare_counts_every_game_and_position(kgs_dataset):
    games = sample_games(KGS)
    manifest = json.loads((kgs_dataset / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["games_read"] == counts["games_kept"] == len(games)
    assert sum(counts["positions"].values()) == sum(len(g.moves) for g in games)
    assert manifest["packed_bytes"] == 2166 and manifest["planes"] == 48
    assert len(manifest["shards"]) > 1 and counts["duplicates"] == 0 and counts["skipped"] == {}


def test_rows_hold_the_planes_and_moves_of_the_replayed_games(kgs_dataset):
    dataset = Dataset(kgs_dataset)
    games = {g.source: g for g in sample_games(KGS)}
    entry = read_journal(kgs_dataset / "journal.jsonl")[0]
    shard = dataset.shards[0]
    source, split, n = entry["games"][0]
    record = games[source]
    start = shard.splits[split][0]
    planes = unpack_rows(np.asarray(shard.planes[start : start + n]), 48)
    for i, (game, colour, move) in enumerate(replay(record)):
        assert np.array_equal(planes[i], encode(game, colour)), f"position {i + 1} of {source}"
        assert shard.meta["move"][start + i] == (PASS if move is None else move)
        assert shard.meta["colour"][start + i] == colour and shard.meta["move_number"][start + i] == i + 1
    assert len(set(shard.meta["game"][start : start + n])) == 1


def test_split_is_by_game_and_stable_when_archives_are_added(kgs_dataset, tmp_path):
    splits = SplitSizes(0.05, 0.05)
    first = {g: s for e in read_journal(kgs_dataset / "journal.jsonl") for g, s, _ in e["games"]}
    prepare([TYGEM, KGS], tmp_path, shard_rows=6000, jobs=1, progress=False, splits=splits)
    both = {g: s for e in read_journal(tmp_path / "journal.jsonl") for g, s, _ in e["games"]}
    assert all(both[g] == s for g, s in first.items())
    assert set(first.values()) == {"train", "validation", "test"}
    for record in sample_games(KGS)[:20]:
        assert first[record.source] == splits.split_of(game_key(record))


def test_adding_an_archive_processes_only_the_new_games_and_duplicates_are_dropped(kgs_dataset, tmp_path):
    shutil.copytree(kgs_dataset, tmp_path / "ds")
    first = json.loads((kgs_dataset / "manifest.json").read_text())
    renamed = tmp_path / "same-games-other-name.tar.gz"
    shutil.copy(TYGEM, renamed)
    again = prepare([KGS, TYGEM, renamed], tmp_path / "ds", jobs=1, progress=False, splits=SplitSizes(0.05, 0.05))
    tygem = sample_games(TYGEM)
    assert again["run"]["positions"] == sum(len(g.moves) for g in tygem)  # KGS games were not redone
    assert again["counts"]["games_kept"] == first["counts"]["games_kept"] + len(tygem)
    assert again["counts"]["duplicates"] == len(tygem)  # the same games under other names


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    full = prepare([TYGEM], tmp_path / "full", shard_rows=5000, jobs=1, progress=False)
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "full", part)
    journal = (part / "journal.jsonl").read_text().splitlines(keepends=True)
    (part / "journal.jsonl").write_text("".join(journal[:2]) + journal[2][:40])  # crash mid-append
    resumed = prepare([TYGEM], part, shard_rows=5000, jobs=1, progress=False)
    assert resumed["counts"] == full["counts"]
    assert 0 < resumed["run"]["positions"] < sum(full["counts"]["positions"].values())
    assert len(list((part / "shards").iterdir())) == 3 * len(resumed["shards"])  # planes, meta, games; orphans removed
    again = prepare([TYGEM], part, shard_rows=5000, jobs=1, progress=False)  # the torn line lost nothing after it
    assert again["run"]["positions"] == 0 and again["counts"] == full["counts"]


def test_sigterm_commits_the_games_computed_and_a_rerun_finishes(tmp_path, monkeypatch):
    encode_chunk = prepare_module._encode_chunk

    def then_terminated(args):
        out = encode_chunk(args)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would, while the job runs
        return out

    monkeypatch.setattr(prepare_module, "_encode_chunk", then_terminated)
    stopped = prepare([TYGEM], tmp_path / "ds", jobs=1, progress=False)
    assert stopped["run"]["interrupted"] and stopped["counts"]["games_kept"] == 16  # the one chunk computed
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone with the run
    monkeypatch.setattr(prepare_module, "_encode_chunk", encode_chunk)
    finished = prepare([TYGEM], tmp_path / "ds", jobs=1, progress=False)
    straight = prepare([TYGEM], tmp_path / "straight", jobs=1, progress=False)
    assert not finished["run"]["interrupted"] and finished["counts"] == straight["counts"]


_SIGNAL_MARKER: list = []  # the file whose creation claims the one SIGTERM (set by the test below)
_ENCODE_CHUNK = prepare_module._encode_chunk  # the real one, before any test patches it


def _encode_then_terminate(args):
    """Encodes a chunk in a worker, then (once) sends the main process SIGTERM, as `kill PID` would."""
    out = _ENCODE_CHUNK(args)
    try:
        os.close(os.open(_SIGNAL_MARKER[0], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return out
    os.kill(os.getppid(), signal.SIGTERM)
    return out


def test_sigterm_stops_a_run_with_workers_and_ends_them(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "_SIGNAL_MARKER", [str(tmp_path / "signalled")])
    monkeypatch.setattr(prepare_module, "_encode_chunk", _encode_then_terminate)
    stopped = prepare([TYGEM], tmp_path / "ds", jobs=2, progress=False)  # it returns: the workers were ended
    assert stopped["run"]["interrupted"] and 0 < stopped["counts"]["games_kept"] < len(sample_games(TYGEM))


def test_filters_skip_and_count_by_reason(tmp_path):
    games = sample_games(KGS)
    manifest = prepare([KGS], tmp_path, jobs=1, progress=False,
                       filters=Filters(min_rank=parse_rank("7d"), handicap="no", min_moves=400))
    skipped = manifest["counts"]["skipped"]
    low_rank = [g for g in games if any((parse_rank(r) or 99) < parse_rank("7d") for r in (g.black_rank, g.white_rank))]
    assert skipped["filtered: rank"] == len(low_rank)
    assert skipped["filtered: handicap"] > 0 and skipped["filtered: too few moves"] > 0
    assert manifest["counts"]["games_kept"] + sum(skipped.values()) == len(games)


def test_bad_games_are_skipped_and_counted(tmp_path):
    folder = tmp_path / "games"
    folder.mkdir()
    (folder / "good.sgf").write_bytes(b"(;SZ[19];B[pd];W[dd];B[pp])")
    (folder / "onto_stone.sgf").write_bytes(b"(;SZ[19];B[pd];W[pd])")
    (folder / "small.sgf").write_bytes(b"(;SZ[9];B[ee])")
    (folder / "broken.sgf").write_bytes(b"(;SZ[19];B[pd")
    (folder / "huge.sgf").write_bytes(b"(;SZ[19]" + b" " * 5000 + b";B[pd])")
    (folder / "link.sgf").symlink_to("/dev/zero")
    manifest = prepare([folder], tmp_path / "out", jobs=1, progress=False, max_record_bytes=4000)
    assert manifest["counts"]["games_kept"] == 1
    assert manifest["counts"]["skipped"] == {"board size": 1, "illegal move": 1, "malformed sgf": 1,
                                             "not a regular file": 1, "record too large": 1}
    listed = read_skipped(manifest["run"]["skipped_list"])
    assert Path(manifest["run"]["skipped_list"]) == tmp_path / "out" / "skipped.tsv"
    assert sorted((Path(g.source).name, g.reason, g.move) for g in listed) == [
        ("broken.sgf", "malformed sgf", None), ("huge.sgf", "record too large", None),
        ("link.sgf", "not a regular file", None), ("onto_stone.sgf", "illegal move", 2),
        ("small.sgf", "board size", None)]
    again = prepare([folder], tmp_path / "out", jobs=1, progress=False, max_record_bytes=4000)
    assert again["counts"] == manifest["counts"] and len(read_skipped(tmp_path / "out" / "skipped.tsv")) == 5


def test_truncated_and_corrupt_shards_are_reported(kgs_dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(kgs_dataset, copy)
    planes = next((copy / "shards").glob("*.planes.npy"))
    data = bytearray(planes.read_bytes())
    data[-1] ^= 0xFF
    planes.write_bytes(bytes(data))
    Dataset(copy)  # same size: opens
    with pytest.raises(DatasetError, match="CRC-32 mismatch"):
        Dataset(copy).verify()
    planes.write_bytes(bytes(data[:-100]))
    with pytest.raises(DatasetError, match=planes.name + ".*truncated"):
        Dataset(copy)
    with pytest.raises(DatasetError, match="no manifest"):
        Dataset(tmp_path)


def test_loader_is_deterministic_and_skips_passes(kgs_dataset):
    loader = BatchLoader(Dataset(kgs_dataset), "train", 64, seed=3)
    x1, y1 = loader.batch(5)
    x2, y2 = loader.batch(5)
    x3, _ = loader.batch(6)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    assert x1.shape == (64, 48, 19, 19) and y1.max() < 361
    # every target is an empty point, and a legal one (planes 20-27 mark the legal moves)
    rows = torch.arange(64)
    assert (x1[:, 2].flatten(1)[rows, y1] == 1).all()
    assert (x1[:, 20:28].sum(1).flatten(1)[rows, y1] == 1).all()


def test_batches_are_independent_draws(kgs_dataset):
    loader = BatchLoader(Dataset(kgs_dataset), "train", 256, seed=3)
    batches = [set(loader.indices(step)[0].tolist()) for step in range(4)]
    n = len(loader)
    for a in range(4):
        for b in range(a + 1, 4):  # two random draws of 256 from n share about 256 * 256 / n positions
            assert len(batches[a] & batches[b]) < 4 + 3 * 256 * 256 / n


def test_augmentation_moves_planes_and_targets_alike(kgs_dataset):
    dataset = Dataset(kgs_dataset)
    loader = BatchLoader(dataset, "train", 32, seed=1)
    plain = BatchLoader(dataset, "train", 32, seed=1, augment=False)
    indices, moves, symmetries = loader.indices(2)
    packed = loader._planes(indices)
    x, y = loader.to_device(packed, moves, symmetries)
    x0, y0 = plain.to_device(packed, moves, np.zeros_like(symmetries))
    assert len(set(symmetries.tolist())) > 4
    for i, s in enumerate(symmetries.tolist()):
        assert torch.equal(x[i], transform(x0[i], s))
        target = torch.zeros(361)
        target[y0[i]] = 1
        assert transform(target.view(19, 19), s).flatten().argmax() == y[i]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.bfloat16, torch.float32])
def test_compiled_and_torch_unpacking_agree(kgs_dataset, dtype):
    loader = BatchLoader(Dataset(kgs_dataset), "train", 64, seed=4, dtype=dtype)
    indices, _, symmetries = loader.indices(0)
    packed = loader._planes(indices)
    compiled = loader.unpack_cpu(packed, symmetries)
    torch_ops = loader.unpack_torch(torch.from_numpy(packed), torch.from_numpy(symmetries))
    assert compiled.dtype == torch_ops.dtype == dtype and torch.equal(compiled, torch_ops)
    assert set(symmetries.tolist()) == set(range(8))


def test_gathered_rows_and_moves_are_the_shards_rows(kgs_dataset):
    loader = BatchLoader(Dataset(kgs_dataset), "train", 8)
    assert len(loader.parts) > 3  # the batch spans shards
    everything = np.concatenate([np.asarray(shard.planes[start:stop]) for shard, start, stop in loader.parts])
    moves = np.concatenate([np.asarray(shard.meta["move"][start:stop]) for shard, start, stop in loader.parts])
    indices = np.random.default_rng(0).permutation(len(loader))[:500]
    assert np.array_equal(loader._planes(indices), everything[indices])
    assert np.array_equal(loader._moves(indices), moves[indices])


def test_batch_kernels_reject_inconsistent_input():
    source, out = np.zeros((3, 4), np.uint8), np.empty((2, 4), np.uint8)
    with pytest.raises(IndexError):
        _board.gather_rows([source], np.array([0, 1]), np.array([0, 0]), out)  # no source 1
    with pytest.raises(IndexError):
        _board.gather_rows([source], np.array([0, 0]), np.array([0, 3]), out)  # no row 3
    with pytest.raises(ValueError):
        _board.gather_rows([np.zeros((3, 5), np.uint8)], np.array([0, 0]), np.array([0, 0]), out)
    dest, planes = np.tile(np.arange(9, dtype=np.uint16), (2, 1)), np.empty((2, 9), np.uint8)
    packed = np.full((2, 2), 255, np.uint8)
    _board.unpack_planes(packed, np.array([0, 1]), dest, planes, 1)
    assert planes.tolist() == [[1] * 9] * 2
    with pytest.raises(ValueError):
        _board.unpack_planes(packed, np.array([0, 2]), dest, planes, 1)  # no symmetry 2
    with pytest.raises(ValueError):
        _board.unpack_planes(packed, np.array([0, 1]), dest + 1, planes, 1)  # lands past the row
    with pytest.raises(ValueError):
        _board.unpack_planes(packed[:, :1], np.array([0, 1]), dest, planes, 1)  # 8 bits for 9 points


def test_ranks_draw_from_disjoint_parts(kgs_dataset):
    dataset = Dataset(kgs_dataset)
    parts = [BatchLoader(dataset, "train", 8, rank=r, world_size=3) for r in range(3)]
    assert sum(len(p) for p in parts) == dataset.rows("train")
    drawn = [set(p.indices(0)[0].tolist()) for p in parts]
    assert all(min(d) >= p.low and max(d) < p.high for d, p in zip(drawn, parts))


def test_sequential_batches_cover_the_split(kgs_dataset):
    dataset = Dataset(kgs_dataset)
    seen = sum(len(meta) for _, meta, _ in sequential_batches(dataset, "test", 100, include_passes=True))
    assert seen == dataset.rows("test") > 0


def test_prepare_command_line(tmp_path):
    out = tmp_path / "ds"
    result = subprocess.run([sys.executable, "-m", "gopolicy.cli", "prepare", str(TYGEM), "--out", str(out), "--jobs", "1",
                             "--features", "alphago12"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "positions in" in result.stdout and Dataset(out).planes == 12
    again = subprocess.run([sys.executable, "-m", "gopolicy.cli", "prepare", str(TYGEM), "--out", str(out)],
                           capture_output=True, text=True)
    assert again.returncode == 1 and "prepared with" in again.stderr  # another feature set: refused, not mixed
    verify = subprocess.run([sys.executable, "-m", "gopolicy.cli", "prepare", "--verify", "--out", str(out)],
                            capture_output=True, text=True)  # as the README has it: no ARCHIVE
    assert verify.returncode == 0 and "verified" in verify.stdout, verify.stderr


def gopolicy_prepare(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gopolicy.cli", "prepare", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_prepare_refuses_bad_options_with_exit_2_before_creating_anything(tmp_path):
    out = tmp_path / "ds"
    for args, message in (
            (["--validation", "1.5"], "argument --validation: '1.5' is not a fraction in [0, 1)"),
            (["--validation", "-0.1"], "argument --validation: '-0.1' is not a fraction in [0, 1)"),
            (["--validation", "0.6", "--test", "0.6"], "their sum must be below 1"),
            (["--test", "0.5", "--validation", "0.5"], "their sum must be below 1"),
            (["--jobs", "-1"], "argument --jobs: '-1' is not a non-negative integer"),
            (["--shard-rows", "0"], "argument --shard-rows: '0' is not a positive integer"),
            (["--min-rank", "best"], "--min-rank: 'best' is not a rank"),
            (["--max-record-bytes", "0"], "--max-record-bytes: '0' is not a positive integer")):
        done = gopolicy_prepare(TYGEM, "--out", out, *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    missing = gopolicy_prepare(tmp_path / "missing.tar.gz", "--out", out)
    assert missing.returncode == 2 and "missing.tar.gz: no such file or folder" in missing.stderr
    assert gopolicy_prepare("--out", out).returncode == 2  # no ARCHIVE
    assert "Traceback" not in missing.stderr and not out.exists()
    with pytest.raises(DatasetError, match="missing.sgf: no such file or folder"):
        prepare([TYGEM, tmp_path / "missing.sgf"], out, jobs=1, progress=False)
    assert not out.exists()
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DatasetError, match="a-file/ds: cannot write the dataset there"):
        prepare([TYGEM], tmp_path / "a-file" / "ds", jobs=1, progress=False)


def test_a_second_writer_is_refused_and_the_dataset_stays_whole(tmp_path):
    from gopolicy.dataset.prepare import Preparer

    out = tmp_path / "ds"
    holder = Preparer(out, "alphago48", Filters(), SplitSizes())  # holds the lock, as a running prepare does
    try:
        done = gopolicy_prepare(TYGEM, "--out", out, "--jobs", "1")
        assert done.returncode == 1 and "another gopolicy prepare" in done.stderr and "is writing this dataset" in done.stderr
        with pytest.raises(DatasetError, match=f"pid {os.getpid()}"):
            prepare([TYGEM], out, jobs=1, progress=False)
    finally:
        holder.close()
    runs = [subprocess.Popen([sys.executable, "-m", "gopolicy.cli", "prepare", str(TYGEM), "--out", str(out), "--jobs", "1",
                              "--shard-rows", "3000", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    for run in runs:
        run.stdout.close()
        run.stderr.close()
    assert sorted(code for code, _ in results) in ([0, 0], [0, 1]), results  # the second after the first, or refused
    assert all("another gopolicy prepare" in err for code, err in results if code == 1)
    dataset = Dataset(out)
    dataset.verify()
    assert sum(dataset.rows(s) for s in ("train", "validation", "test")) == sum(len(g.moves) for g in sample_games(TYGEM))


def test_out_of_range_meta_is_caught_on_opening_naming_the_shard(kgs_dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(kgs_dataset, copy)
    meta_path = sorted((copy / "shards").glob("*.meta.npy"))[1]
    header = len(meta_path.read_bytes()) - META_DTYPE.itemsize * len(np.load(meta_path))
    row = META_DTYPE.itemsize  # move <i2 at byte 0, game <i4 at 2, move_number <i2 at 6, colour u1 at 8
    for offset, value, message in ((1, 0x7F, "row 0: move 32[0-9]+ is not a point or -1"),  # the move's high byte
                                   (5 * row + 8, 7, "row 5: colour 7 is not 1 or 2"),
                                   (3 * row + 7, 0x80, "row 3: move_number -[0-9]+ is below 1")):
        data = bytearray((kgs_dataset / "shards" / meta_path.name).read_bytes())
        data[header + offset] = value
        meta_path.write_bytes(bytes(data))
        with pytest.raises(DatasetError, match=f"{meta_path.name}: {message}: the shard is corrupt"):
            Dataset(copy)


def test_datasets_from_before_the_skipped_list_and_lock_still_open_and_grow(kgs_dataset, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(kgs_dataset, old)
    for name in ("skipped.tsv", "prepare.lock"):
        (old / name).unlink(missing_ok=True)
    lines = [json.loads(line) for line in (old / "journal.jsonl").read_text().splitlines()]
    (old / "journal.jsonl").write_text("".join(json.dumps({k: v for k, v in e.items() if k != "skipped_games"}) + "\n"
                                              for e in lines))
    assert Dataset(old).rows("train") == Dataset(kgs_dataset).rows("train")
    grown = prepare([KGS, TYGEM], old, shard_rows=6000, jobs=1, progress=False, splits=SplitSizes(0.05, 0.05))
    assert grown["run"]["positions"] == sum(len(g.moves) for g in sample_games(TYGEM))
    assert read_skipped(old / "skipped.tsv") == []


def test_each_game_records_its_result_komi_and_handicap(kgs_dataset):
    dataset = Dataset(kgs_dataset)
    assert dataset.has_results
    records = {}
    for source, data in iter_sgf([KGS]):
        record = read_game(data, source, size=19)
        records[source] = record
    sources = [g for entry in (json.loads(line) for line in (kgs_dataset / "journal.jsonl").read_text().splitlines())
               for g in entry["games"]]
    rows = np.concatenate([shard.games for shard in dataset.shards])
    assert len(rows) == len(sources) and (rows["game"] == np.arange(len(rows))).all()
    for (source, _, _), row in zip(sources, rows):
        record = records[source]
        assert row["winner"] == record.winner and row["komi"] == pytest.approx(record.komi)
        assert row["handicap"] == record.handicap
    assert {int(w) for w in rows["winner"]} <= {0, 1, 2} and (rows["winner"] == 1).any() and (rows["winner"] == 2).any()


def test_datasets_without_results_still_load_and_bad_results_are_caught(kgs_dataset, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(kgs_dataset, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for shard in manifest["shards"]:
        del shard["results"]
        (old / "shards" / f"{shard['name']}.games.npy").unlink()
    (old / "manifest.json").write_text(json.dumps(manifest))
    dataset = Dataset(old)
    assert not dataset.has_results and dataset.rows("train") == Dataset(kgs_dataset).rows("train")
    dataset.verify()

    bad = tmp_path / "bad"
    shutil.copytree(kgs_dataset, bad)
    name = json.loads((bad / "manifest.json").read_text())["shards"][0]["name"]
    path = bad / "shards" / f"{name}.games.npy"
    games = np.load(path)
    games["winner"][0] = 7
    with open(path, "r+b") as f:  # same size, so only the content check can notice
        np.save(f, games, allow_pickle=False)
    with pytest.raises(DatasetError, match="winner 7"):
        Dataset(bad)
