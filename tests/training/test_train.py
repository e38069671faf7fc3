"""gopolicy.training.train: the loop end to end, bit-for-bit resume, two-process DDP, presets and schedules."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gopolicy.dataset.prepare import SplitSizes, prepare
from gopolicy.nn.modelfile import load_model
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.training.train import PRESETS, Checkpointer, Config, RunOptions, TrainingError, build_optimizer, learning_rate, train

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
    assert [r["step"] for r in lines if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert sum("val_accuracy" in r for r in lines) == 2
    model, info = load_model(tmp_path / "final.pt")
    assert info.feature_set == "alphago20" and model.planes == 20 and info.provenance["step"] == 6
    assert (tmp_path / "best.pt").exists()


def test_loss_goes_down(dataset, tmp_path):
    metrics = run(dataset, tmp_path, replace(TINY, steps=60, lr=0.1, filters=16), val_every=60, ckpt_every=60, log_every=20)
    lines = [r for r in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines()) if "loss" in r]
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


def test_a_resumed_run_may_change_its_steps_and_the_rate_follows_the_new_schedule(dataset, tmp_path):
    run(dataset, tmp_path, replace(TINY, steps=12), stop_at=4)
    metrics = run(dataset, tmp_path, replace(TINY, steps=8), resume=True)
    assert metrics["step"] == 8 and not metrics["interrupted"]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {"step": 4, "schedule_steps": 8, "previous_schedule_steps": 12}.items() <= next(
        r for r in lines if "schedule_steps" in r).items()
    rates = {r["step"]: r["lr"] for r in lines if "lr" in r}
    assert rates[4] == pytest.approx(learning_rate(replace(TINY, steps=12), 3))
    assert rates[6] == pytest.approx(learning_rate(replace(TINY, steps=8), 5))
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["config"]["steps"] == 8
    with pytest.raises(TrainingError, match="would end it before"):
        run(dataset, tmp_path, replace(TINY, steps=6), resume=True)


def test_two_processes_stay_in_sync_under_ddp(dataset, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "gopolicy.cli",
           "train", str(dataset), "--out", str(tmp_path), "--filters", "8", "--layers", "3", "--batch-size", "8",
           "--steps", "4", "--threads", "1", "--val-every", "100", "--ckpt-every", "100", "--log-every", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("ranks_in_sync") is True for r in lines)
    assert lines[0]["positions_seen"] == 2 * 8 * 2  # two ranks' batches per step


def child_processes(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            pass  # a process that ended while we looked
    return children


def test_a_signal_to_one_ddp_rank_stops_every_rank_at_the_same_step(dataset, tmp_path):
    """Only one worker gets SIGTERM: the ranks agree to stop, so none hangs in an all-reduce."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "gopolicy.cli",
           "train", str(dataset), "--out", str(tmp_path), "--filters", "8", "--layers", "3", "--batch-size", "8",
           "--steps", "100000", "--threads", "1", "--val-every", "100000", "--ckpt-every", "100000", "--log-every", "1",
           "--no-progress"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as launcher:
        deadline = time.monotonic() + 240
        while not (tmp_path / "metrics.jsonl").exists() or "loss" not in (tmp_path / "metrics.jsonl").read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, "training did not start"
            time.sleep(0.2)
        workers = child_processes(launcher.pid)
        assert len(workers) == 2
        os.kill(workers[1], signal.SIGTERM)
        try:
            out, err = launcher.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for pid in [*child_processes(launcher.pid), launcher.pid]:
                os.kill(pid, signal.SIGKILL)
            pytest.fail("the other rank hung after one rank was told to stop")
    assert launcher.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["interrupted"] and summary["ranks_in_sync"] is True
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == summary["step"]


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


