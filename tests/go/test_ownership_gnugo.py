"""The end-of-game judgement against GNU Go's (``final_status_list dead`` / ``seki``) on hand-built
9x9 positions whose answer is clear: a dead group, a false eye, a nakade and a seki."""
from __future__ import annotations

import os
import subprocess

import pytest
from ownership_positions import DEAD_GROUP, FALSE_EYE, NAKADE, SEKI

from gopolicy.go.coords import BLACK, WHITE, colour_name, to_gtp
from gopolicy.go.ownership import judge
from gopolicy.go.rules import Game

GNUGO = "/usr/games/gnugo"

pytestmark = pytest.mark.skipif(
    not os.access(GNUGO, os.X_OK), reason=f"GNU Go is not installed at {GNUGO} (apt-get install gnugo)"
)


def gnugo_status(game: Game) -> dict[str, set[str]]:
    """GNU Go's stones and final statuses for the position (set up stone by stone, White first)."""
    stones, size = game.stones().reshape(-1), game.size
    commands = [f"boardsize {size}", "clear_board", f"komi {game.komi}"]
    for colour in (WHITE, BLACK):
        commands += [f"play {colour_name(colour)} {to_gtp(int(p), size)}" for p in (stones == colour).nonzero()[0]]
    asked = ["list_stones black", "list_stones white", "final_status_list dead", "final_status_list seki"]
    out = subprocess.run([GNUGO, "--mode", "gtp", "--chinese-rules", "--level", "10"], text=True, timeout=60,
                         input="\n".join(commands + asked + ["quit"]) + "\n", capture_output=True, check=True).stdout
    answers = [a.strip() for a in out.split("\n\n") if a.strip()][-len(asked) - 1:-1]
    assert all(a.startswith("=") for a in answers), answers
    return dict(zip(("black", "white", "dead", "seki"), (set(a[1:].split()) for a in answers)))


@pytest.mark.parametrize("diagram", [DEAD_GROUP, FALSE_EYE, NAKADE, SEKI], ids=["dead-group", "false-eye", "nakade", "seki"])
def test_dead_and_seki_stones_are_gnugos(position, diagram):
    game = position(diagram, komi=0.5)
    theirs = gnugo_status(game)
    stones = game.stones().reshape(-1)
    for colour, name in ((BLACK, "black"), (WHITE, "white")):  # the same position in both
        assert theirs[name] == {to_gtp(int(p), 9) for p in (stones == colour).nonzero()[0]}
    verdict = judge(game)
    assert {to_gtp(p, 9) for p in verdict.dead} == theirs["dead"]
    assert {to_gtp(p, 9) for p in verdict.seki} == theirs["seki"]
    assert theirs["dead"] or theirs["seki"]  # each position has something to find
