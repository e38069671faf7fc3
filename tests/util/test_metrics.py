"""util.metrics: the one metrics writer of train and rl."""
from gopolicy.util.files import read_jsonl
from gopolicy.util.metrics import MetricsLog, steady_speed


def test_lines_are_appended_with_step_and_time(tmp_path):
    with MetricsLog(tmp_path) as log:
        log.write(1, {"loss": 2.5})
        log.write(2, {"loss": 2.0, "note": "x"})
    records = read_jsonl(tmp_path / "metrics.jsonl")
    assert [(r["step"], r["loss"]) for r in records] == [(1, 2.5), (2, 2.0)]
    assert all(r["time"] > 0 for r in records) and records[1]["note"] == "x"


def test_disabled_log_writes_nothing(tmp_path):
    log = MetricsLog(tmp_path, enabled=False)
    log.write(1, {"loss": 1.0})
    log.close()
    assert not (tmp_path / "metrics.jsonl").exists()


def test_truncate_after_drops_later_steps(tmp_path):
    log = MetricsLog(tmp_path, tensorboard=False)
    for step in (10, 20, 30):
        log.write(step, {"loss": 1.0})
    log.truncate_after(20)
    log.write(30, {"loss": 0.5})
    assert [(r["step"], r["loss"]) for r in read_jsonl(log.path)] == [(10, 1.0), (20, 1.0), (30, 0.5)]


def test_steady_speed_leaves_out_the_start_up_window(tmp_path):
    assert steady_speed(tmp_path) is None
    log = MetricsLog(tmp_path, tensorboard=False)
    log.write(1, {"positions_per_s": 10.0})
    assert steady_speed(tmp_path) == 10.0
    log.write(2, {"positions_per_s": 100.0})
    log.write(2, {"val_loss": 1.0})
    log.write(3, {"positions_per_s": 200.0})
    assert steady_speed(tmp_path) == 150.0
