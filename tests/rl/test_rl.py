"""The RL stage and duels: end to end through the command line, resume, the REINFORCE sign, Wilson intervals."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gopolicy import cli
from gopolicy.dataset.format import pack_planes
from gopolicy.features import encode
from gopolicy.go.coords import BLACK, WHITE
from gopolicy.go.rules import Game
from gopolicy.nn.modelfile import load_model, save_model, weights_digest
from gopolicy.nn.policy import PolicyNetwork, masked_softmax
from gopolicy.play.candidates import candidates
from gopolicy.play.selfplay import PlayedGame
from gopolicy.rl import reinforce
from gopolicy.rl.duel import wilson_interval
from gopolicy.rl.reinforce import RunError, reinforce_update

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def tiny_model(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    net = PolicyNetwork(planes=4, filters=8, layers=3, board_size=9)
    with torch.no_grad():
        net.point_bias.bias.normal_()
    save_model(path, net, "alphago4", {"made_by": "test"})
    return path


def gopolicy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gopolicy.cli", *args, "--threads", "1"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_rl_end_to_end_then_resume(tmp_path, capsys):
    init = tiny_model(tmp_path / "sl.pt")
    run_dir = tmp_path / "run"
    done = gopolicy("rl", "--init", str(init), "--out", str(run_dir), "--iterations", "3", "--games", "4",
                    "--snapshot-every", "2", "--lr", "0.01", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "3 iterations, 12 games" in done.stdout
    lines = metrics(run_dir)
    assert [m["iteration"] for m in lines] == [1, 2, 3]
    assert all(m["wins"] + m["losses"] + m["draws"] == 4 and m["positions"] > 0 for m in lines)
    assert sorted(p.name for p in (run_dir / "pool").iterdir()) == ["iter-000000.pt", "iter-000002.pt"]
    model, info = load_model(run_dir / "final.pt")
    assert info.feature_set == "alphago4" and info.provenance["iterations"] == 3 and info.provenance["games"] == 12
    assert info.provenance["init_model"] == str(init) and info.provenance["init_provenance"] == {"made_by": "test"}
    start, _ = load_model(init)
    assert not torch.equal(model.conv1.weight, start.conv1.weight)  # it learned something

    # resume, in-process, to 5 iterations: the count goes on, the settings are the run's own
    assert cli.main(["rl", "--out", str(run_dir), "--resume", "--iterations", "5", "--no-progress"]) == 0
    assert [m["iteration"] for m in metrics(run_dir)] == [1, 2, 3, 4, 5]
    assert all(m["wins"] + m["losses"] + m["draws"] == 4 for m in metrics(run_dir))
    assert load_model(run_dir / "final.pt")[1].provenance["games"] == 20
    assert (run_dir / "pool" / "iter-000004.pt").exists()
    # a second start in the same directory, or a resume with other settings, is refused with a message
    assert cli.main(["rl", "--init", str(init), "--out", str(run_dir), "--iterations", "1"]) == 1
    assert cli.main(["rl", "--out", str(run_dir), "--resume", "--games", "8", "--iterations", "9"]) == 1
    assert "was started with games = 4" in capsys.readouterr().err
    assert [m["iteration"] for m in metrics(run_dir)] == [1, 2, 3, 4, 5]


def test_resumed_run_equals_an_uninterrupted_one(tmp_path):
    init = tiny_model(tmp_path / "sl.pt")
    common = ["--games", "2", "--lr", "0.05", "--snapshot-every", "1", "--max-moves", "40", "--seed", "3", "--no-progress"]
    assert cli.main(["rl", "--init", str(init), "--out", str(tmp_path / "a"), "--iterations", "3", *common]) == 0
    assert cli.main(["rl", "--init", str(init), "--out", str(tmp_path / "b"), "--iterations", "1", *common]) == 0
    assert cli.main(["rl", "--out", str(tmp_path / "b"), "--resume", "--iterations", "3", "--no-progress"]) == 0
    a, _ = load_model(tmp_path / "a" / "final.pt")
    b, _ = load_model(tmp_path / "b" / "final.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))

    def drop(m):
        return {k: v for k, v in m.items() if k not in ("time", "games_per_s", "play_seconds", "train_seconds")}

    assert [drop(m) for m in metrics(tmp_path / "a")] == [drop(m) for m in metrics(tmp_path / "b")]


def test_sigterm_checkpoints_the_last_finished_iteration(tmp_path, capsys):
    init = tiny_model(tmp_path / "sl.pt")
    run_dir = tmp_path / "run"

    seen = []

    def terminate_after_two_iterations():
        deadline = time.time() + 60
        while time.time() < deadline and not ((run_dir / "metrics.jsonl").exists() and len(metrics(run_dir)) >= 2):
            time.sleep(0.05)
        seen.append(len(metrics(run_dir)))
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_after_two_iterations)
    killer.start()
    status = cli.main(["rl", "--init", str(init), "--out", str(run_dir), "--iterations", "100000", "--games", "2",
                       "--max-moves", "40", "--no-progress"])
    killer.join()
    assert status == 130
    saved = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    # the last iteration logged, or the one before if the signal came while it was being saved
    assert f"holds iteration {saved['iteration']}" in capsys.readouterr().out and saved["iteration"] >= seen[0] - 1 >= 1
    assert saved["games_played"] == 2 * saved["iteration"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is put back
    # metrics lines of an iteration cut short are dropped on resume
    assert cli.main(["rl", "--out", str(run_dir), "--resume", "--iterations", str(saved["iteration"] + 1),
                     "--no-progress"]) == 0
    assert [m["iteration"] for m in metrics(run_dir)] == list(range(1, saved["iteration"] + 2))


def test_bad_inputs_are_reported_not_raised(tmp_path, capsys):
    assert cli.main(["rl", "--init", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "run")]) == 1
    assert "missing.pt: no such model file" in capsys.readouterr().err
    assert cli.main(["rl", "--out", str(tmp_path / "nothing"), "--resume"]) == 1
    assert "checkpoint.pt: no checkpoint to resume from" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert cli.main(["rl", "--out", str(tmp_path / "junk"), "--resume"]) == 1
    assert "junk/checkpoint.pt: unusable checkpoint" in capsys.readouterr().err
    assert cli.main(["duel", str(tmp_path / "nope.pt"), str(tmp_path / "nope.pt")]) == 1
    assert "nope.pt: no such model file" in capsys.readouterr().err


def hand_made_game(winner: int) -> PlayedGame:
    """Two Black decisions (E5, then F6 after White's D4) in a game ``winner`` won."""
    game, planes, masks, actions = Game(9), [], [], []
    for move, reply in ((40, 30), (50, None)):
        planes.append(pack_planes(encode(game, BLACK, "alphago4")[None])[0])
        masks.append(candidates(game, BLACK))
        actions.append(move)
        game.play(BLACK, move)
        game.play(WHITE, reply)
    return PlayedGame(9, 7.5, "learner", "other", list(game.history), 1.0 if winner == BLACK else -1.0, winner,
                      False, 4, np.stack(planes), np.stack(masks), np.array(actions), np.array([BLACK, BLACK], np.int8))


def chosen_log_probs(model: PolicyNetwork, played: PlayedGame) -> torch.Tensor:
    with torch.no_grad():
        probs = masked_softmax(model(torch.from_numpy(played.planes()).float()), torch.from_numpy(played.masks))
    return probs[torch.arange(len(played.actions)), torch.from_numpy(played.actions)].log()


@pytest.mark.parametrize("winner, direction", [(BLACK, 1), (WHITE, -1)])
def test_reinforce_pushes_the_winners_moves_up_and_the_losers_down(winner, direction):
    torch.manual_seed(1)
    model = PolicyNetwork(planes=4, filters=8, layers=3, board_size=9)
    played = hand_made_game(winner)
    before = chosen_log_probs(model, played)
    loss = reinforce_update(model, torch.optim.SGD(model.parameters(), lr=0.01), [played], baseline=False)
    change = chosen_log_probs(model, played) - before
    assert loss == pytest.approx(-direction * before.sum().item(), rel=1e-4)
    assert (direction * change > 0).all(), change
    # with the mean outcome as baseline, two games both won teach nothing
    unchanged = [p.clone() for p in model.parameters()]
    reinforce_update(model, torch.optim.SGD(model.parameters(), lr=0.01), [played, played], baseline=True)
    assert all(torch.equal(p, q) for p, q in zip(unchanged, model.parameters()))


def test_grad_clip_bounds_the_step():
    torch.manual_seed(2)
    model = PolicyNetwork(planes=4, filters=8, layers=3, board_size=9)
    played = hand_made_game(BLACK)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    reinforce_update(model, torch.optim.SGD(model.parameters(), lr=1.0), [played], baseline=False, grad_clip=0.01)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm().item() == pytest.approx(0.01, rel=1e-3)  # the raw gradient is far larger


def test_wilson_interval_matches_known_values():
    assert wilson_interval(20, 40) == pytest.approx((0.35199, 0.64801), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-4)


def test_duel_of_a_model_with_itself_is_even(tmp_path, capsys):
    model = tiny_model(tmp_path / "m.pt")
    assert cli.main(["duel", str(model), str(model), "--games", "40", "--seed", "2", "--batch-size", "16", "--json",
                     str(tmp_path / "duel.json"), "--threads", "1", "--no-progress"]) == 0
    assert "A win rate" in capsys.readouterr().out
    result = json.loads((tmp_path / "duel.json").read_text())
    assert result["a_wins"] + result["b_wins"] + result["draws"] == 40
    assert result["a_as_black"]["games"] == result["a_as_white"]["games"] == 20
    low, high = result["wilson_95"]
    assert (low, high) == pytest.approx(wilson_interval(result["a_wins"] + result["draws"] / 2, 40))
    assert low < 0.5 < high and 0.3 <= result["a_win_rate"] <= 0.7
    assert cli.main(["duel", str(model), str(model), "--games", "4", "--seed", "2", "--no-progress"]) == 0
    assert "A win rate" in capsys.readouterr().out


# -- one command line -------------------------------------------------------------------


def parse(*argv: str):
    return cli.build_parser(argv[0]).parse_args(list(argv))


def test_rl_and_duel_take_the_shared_option_names(tmp_path):
    args = parse("rl", "--out", "r", "--ckpt-every", "3", "--device", "cpu", "--precision", "fp32", "--no-progress")
    assert (args.ckpt_every, args.device, args.precision, args.progress) == (3, "cpu", "fp32", False)
    assert parse("rl", "--out", "r").ckpt_every is None  # not given: a resumed run keeps its own
    args = parse("duel", "a", "b", "--batch-size", "8", "--json", str(tmp_path / "r.json"), "--device", "cpu",
                 "--precision", "bf16", "--no-progress")
    assert (args.batch_size, args.json, args.device, args.precision, args.progress) == (
        8, tmp_path / "r.json", "cpu", "bf16", False)
    with pytest.raises(SystemExit) as exit_:
        parse("rl", "--out", "r", "--checkpoint-every", "2")  # the old name
    assert exit_.value.code == 2


@pytest.mark.parametrize("argv", [
    ["rl", "--out", "r", "--games", "0"], ["rl", "--out", "r", "--iterations", "-1"],
    ["rl", "--out", "r", "--lr", "nan"], ["rl", "--out", "r", "--lr", "0"], ["rl", "--out", "r", "--grad-clip", "-1"],
    ["rl", "--out", "r", "--temperature", "0"], ["rl", "--out", "r", "--komi", "inf"],
    ["rl", "--out", "r", "--max-moves", "0"], ["rl", "--out", "r", "--seed", "-5"],
    ["rl", "--out", "r", "--ckpt-every", "0"], ["rl", "--out", "r", "--snapshot-every", "x"],
    ["rl", "--out", "r", "--threads", "0"], ["rl", "--out", "r", "--device", "tpu"],
    ["duel", "a", "b", "--games", "0"], ["duel", "a", "b", "--batch-size", "0"], ["duel", "a", "b", "--komi", "nan"],
    ["duel", "a", "b", "--temperature", "-1"], ["duel", "a", "b", "--max-moves", "0"],
    ["duel", "a", "b", "--size", "0"], ["duel", "a", "b", "--seed", "-1"], ["duel", "a", "b", "--device", "gpu"],
    ["duel", "a", "b", "--json", "/no/such/folder/r.json"],
], ids=lambda argv: " ".join(argv[:1] + argv[-2:]))
def test_bad_option_values_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert f"argument {argv[-2]}" in capsys.readouterr().err


def test_rl_and_duel_run_on_the_device_asked_for(tmp_path, capsys):
    init = tiny_model(tmp_path / "sl.pt")
    assert cli.main(["rl", "--init", str(init), "--out", str(tmp_path / "run"), "--iterations", "1", "--games", "2",
                     "--max-moves", "20", "--device", "cpu", "--precision", "fp32", "--ckpt-every", "5",
                     "--no-progress"]) == 0
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["settings"]["checkpoint_every"] == 5
    assert cli.main(["rl", "--out", str(tmp_path / "run"), "--resume", "--iterations", "2", "--device", "cpu",
                     "--no-progress"]) == 0  # --device may change on resume; --ckpt-every left out keeps 5
    assert cli.main(["rl", "--out", str(tmp_path / "run"), "--resume", "--iterations", "3", "--ckpt-every", "1"]) == 1
    assert "leave out --ckpt-every" in capsys.readouterr().err
    assert cli.main(["duel", str(init), str(init), "--games", "2", "--max-moves", "20", "--device", "cpu",
                     "--no-progress"]) == 0


# -- hardening: unusable models and updates that are not finite -------------------------------


def test_rl_refuses_a_nan_model_and_writes_nothing(tmp_path, capsys):
    init = tiny_model(tmp_path / "sl.pt")
    contents = torch.load(init, weights_only=True)
    contents["weights"] = {name: torch.full_like(t, float("nan")) for name, t in contents["weights"].items()}
    contents["weights_sha256"] = weights_digest(contents["weights"])
    torch.save(contents, init)
    assert cli.main(["rl", "--init", str(init), "--out", str(tmp_path / "run"), "--iterations", "1", "--games", "2",
                     "--no-progress"]) == 1
    error = capsys.readouterr().err
    assert "sl.pt" in error and "NaN or infinite" in error and "Traceback" not in error
    assert not (tmp_path / "run" / "final.pt").exists() and not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.parametrize("feature_set, expected", [("alphago7", "unknown feature set 'alphago7'"),
                                                   ("alphago12", "alphago12 has 12 planes but the network reads 4")])
def test_rl_refuses_a_feature_set_unknown_or_not_fitting(tmp_path, capsys, feature_set, expected):
    init = tiny_model(tmp_path / "sl.pt")
    contents = torch.load(init, weights_only=True)
    contents["feature_set"] = feature_set
    torch.save(contents, init)
    assert cli.main(["rl", "--init", str(init), "--out", str(tmp_path / "run"), "--iterations", "1"]) == 1
    assert expected in capsys.readouterr().err


def test_resume_refuses_a_checkpoint_with_nan_weights(tmp_path, capsys):
    init = tiny_model(tmp_path / "sl.pt")
    run_dir = tmp_path / "run"
    assert cli.main(["rl", "--init", str(init), "--out", str(run_dir), "--iterations", "1", "--games", "2",
                     "--max-moves", "20", "--no-progress"]) == 0
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    state["model"]["conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, run_dir / "checkpoint.pt")
    assert cli.main(["rl", "--out", str(run_dir), "--resume", "--iterations", "2", "--no-progress"]) == 1
    assert "unusable checkpoint" in (error := capsys.readouterr().err) and "conv1.weight" in error


def test_a_non_finite_update_is_refused_and_leaves_the_network_as_it_was():
    torch.manual_seed(3)
    model = PolicyNetwork(planes=4, filters=8, layers=3, board_size=9)
    with torch.no_grad():
        model.point_bias.bias[0, 0, 0] = float("inf")
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(RunError, match="not finite"):
        reinforce_update(model, torch.optim.SGD(model.parameters(), lr=0.1), [hand_made_game(BLACK)], baseline=False)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


def test_rl_stops_on_a_non_finite_loss_keeping_the_last_good_state(tmp_path, capsys, monkeypatch):
    init = tiny_model(tmp_path / "sl.pt")
    run_dir = tmp_path / "run"
    real_unpack = reinforce.unpack_rows
    calls = []

    def unpack_then_poison(*args):  # the second iteration's planes hold infinities: its loss is NaN
        calls.append(1)
        planes = real_unpack(*args).astype(np.float32)
        return planes + np.inf if len(calls) > 1 else planes

    monkeypatch.setattr(reinforce, "unpack_rows", unpack_then_poison)
    assert cli.main(["rl", "--init", str(init), "--out", str(run_dir), "--iterations", "5", "--games", "2",
                     "--max-moves", "8", "--ckpt-every", "10", "--no-progress"]) == 1
    error = capsys.readouterr().err
    assert "iteration 2: the REINFORCE loss" in error and "checkpoint.pt holds iteration 1" in error
    saved = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert saved["iteration"] == 1 and all(torch.isfinite(t).all() for t in saved["model"].values())
    assert not (run_dir / "final.pt").exists() and [m["iteration"] for m in metrics(run_dir)] == [1]
