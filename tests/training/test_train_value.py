"""``gopolicy train --target value``: the value network's run end to end, its start from a
policy network, resume, and ``gopolicy eval`` of a value model."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gopolicy.dataset.format import Dataset
from gopolicy.dataset.loader import ValueBatchLoader
from gopolicy.dataset.prepare import SplitSizes, prepare
from gopolicy.nn.modelfile import ModelFileError, load_model, save_model
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.nn.value import ValueNetwork
from gopolicy.training.train import Config, RunOptions, TrainingError, build_model, train

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "kgs-sample.tar.gz"
TYGEM = SAMPLE.with_name("tygem-sample.tar.gz")
VALUE = Config(target="value", positions_per_game=6, filters=8, layers=3, batch_size=16, steps=6, lr=0.02,
               warmup_steps=2, seed=3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    prepare([SAMPLE], out, jobs=1, progress=False, splits=SplitSizes(0.1, 0.1))
    return out


@pytest.fixture(scope="module")
def owned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("owned")
    prepare([TYGEM], out, jobs=1, progress=False, splits=SplitSizes(0.1, 0.1), ownership=True)
    return out


def run(dataset: Path, out: Path, config: Config = VALUE, **kwargs) -> dict:
    options = dict(threads=1, val_every=3, val_positions=64, ckpt_every=3, log_every=1, progress=False)
    return train(str(dataset), str(out), config, RunOptions(**{**options, **kwargs}))


def test_a_value_run_writes_a_value_model_of_the_colour_plane_features(dataset, tmp_path):
    metrics = run(dataset, tmp_path)
    assert metrics["step"] == 6 and 0 < metrics["val_loss"] < 4 and 0 <= metrics["val_accuracy"] <= 1
    model, info = load_model(tmp_path / "final.pt", kind="value")
    assert isinstance(model, ValueNetwork) and info.feature_set == "alphago49" and model.planes == 49
    assert info.provenance["target"] == "value" and info.provenance["positions_per_game"] == 6
    assert load_model(tmp_path / "best.pt", kind="value")[1].provenance["val_loss"] > 0
    with pytest.raises(ModelFileError, match="not the policy network"):
        load_model(tmp_path / "final.pt")


def test_a_value_run_resumes_bit_for_bit(dataset, tmp_path):
    run(dataset, tmp_path / "straight")
    run(dataset, tmp_path / "split", stop_at=3)
    run(dataset, tmp_path / "split", resume=True)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_init_starts_the_convolutions_from_a_policy_network(dataset, tmp_path):
    torch.manual_seed(0)
    policy = PolicyNetwork(48, 8, 3, 19)
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_()
    save_model(tmp_path / "policy.pt", policy, "alphago48")
    value = build_model(replace(VALUE, init=str(tmp_path / "policy.pt")), Dataset(dataset), torch.device("cpu"))
    assert torch.equal(value.conv1.weight[:, :48], policy.conv1.weight) and (value.conv1.weight[:, 48] == 0).all()
    assert torch.equal(value.conv2.weight, policy.conv2.weight) and torch.equal(value.conv2.bias, policy.conv2.bias)
    with pytest.raises(TrainingError, match="does not fit a plain value network of 16 filters"):
        build_model(replace(VALUE, filters=16, init=str(tmp_path / "policy.pt")), Dataset(dataset), torch.device("cpu"))


def test_init_starts_a_policy_run_from_every_weight_of_a_policy_model(dataset, tmp_path):
    torch.manual_seed(0)
    source = PolicyNetwork(48, 8, 5, 19, arch="residual")
    with torch.no_grad():
        for p in source.parameters():
            p.normal_()
    save_model(tmp_path / "policy.pt", source, "alphago48")
    policy = replace(VALUE, target="policy", arch="residual", layers=5, init=str(tmp_path / "policy.pt"))
    model = build_model(policy, Dataset(dataset), torch.device("cpu"))
    started = model.state_dict()
    assert all(torch.equal(started[name], weight) for name, weight in source.state_dict().items())
    assert model.arch == "residual"
    with pytest.raises(TrainingError, match="does not fit this plain network of 8 filters"):
        build_model(replace(policy, arch="plain"), Dataset(dataset), torch.device("cpu"))
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(TrainingError, match="junk.pt: not a model file"):
        build_model(replace(policy, init=str(tmp_path / "junk.pt")), Dataset(dataset), torch.device("cpu"))


def test_init_copies_a_residual_policy_trunk_whole(dataset, tmp_path):
    """A residual policy network's trunk (blocks, biases, the last 3x3 layer) starts a residual
    value network; the policy's output layers are not copied, and the two then read the
    board alike: the value's trunk gives the policy's trunk's maps."""
    torch.manual_seed(1)
    policy = PolicyNetwork(48, 8, 5, 19, arch="residual")
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_(std=0.3)
    path = tmp_path / "policy.pt"
    save_model(path, policy, "alphago48")
    value = build_model(replace(VALUE, arch="residual", layers=5, init=str(path)), Dataset(dataset), torch.device("cpu"))
    assert value.trunk_end == "relu4" and torch.equal(value.block1.body.conv3.weight, policy.block1.body.conv3.weight)
    x = torch.rand(2, 49, 19, 19).round()
    x[:, 48] = 1
    trunk_value, trunk_policy = x, x[:, :48]
    for (name, layer, _), (_, policy_layer, _) in zip(value.layer_shapes, policy.layer_shapes):
        trunk_value, trunk_policy = layer(trunk_value), policy_layer(trunk_policy)
        if name == value.trunk_end:
            break
    assert torch.allclose(trunk_value, trunk_policy, atol=1e-5) and trunk_value.abs().sum() > 0
    assert not torch.equal(value.conv5.weight, policy.conv5.weight)
    with pytest.raises(TrainingError, match="must have the same --arch"):
        build_model(replace(VALUE, arch="plain", layers=5, init=str(path)), Dataset(dataset), torch.device("cpu"))


