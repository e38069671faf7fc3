"""The clock: a move's budget under every time system, a game played to the end against a fake
clock that never runs out, and a searching engine that keeps within what the clock allows."""
from __future__ import annotations

import pytest

from gopolicy.go.coords import BLACK, WHITE
from gopolicy.gtp import GtpEngine
from gopolicy.gtp.time_commands import SAFETY_FRACTION, SAFETY_SECONDS, TimeCommands, TimeSettings, move_budget


def budget(share: float) -> float:
    return max(0.0, SAFETY_FRACTION * share - SAFETY_SECONDS)


def test_budgets_by_time_system():
    assert move_budget(None, None) is None
    assert move_budget(TimeSettings(600, 30, 0), None) is None, "GTP: byo-yomi time without stones is no limit"
    assert move_budget(TimeSettings(600), None) == pytest.approx(budget(600 / 40))
    assert move_budget(TimeSettings(600), None, used=200) == pytest.approx(budget(400 / 40))
    assert move_budget(TimeSettings(600), (100.0, 0)) == pytest.approx(budget(100 / 40)), "time_left's word"
    assert move_budget(TimeSettings(600, 300, 25), (100.0, 0)) == pytest.approx(budget(100 / 40 + 12)), \
        "main time, and byo-yomi behind it"
    assert move_budget(TimeSettings(600, 300, 25), (60.0, 5)) == pytest.approx(budget(12)), "Canadian: 60 s, 5 stones"
    assert move_budget(TimeSettings(0, 30, 1, japanese=True), (20.0, 3)) == pytest.approx(budget(20)), \
        "Japanese: the period's time left, whatever the periods"
    assert move_budget(TimeSettings(600), (0.3, 0)) == 0.0, "nothing left: the raw policy's one pass"


def test_the_time_commands_feed_the_clock():
    clock = TimeCommands()
    assert clock.clock(BLACK) is None
    clock.time_settings(["300", "0", "0"])
    assert clock.clock(BLACK) == pytest.approx(budget(300 / 40))
    clock.charge(BLACK, 100)
    assert clock.clock(BLACK) == pytest.approx(budget(200 / 40)), "its own moves count without time_left"
    assert clock.clock(WHITE) == pytest.approx(budget(300 / 40))
    clock.time_left(["b", "80", "0"])
    assert clock.clock(BLACK) == pytest.approx(budget(80 / 40))
    clock.charge(BLACK, 40)
    assert clock.clock(BLACK) == pytest.approx(budget(40 / 40)), "and since the last time_left"
    clock.kgs_time_settings(["byoyomi", "0", "10", "5"])
    assert clock.clock(WHITE) == pytest.approx(budget(10))
    clock.kgs_time_settings(["canadian", "0", "60", "20"])
    assert clock.clock(WHITE) == pytest.approx(budget(3))
    clock.kgs_time_settings(["none"])
    assert clock.clock(WHITE) is None


@pytest.mark.parametrize("kind, settings", [
    ("absolute", ["absolute", "300"]),
    ("canadian", ["canadian", "60", "30", "10"]),
    ("japanese", ["byoyomi", "30", "5", "3"]),
    ("byo-yomi only", ["canadian", "0", "10", "1"]),
])
def test_a_long_game_against_a_fake_clock_never_runs_out(kind, settings):
    """300 moves, each taking all of its budget plus 0.05 s of latency (0.02 s for the raw
    policy's single pass when there is no time to search), the controller's clock sending
    time_left before every move as KGS does."""
    main, period, stones, japanese = _kgs(settings)
    clock = TimeCommands()
    clock.kgs_time_settings(settings)
    left, in_period, stones_left = main, period, stones
    for _ in range(300):
        if left > 0:
            clock.time_left(["b", f"{left:.3f}", "0"])
        else:
            clock.time_left(["b", f"{in_period:.3f}", str(stones_left)])
        seconds = clock.clock(BLACK)
        took = (seconds if seconds else 0.02) + 0.05
        if left > 0:  # main time first; what is over spills into the byo-yomi
            left, took = left - took, max(0.0, took - left)
            if left > 0 or not period:
                assert left > 0, f"{kind}: out of main time"
                continue
        if japanese:
            assert took <= period, f"{kind}: a period overrun"
            continue
        in_period -= took
        assert in_period >= 0, f"{kind}: out of byo-yomi"
        stones_left -= 1
        if not stones_left:
            in_period, stones_left = period, stones


def _kgs(settings: list[str]) -> tuple[float, float, int, bool]:
    kind, *numbers = settings
    if kind == "absolute":
        return float(numbers[0]), 0.0, 0, False
    return float(numbers[0]), float(numbers[1]), int(numbers[2]) if kind == "canadian" else 1, kind == "byoyomi"


def test_a_searching_engine_keeps_within_the_clock(make_search_player):
    player = make_search_player(playouts=None, seconds=10.0)
    inner = player.search.evaluator

    class Clocked:
        size, now = inner.size, 0.0

        def evaluate(self, games):
            Clocked.now += 0.1  # a batch of leaves takes 0.1 s of a fake clock
            return inner.evaluate(games)

    player.search.evaluator, player.search.clock = Clocked(), lambda: Clocked.now
    engine = GtpEngine(player)
    for command in ("boardsize 19", "clear_board", "time_settings 0 5 1"):
        assert engine.respond(command) == "=\n\n"
    assert engine.respond("genmove b").startswith("= ")
    assert budget(5) - 0.1 <= Clocked.now <= budget(5), "5 s byo-yomi: 3.5 s of search, not the 10 s of --seconds"
    engine.respond("time_left w 0.6 1")
    before = Clocked.now
    assert engine.respond("genmove w").startswith("= ")
    assert Clocked.now == before, "0.6 s left: no time to search, the raw policy plays"
