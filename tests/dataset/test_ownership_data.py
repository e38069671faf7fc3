"""Final ownership in a dataset (``prepare --ownership``): each game's owners as the end-of-game
judgement gives them, stored beside its result, checked and verified, and the loader's
ownership targets for the colour to move under the board's symmetries."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gopolicy.dataset.format import BLACK, Dataset, DatasetError
from gopolicy.dataset.loader import ValueBatchLoader
from gopolicy.dataset.prepare import Filters, SplitSizes, prepare
from gopolicy.go.ownership import final_ownership
from gopolicy.go.symmetry import transform
from gopolicy.sgf.records import read_game, replay

TYGEM = Path(__file__).resolve().parents[2] / "data" / "sample" / "tygem-sample.tar.gz"


@pytest.fixture(scope="module")
def owned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("owned")
    prepare([TYGEM], out, jobs=1, progress=False, splits=SplitSizes(0.2, 0.2), filters=Filters(positions_per_game=4),
            ownership=True)
    return out


def final_owners_by_source() -> dict:
    """source -> final_ownership of the game, replayed here independently of prepare."""
    found = {}
    with tarfile.open(TYGEM) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".sgf"):
                record = read_game(archive.extractfile(member).read(), f"{TYGEM}:{member.name}", size=19)
                game = None
                for game, _, _ in replay(record):  # noqa: B007 (the live game: the final position after the loop)
                    pass
                found[member.name] = final_ownership(game)
    return found


def test_prepare_records_each_games_final_ownership(owned):
    dataset = Dataset(owned)
    assert dataset.has_ownership and dataset.manifest["ownership"] is True
    sources = [g[0] for line in (owned / "journal.jsonl").read_text().splitlines() for g in json.loads(line)["games"]]
    expected = final_owners_by_source()
    checked = 0
    for shard in dataset.shards:
        assert shard.ownership.shape == (len(shard.games), 361) and shard.ownership.dtype == np.int8
        for row, game in enumerate(shard.games["game"]):
            name = sources[game].split(":", 1)[1]
            assert np.array_equal(shard.ownership[row], expected[name]), name
            checked += 1
    assert checked == dataset.manifest["counts"]["games_kept"] > 10
    dataset.verify()


def test_a_dataset_without_ownership_still_loads_and_says_so(owned, tmp_path):
    prepare([TYGEM], tmp_path, jobs=1, progress=False, filters=Filters(positions_per_game=4))
    plain = Dataset(tmp_path)
    assert not plain.has_ownership and all(s.ownership is None for s in plain.shards)
    with pytest.raises(DatasetError, match="--ownership"):
        ValueBatchLoader(plain, "train", 8, ownership=True)


def test_a_corrupt_ownership_file_is_refused_on_opening(owned, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(owned, copy)
    shard = Dataset(copy).manifest["shards"][0]["name"]
    path = copy / "shards" / f"{shard}.ownership.npy"
    np.save(path, np.zeros((3, 5), np.int8))
    with pytest.raises(DatasetError, match="ownership"):
        Dataset(copy)


def test_the_loaders_ownership_is_the_colour_to_moves_under_the_planes_symmetry(owned):
    loader = ValueBatchLoader(Dataset(owned), "train", 16, ownership=True)
    planes, (outcomes, owners) = loader.batch(3)
    assert owners.shape == (16, 361) and outcomes.shape == (16,)
    rows = loader.rows[:12]
    symmetries = np.arange(12) % 8
    plain = loader.ownership(rows, np.zeros(12, np.int64))
    turned = loader.ownership(rows, symmetries)
    planes0, planes_turned = loader.positions(rows, np.zeros(12, np.int64)), loader.positions(rows, symmetries)
    meta = loader.meta(rows)
    for i, s in enumerate(symmetries):
        assert torch.equal(turned[i].view(19, 19), transform(plain[i].view(19, 19), int(s)))
        assert torch.equal(planes_turned[i], transform(planes0[i], int(s)))  # the same turn as the planes'
    shard = loader.parts[0][0]
    for i in range(12):
        stored = shard.ownership[np.searchsorted(shard.games["game"], meta["game"][i])]
        sign = 1 if meta["colour"][i] == BLACK else -1
        assert np.array_equal(plain[i].numpy(), stored * sign)