def test_value_runs_refuse_a_batch_norm_variant(dataset, tmp_path):
    with pytest.raises(TrainingError, match="not residual-bn"):
        run(dataset, tmp_path, replace(VALUE, arch="residual-bn"))


def test_train_and_eval_command_lines_for_a_value_network(dataset, tmp_path):
    cli = [sys.executable, "-m", "gopolicy.cli"]
    trained = subprocess.run(cli + ["train", str(dataset), "--out", str(tmp_path), "--target", "value", "--filters", "8",
                                    "--layers", "3", "--steps", "3", "--batch-size", "8", "--threads", "1",
                                    "--positions-per-game", "4", "--no-progress"],
                             capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    report = tmp_path / "eval.json"
    evaluated = subprocess.run(cli + ["eval", str(tmp_path / "final.pt"), str(dataset), "--json", str(report), "--max-positions", "400",
                                      "--no-progress"], capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "MSE" in evaluated.stdout and "baseline" in evaluated.stdout
    result = json.loads(report.read_text())
    assert result["positions"] == 400 and result["positions_per_game"] is None and result["by_move_number"]
    assert 0 < result["baseline_mse"] <= 1.01 and result["feature_set"] == "alphago49"
    bad = subprocess.run(cli + ["train", str(dataset), "--out", str(tmp_path / "x"), "--target", "value",
                                "--positions-per-game", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "positions-per-game" in bad.stderr


def test_an_ownership_head_learns_the_final_owners_and_ships_in_the_model_file(owned, tmp_path):
    config = replace(VALUE, ownership_weight=1.0, steps=60, lr=0.05, filters=16, batch_size=32)
    metrics = run(owned, tmp_path, config, val_every=60, ckpt_every=60, log_every=10)
    assert metrics["step"] == 60 and 0 < metrics["val_loss"] < 4
    model, info = load_model(tmp_path / "final.pt", kind="value")
    planes, (_, targets) = ValueBatchLoader(Dataset(owned), "validation", 64, ownership=True).batch(0)
    start = build_model(config, Dataset(owned), torch.device("cpu"))
    with torch.no_grad():
        before, after = (F.mse_loss(net(planes, ownership=True)[1], targets).item() for net in (start, model))
    assert after < 0.9 * before  # the owners of the points are far easier to learn than the outcome
    assert info.architecture["ownership"] is True and model.ownership
    values, owners = model(torch.zeros(2, 49, 19, 19), ownership=True)
    assert values.shape == (2,) and owners.shape == (2, 361) and (owners.abs() <= 1).all()


def test_an_ownership_weight_needs_ownership_data_and_a_value_target(dataset, owned, tmp_path):
    with pytest.raises(TrainingError, match="prepared with --ownership"):
        run(dataset, tmp_path / "a", replace(VALUE, ownership_weight=1.0))
    with pytest.raises(TrainingError, match="--target value"):
        run(owned, tmp_path / "b", replace(VALUE, target="policy", positions_per_game=8, ownership_weight=1.0))