def test_paper_preset_is_plain_sgd_on_the_loaders_batches(dataset, tmp_path):
    """The loop adds nothing to the paper's recipe: its weights equal those of a bare SGD loop."""
    from gopolicy.dataset.format import Dataset
    from gopolicy.dataset.loader import BatchLoader

    config = replace(PRESETS["paper"], filters=8, layers=3, steps=5, seed=3)
    run(dataset, tmp_path, config, precision="fp32")
    data = Dataset(dataset)
    torch.manual_seed(config.seed)
    model = PolicyNetwork(data.planes, 8, 3, data.board_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    for step, (x, y) in enumerate(BatchLoader(data, "train", 16, seed=config.seed).iterate(0, config.steps)):
        assert learning_rate(config, step) == config.lr
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    trained = weights(tmp_path / "checkpoint.pt")
    assert all(torch.equal(trained[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name, state_key", [("sgd", "momentum_buffer"), ("adamw", "exp_avg")])
def test_the_chosen_optimizer_is_the_one_used(dataset, tmp_path, name, state_key):
    run(dataset, tmp_path, replace(TINY, optimizer=name, lr=0.001 if name == "adamw" else TINY.lr), stop_at=3)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["optimizer"]
    assert all(state_key in s for s in state["state"].values())
    if name == "adamw":  # decoupled decay on the convolutions' weights only, none on biases
        assert [g["weight_decay"] for g in state["param_groups"]] == [TINY.weight_decay, 0.0]
        model = PolicyNetwork(20, 8, 3)
        groups = build_optimizer(replace(TINY, optimizer="adamw"), model).param_groups
        names = {id(p): name for name, p in model.named_parameters()}
        assert {names[id(p)] for p in groups[0]["params"]} == {"conv1.weight", "conv2.weight", "conv3.weight"}
        assert {names[id(p)] for p in groups[1]["params"]} == {"conv1.bias", "conv2.bias", "point_bias.bias"}


def test_ema_is_what_is_validated_and_exported(dataset, tmp_path):
    run(dataset, tmp_path / "plain")
    run(dataset, tmp_path / "ema", replace(TINY, ema=0.9))
    checkpoint = torch.load(tmp_path / "ema" / "checkpoint.pt", weights_only=True)
    raw, average = checkpoint["model"], checkpoint["ema"]["model"]
    final = torch.load(tmp_path / "ema" / "final.pt", weights_only=True)
    assert all(torch.equal(final["weights"][k], average[k]) for k in raw)
    assert not torch.equal(final["weights"]["conv1.weight"], raw["conv1.weight"])
    assert final["provenance"]["weights"] == "ema" and final["provenance"]["ema"] == 0.9
    plain_checkpoint = weights(tmp_path / "plain" / "checkpoint.pt")
    assert all(torch.equal(raw[k], plain_checkpoint[k]) for k in raw)  # the EMA does not change training
    plain_final = torch.load(tmp_path / "plain" / "final.pt", weights_only=True)["weights"]
    assert all(torch.equal(plain_final[k], plain_checkpoint[k]) for k in raw)


def test_resume_with_ema_is_exact(dataset, tmp_path):
    config = replace(TINY, ema=0.8)
    run(dataset, tmp_path / "straight", config)
    run(dataset, tmp_path / "split", config, stop_at=4)
    run(dataset, tmp_path / "split", config, resume=True)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    assert a["ema"]["updates"] == b["ema"]["updates"] == 6
    assert all(torch.equal(a["ema"]["model"][k], b["ema"]["model"][k]) for k in a["ema"]["model"])
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_resume_drops_metrics_logged_after_the_checkpoint(dataset, tmp_path):
    run(dataset, tmp_path, stop_at=4)
    with open(tmp_path / "metrics.jsonl", "a") as f:  # a run killed after step 5's line, before its checkpoint
        f.write(json.dumps({"step": 5, "loss": 99.0}) + "\n")
    run(dataset, tmp_path, resume=True)
    steps = [r["step"] for r in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines()) if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_architecture_variant_is_trained_recorded_and_exported_folded(dataset, tmp_path):
    from gopolicy.nn import policy

    if "plain-bn" not in getattr(policy, "ARCHITECTURES", ()):
        pytest.skip("no batch-norm variant in gopolicy.nn.policy yet")
    run(dataset, tmp_path, replace(TINY, arch="plain-bn"))
    assert "bn2.weight" in weights(tmp_path / "checkpoint.pt")
    model, info = load_model(tmp_path / "final.pt")
    assert info.provenance["arch"] == "plain-bn"
    assert info.architecture.get("arch", "plain") == "plain"  # the batch norms folded in for inference
    assert not any("bn" in name for name in model.state_dict())


def test_an_unknown_architecture_is_refused(dataset, tmp_path):
    with pytest.raises(TrainingError, match="unknown architecture"):
        run(dataset, tmp_path, replace(TINY, arch="transformer"))


def test_shared_option_names(tmp_path):
    from gopolicy.cli import build_parser

    args = build_parser("train").parse_args(
        ["train", "data", "--out", str(tmp_path), "--precision", "fp32", "--device", "cpu", "--batch-size", "8",
         "--ckpt-every", "7", "--no-progress", "--optimizer", "adamw", "--ema", "0.99", "--arch", "plain"])
    assert (args.precision, args.device, args.batch_size, args.ckpt_every, args.progress) == ("fp32", "cpu", 8, 7, False)
    assert (args.optimizer, args.ema, args.arch) == ("adamw", 0.99, "plain")


@pytest.mark.parametrize("options", [
    ["--batch-size", "0"], ["--batch-size", "-4"], ["--val-every", "0"], ["--ckpt-every", "0"], ["--log-every", "0"],
    ["--lr", "-1"], ["--lr", "nan"], ["--filters", "0"], ["--layers", "0"], ["--layers", "1"], ["--steps", "-5"],
    ["--steps", "0"], ["--ema", "1"], ["--optimizer", "adam"], ["--nesterov", "maybe"], ["--stop-at", "0"],
    ["--device", "cuda"], ["--out", "FILE"], ["--out", "/proc/x"]])
def test_bad_train_options_are_refused_with_one_line(options, dataset, tmp_path, capsys):
    from gopolicy.cli import main

    if options == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    (tmp_path / "FILE").write_text("x")
    out = ["--out", str(tmp_path / "run")] if "--out" not in options else []
    options = [str(tmp_path / "FILE") if o == "FILE" else o for o in options]
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(dataset), *out, *options])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("gopolicy train: error: argument ") and "Traceback" not in "".join(lines)
    assert not (tmp_path / "run" / "final.pt").exists()


def test_a_stop_request_checkpoints_and_resume_continues(dataset, tmp_path, monkeypatch):
    import gopolicy.training.train as train_module
    from gopolicy.util.interrupt import StopRequest

    class StopAtOnce(StopRequest):  # as if Ctrl-C came during the first step
        def __enter__(self):
            super().__enter__()
            self.requested = True
            return self

    run(dataset, tmp_path / "straight")
    monkeypatch.setattr(train_module, "StopRequest", StopAtOnce)
    stopped = run(dataset, tmp_path / "split")
    assert stopped["step"] == 1 and stopped["interrupted"] and (tmp_path / "split" / "final.pt").exists()
    monkeypatch.undo()
    run(dataset, tmp_path / "split", resume=True)
    a, b = weights(tmp_path / "straight" / "checkpoint.pt"), weights(tmp_path / "split" / "checkpoint.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stop_at_a_step_already_done_trains_no_further(dataset, tmp_path):
    run(dataset, tmp_path, stop_at=4)
    before = weights(tmp_path / "checkpoint.pt")
    again = run(dataset, tmp_path, resume=True, stop_at=2)
    assert again["step"] == 4 and again["interrupted"]
    after = weights(tmp_path / "checkpoint.pt")
    assert all(torch.equal(before[k], after[k]) for k in before)
