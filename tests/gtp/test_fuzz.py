"""A bounded GTP fuzz round (scripts/fuzz_gtp.py runs bigger ones): thousands of random and
malformed lines, analysis commands interrupted by the next line, through the real command
loop; no crash, no hang, no malformed answer, no internal error."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from gopolicy.gtp import GtpEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import fuzz_gtp  # noqa: E402


def test_random_and_malformed_lines_get_one_well_formed_answer_each(make_player, tmp_path):
    torch.set_num_threads(1)
    engine = GtpEngine(make_player(temperature=1.0, seed=3))
    files = fuzz_gtp.fuzz_files(tmp_path)
    lines = fuzz_gtp.random_lines(np.random.default_rng(11), 5000, sorted(engine.commands), files,
                                  str(tmp_path / "out.sgf"))
    result = fuzz_gtp.fuzz(engine, lines)
    assert (result.crashes, result.hangs, result.internal_errors) == (0, 0, 0), result.malformed[:5]
    assert not result.malformed, result.malformed[:5]
    assert result.answers == result.commands > 4000 and 0 < result.errors < result.answers
    assert result.seconds < 60
