"""The value network's data: few positions per game at prepare time, the loader's choice of
games and positions, outcomes for the colour to move, and datasets without results."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gopolicy.dataset.format import BLACK, Dataset, DatasetError
from gopolicy.dataset.loader import VALUE_KOMI, ValueBatchLoader, value_rows
from gopolicy.dataset.prepare import Filters, SplitSizes, prepare

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
KGS = SAMPLE / "kgs-sample.tar.gz"


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full")
    prepare([KGS], out, jobs=1, progress=False, splits=SplitSizes(0.1, 0.1))
    return out


@pytest.fixture(scope="module")
def sampled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sampled")
    prepare([KGS], out, jobs=1, progress=False, splits=SplitSizes(0.1, 0.1), filters=Filters(positions_per_game=5))
    return out


def rows_by_position(path: Path) -> dict:
    """(game's source, move number) -> (packed planes, move, colour) for every row."""
    sources = [g[0] for line in (path / "journal.jsonl").read_text().splitlines() for g in json.loads(line)["games"]]
    found = {}
    for shard in Dataset(path).shards:
        for row in range(len(shard.meta)):
            m = shard.meta[row]
            found[(sources[m["game"]], int(m["move_number"]))] = (bytes(shard.planes[row]), int(m["move"]), int(m["colour"]))
    return found


def test_prepare_keeps_n_positions_of_each_game_exactly_as_the_full_replay_has_them(full, sampled):
    few = Dataset(sampled)
    per_game = np.unique(np.concatenate([s.meta["game"] for s in few.shards]), return_counts=True)[1]
    assert (per_game == 5).all() and len(per_game) == few.manifest["counts"]["games_kept"]
    everything = rows_by_position(full)
    chosen = rows_by_position(sampled)
    assert len(chosen) == 5 * len(per_game)
    assert all(everything[key] == value for key, value in chosen.items())  # same planes, move, colour at that move
    numbers = [n for _, n in chosen]
    assert max(numbers) > 100 and min(numbers) < 60  # spread over the games, not their first moves


def test_the_positions_drawn_are_the_same_on_a_second_prepare(sampled, tmp_path):
    prepare([KGS], tmp_path, jobs=1, progress=False, splits=SplitSizes(0.1, 0.1), filters=Filters(positions_per_game=5))
    assert set(rows_by_position(tmp_path)) == set(rows_by_position(sampled))


def test_value_rows_take_n_positions_of_even_games_with_a_usual_komi(full):
    dataset = Dataset(full)
    rows, outcomes = value_rows(dataset, "train", 3, seed=1)
    loader = ValueBatchLoader(dataset, "train", 8, positions_per_game=3, seed=1)
    meta = loader.meta(rows)
    games = {int(g["game"]): g for s in dataset.shards for g in s.games}
    used = np.unique(meta["game"], return_counts=True)
    assert (used[1] <= 3).all() and (used[1] == 3).mean() > 0.9
    for game in used[0]:
        g = games[int(game)]
        assert g["handicap"] == 0 and g["winner"] in (1, 2) and VALUE_KOMI[0] <= g["komi"] <= VALUE_KOMI[1]
    eligible = [g for g in games.values() if g["handicap"] == 0 and g["winner"]
                and VALUE_KOMI[0] <= g["komi"] <= VALUE_KOMI[1]]
    train_games = {int(g) for s in dataset.shards for g in s.meta["game"][s.splits["train"][0]: s.splits["train"][1]]}
    assert len(used[0]) == len([g for g in eligible if int(g["game"]) in train_games]) > 50
    winners = np.array([games[int(g)]["winner"] for g in meta["game"]])
    assert np.array_equal(outcomes, np.where(meta["colour"] == winners, 1.0, -1.0))
    assert set(np.unique(outcomes)) == {-1.0, 1.0}
    assert np.array_equal(value_rows(dataset, "train", 3, seed=1)[0], rows)  # the same seed, the same positions
    assert not np.array_equal(value_rows(dataset, "train", 3, seed=2)[0], rows)
    assert len(value_rows(dataset, "train", None)[0]) > 20 * len(rows) / 3


def test_value_batches_add_the_player_colour_plane_and_are_deterministic(full):
    loader = ValueBatchLoader(Dataset(full), "train", 32, positions_per_game=4, seed=3)
    x, y = loader.batch(5)
    assert x.shape == (32, 49, 19, 19) and y.shape == (32,)
    indices = np.random.default_rng([3, 0, 5]).integers(0, len(loader.rows), size=32)
    colours = loader.meta(loader.rows[indices])["colour"]
    assert np.array_equal(x[:, 48].amax((1, 2)).numpy() == 1, colours == BLACK)
    assert (x[:, 48].amin((1, 2)) == x[:, 48].amax((1, 2))).all()  # the whole plane one value
    assert np.array_equal(y.numpy(), loader.outcomes[indices])
    x2, y2 = loader.batch(5)
    assert (x == x2).all() and (y == y2).all()


def test_a_dataset_without_results_is_refused_for_a_value_network_by_name(full, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(full, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for shard in manifest["shards"]:
        del shard["results"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match=f"{old}: the dataset records no game results"):
        ValueBatchLoader(Dataset(old), "train", 8)


def test_a_value_network_wants_alphago48_data(tmp_path):
    prepare([KGS], tmp_path, jobs=1, progress=False, feature_set="alphago20")
    with pytest.raises(DatasetError, match="a value network reads alphago49"):
        ValueBatchLoader(Dataset(tmp_path), "train", 8)
