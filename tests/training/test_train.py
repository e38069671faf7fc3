"""gopolicy.training.train: the loop end to end, bit-for-bit resume, two-process DDP, presets and schedules."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gopolicy.dataset.prepare import SplitSizes, prepare
from gopolicy.nn.modelfile import load_model
from gopolicy.training.train import PRESETS, Checkpointer, Config, RunOptions, TrainingError, learning_rate, train

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "tygem-sample.tar.gz"
TINY = Config(filters=8, layers=3, batch_size=16, steps=6, lr=0.05, warmup_steps=2, seed=7)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    prepare([SAMPLE], out, jobs=1, progress=False, splits=SplitSizes(0.1, 0.1), feature_set="alphago20")
    return out


def run(dataset: Path, out: Path, config: Config = TINY, **kwargs) -> dict:
    options = dict(threads=1, val_every=3, val_positions=64, ckpt_every=3, log_every=1, progress=False)
    return train(str(dataset), str(out), config, RunOptions(**{**options, **kwargs}))


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model"]


def test_training_writes_metrics_checkpoints_and_model_files(dataset, tmp_path):
    metrics = run(dataset, tmp_path)
    assert metrics["step"] == 6 and not metrics["interrupted"]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines if "loss" in l] == [1, 2, 3, 4, 5, 6]
    assert sum("val_accuracy" in l for l in lines) == 2
    model, info = load_model(tmp_path / "final.pt")
    assert info.feature_set == "alphago20" and model.planes == 20 and info.provenance["step"] == 6
    assert (tmp_path / "best.pt").exists()


def test_loss_goes_down(dataset, tmp_path):
    metrics = run(dataset, tmp_path, replace(TINY, steps=60, lr=0.1, filters=16), val_every=60, ckpt_every=60, log_every=20)
    lines = [l for l in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines()) if "loss" in l]
    assert lines[-1]["loss"] < lines[0]["loss"] - 0.3
    assert metrics["step"] == 60


def test_resume_continues_bit_for_bit(dataset, tmp_path):
    run(dataset, tmp_path / "straight")
    stopped = run(dataset, tmp_path / "split", stop_at=4)
    assert stopped["step"] == 4 and stopped["interrupted"]
    run(dataset, tmp_path / "split", resume=True)
    a, b = weights(tmp_path / "straight" / "checkpoint.pt"), weights(tmp_path / "split" / "checkpoint.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], weights(tmp_path / "split" / "checkpoint.pt")["conv1.weight"] * 0)


def test_resume_refuses_another_config_or_a_missing_checkpoint(dataset, tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint"):
        run(dataset, tmp_path, resume=True)
    run(dataset, tmp_path, stop_at=3)
    with pytest.raises(TrainingError, match="made with"):
        run(dataset, tmp_path, replace(TINY, lr=0.01), resume=True)
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(TrainingError, match="unreadable checkpoint"):
        Checkpointer(tmp_path).load()


def test_two_processes_stay_in_sync_under_ddp(dataset, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "gopolicy.cli",
           "train", str(dataset), "--out", str(tmp_path), "--filters", "8", "--layers", "3", "--batch-size", "8",
           "--steps", "4", "--threads", "1", "--val-every", "100", "--ckpt-every", "100", "--log-every", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any(l.get("ranks_in_sync") is True for l in lines)
    assert lines[0]["positions_seen"] == 2 * 8 * 2  # two ranks' batches per step


def test_presets_and_schedules():
    paper = PRESETS["paper"]
    assert (paper.batch_size, paper.lr, paper.momentum, paper.schedule) == (16, 0.003, 0.0, "step")
    assert learning_rate(paper, 80_000_000 - 1) == 0.003 and learning_rate(paper, 80_000_000) == 0.0015
    modern = replace(PRESETS["modern"], steps=1000, warmup_steps=100)
    assert learning_rate(modern, 0) == pytest.approx(modern.lr / 100)
    assert learning_rate(modern, 99) == pytest.approx(modern.lr)
    assert learning_rate(modern, 550) == pytest.approx(modern.lr / 2)
    assert learning_rate(modern, 1000) == pytest.approx(0)


def test_train_command_line(dataset, tmp_path):
    result = subprocess.run([sys.executable, "-m", "gopolicy.cli", "train", str(dataset), "--out", str(tmp_path),
                             "--preset", "paper", "--filters", "8", "--layers", "3", "--steps", "3", "--threads", "1",
                             "--val-every", "3"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["step"] == 3
    missing = subprocess.run([sys.executable, "-m", "gopolicy.cli", "train", str(tmp_path / "nope"), "--out", str(tmp_path)],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "no manifest.json" in missing.stderr


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(dataset, tmp_path):
    run(dataset, tmp_path, stop_at=3)
    good = weights(tmp_path / "checkpoint.pt")
    with pytest.raises(TrainingError, match="diverged"):
        run(dataset, tmp_path, replace(TINY, lr=1e12, grad_clip=0.0, steps=50, warmup_steps=0), ckpt_every=100)
    after = weights(tmp_path / "checkpoint.pt")
    assert all(torch.equal(good[k], after[k]) for k in good)
