"""scripts/gpu_run.py: the one-command GPU run, checked end to end on the CPU with small settings."""
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from gpu_run import bf16_peak, training_flops_per_position  # noqa: E402


def test_training_flops_count_every_convolution_and_dense_layer():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.Conv2d(3, 1, 1), torch.nn.Flatten(),
                                torch.nn.Linear(361, 4))
    forward = 2 * (2 * 3 * 9 * 361 + 3 * 1 * 361 + 361 * 4)
    assert training_flops_per_position(model) == 3 * forward


def test_peak_is_given_or_unknown_on_a_cpu():
    assert bf16_peak(torch.device("cpu"), 100.0) == 100e12
    assert bf16_peak(torch.device("cpu"), None) is None


def small_archive(path: Path, games: int = 20) -> Path:
    with tarfile.open(ROOT / "data" / "sample" / "kgs-sample.tar.gz") as source, tarfile.open(path, "w:gz") as out:
        members = [m for m in source.getmembers() if m.name.endswith(".sgf")][:games]
        for member in members:
            out.addfile(member, source.extractfile(member))
    return path


def test_prepares_trains_within_the_budget_evaluates_and_reports(tmp_path):
    archive = small_archive(tmp_path / "games.tar.gz")
    minutes = 1.0
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_run.py"), "--minutes", str(minutes),
                             "--archive", str(archive), "--work", str(tmp_path / "work"), "--device", "cpu",
                             "--filters", "8", "--layers", "3", "--batch-size", "16", "--probe-steps", "8",
                             "--eval-positions", "300", "--test", "0.3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "work" / "report.json").read_text())
    assert report["positions"]["test"] > 0 and report["steps_done"] >= 1
    assert report["positions_seen"] == 16 * report["steps_done"]
    assert report["train_positions_per_s"] > 0 and report["loader_positions_per_s"] > 0
    assert 0.0 <= report["test_top1"] <= 1.0 and report["bf16_peak_fraction"] is None
    assert report["elapsed_s"] <= 60 * minutes + 30  # the deadline holds (SIGTERM stops training in time)
    assert (tmp_path / "work" / "train" / "final.pt").exists()
