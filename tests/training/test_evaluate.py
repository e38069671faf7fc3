"""gopolicy.training.evaluate: accuracy figures checked against a direct computation; the eval command."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gopolicy.dataset.format import PASS, Dataset, unpack_rows
from gopolicy.dataset.prepare import SplitSizes, prepare
from gopolicy.nn.modelfile import save_model
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.training.evaluate import evaluate_split, format_table, format_value_table, legal_points

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "tygem-sample.tar.gz"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    out = tmp_path_factory.mktemp("ds")
    prepare([SAMPLE], out, jobs=1, progress=False, splits=SplitSizes(0.0, 0.2))
    return Dataset(out)


@pytest.fixture(scope="module")
def model() -> PolicyNetwork:
    torch.manual_seed(0)
    return PolicyNetwork(48, 8, 3).eval()


def test_top1_matches_a_direct_computation(dataset, model):
    result = evaluate_split(model, dataset, "test", max_positions=700, batch_size=64, mask_legal=False)
    shard = next(s for s in dataset.shards if s.splits["test"][1] > s.splits["test"][0])
    start, stop = shard.splits["test"]
    moves = np.asarray(shard.meta["move"][start:stop])
    keep = np.nonzero(moves != PASS)[0][:700]
    planes = torch.from_numpy(unpack_rows(np.asarray(shard.planes[start:stop])[keep], 48)).float()
    with torch.no_grad():
        predicted = model(planes).argmax(1).numpy()
    assert result["positions"] == len(keep) == 700
    assert result["top1"] == pytest.approx(np.mean(predicted == moves[keep]))


def test_masking_can_only_help_and_figures_are_consistent(dataset, model):
    masked = evaluate_split(model, dataset, "test", mask_legal=True)
    plain = evaluate_split(model, dataset, "test", mask_legal=False)
    for k in ("top1", "top3", "top5", "mean_log_likelihood"):
        assert masked[k] >= plain[k]
    assert masked["top1"] <= masked["top3"] <= masked["top5"] <= 1
    assert sum(p["positions"] for p in masked["by_phase"].values()) == masked["positions"]
    non_pass = sum(int((np.asarray(s.meta["move"][a:b]) != PASS).sum()) for s in dataset.shards for a, b in [s.splits["test"]])
    assert masked["positions"] == non_pass


def test_reports_have_one_aligned_row_per_phase_with_its_figures(dataset, model):
    policy = format_table(evaluate_split(model, dataset, "test")).splitlines()
    assert policy[2].split() == ["moves", "positions", "top-1", "top-3", "top-5"]
    assert len({len(line) for line in policy[2:]}) == 1  # every row as wide as the header
    value = format_value_table({"positions": 3, "mse": 0.5, "accuracy": 2 / 3, "baseline_mse": 1.0, "by_move_number": {
        "1-25": {"positions": 2, "mse": 0.25, "accuracy": 1.0, "baseline_mse": 1.0},
        "26-50": {"positions": 1, "mse": 1.0, "accuracy": 0.0, "baseline_mse": 1.0}}}).splitlines()
    assert value[0].startswith("positions 3   MSE 0.500   accuracy 66.67%")
    assert value[3].split() == ["1-25", "2", "0.250", "100.00%", "1.000"]
    assert value[4].split() == ["26-50", "1", "1.000", "0.00%", "1.000"]


def test_symmetry_ensemble_runs_and_legal_points_come_from_the_planes(dataset, model):
    result = evaluate_split(model, dataset, "test", max_positions=64, symmetries=True)
    assert result["symmetries"] and 0 <= result["top1"] <= 1
    planes = torch.zeros(1, 48, 19, 19)
    planes[0, 20, 3, 3] = planes[0, 27, 0, 0] = 1
    assert legal_points(planes)[0].nonzero().flatten().tolist() == [0, 3 * 19 + 3]


def test_eval_command_on_sgf_games(tmp_path, model):
    path = tmp_path / "model.pt"
    save_model(path, model, "alphago48")
    result = subprocess.run([sys.executable, "-m", "gopolicy.cli", "eval", str(path), str(SAMPLE), "--max-positions", "300",
                             "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "top-1" in result.stdout and "201-250" in result.stdout
    assert json.loads((tmp_path / "r.json").read_text())["positions"] == 300
    small = tmp_path / "small.pt"
    save_model(small, PolicyNetwork(4, 8, 3), "alphago4")
    prepared = tmp_path / "ds"
    prepare([SAMPLE], prepared, jobs=1, progress=False)
    mismatch = subprocess.run([sys.executable, "-m", "gopolicy.cli", "eval", str(small), str(prepared)],
                              capture_output=True, text=True, timeout=300)
    assert mismatch.returncode == 1 and "expects feature set alphago4" in mismatch.stderr


def test_accuracy_plot_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from gopolicy.training.evaluate import plot

    result = {"by_move_number": {1: 0.5, 11: 0.4, 21: 0.3}}
    assert plot(result, tmp_path / "curve.png", "test")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("mask_legal", [True, False])
def test_nan_outputs_are_refused_not_reported_as_accuracy(dataset, mask_legal):
    from gopolicy.training.evaluate import EvaluationError

    broken = PolicyNetwork(48, 8, 3).eval()
    with torch.no_grad():
        broken.conv1.weight.fill_(float("nan"))
    with pytest.raises(EvaluationError, match="not finite"):
        evaluate_split(broken, dataset, "test", max_positions=64, mask_legal=mask_legal)


def test_eval_of_a_file_with_no_games_names_it(tmp_path, model, capsys):
    from gopolicy.cli import main

    path, junk = tmp_path / "model.pt", tmp_path / "notes.txt"
    save_model(path, model, "alphago48")
    junk.write_text("not a game record\n")
    assert main(["eval", str(path), str(junk), "--no-progress"]) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith(f"gopolicy eval: error: {junk}: no games to evaluate")


def test_eval_progress_off_a_terminal_is_a_few_lines(dataset, tmp_path, model):
    """stderr to a pipe: the bar must not write an update per batch (TQDM_MININTERVAL=0 would make
    a plain tqdm bar do so: 125 batches here)."""
    path = tmp_path / "model.pt"
    save_model(path, model, "alphago48")
    command = [sys.executable, "-m", "gopolicy.cli", "eval", str(path), str(dataset.path), "--batch-size", "16",
               "--max-positions", "2000", "--device", "cpu"]
    env = {**os.environ, "TQDM_MININTERVAL": "0", "OMP_NUM_THREADS": "1"}
    shown = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    updates = [line for line in re.split(r"[\r\n]", shown.stderr) if "eval test" in line]
    assert 1 <= len(updates) <= 3, shown.stderr[-2000:]
    quiet = subprocess.run(command + ["--no-progress"], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and "eval test" not in quiet.stderr


def test_eval_option_names(tmp_path):
    from gopolicy.cli import build_parser

    path = tmp_path / "model.pt"
    path.write_bytes(b"")
    common = ["eval", str(path), str(tmp_path)]
    args = build_parser("eval").parse_args(common + ["--precision", "bf16", "--device", "cpu", "--batch-size", "8",
                                                     "--json", str(tmp_path / "r.json"), "--no-progress"])
    assert (args.precision, args.device, args.batch_size, args.json, args.progress) == (
        "bf16", "cpu", 8, tmp_path / "r.json", False)
    assert build_parser("eval").parse_args(common + ["--fp32"]).precision == "fp32"


@pytest.mark.parametrize("options", [["--batch-size", "0"], ["--max-positions", "0"], ["--split", "tset"],
                                     ["--device", "cuda"], ["--json", "/proc/x/r.json"], ["--precision", "fp16"]])
def test_bad_eval_options_are_refused_with_one_line(options, tmp_path, capsys):
    from gopolicy.cli import main

    if options == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = tmp_path / "model.pt"
    path.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        main(["eval", str(path), str(tmp_path), *options])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("gopolicy eval: error: argument ")
