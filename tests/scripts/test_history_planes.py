"""scripts/history_planes.py: forgetting the move history moves every stone to "8 or more turns ago"."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from history_planes import forget_history  # noqa: E402


def planes_with_ages(ages: dict[int, int]) -> torch.Tensor:
    """One 48-plane 3x3 position: stone at point p aged ``ages[p]`` (plane 4 + min(age, 7)); plane 3 = ones."""
    x = torch.zeros(1, 48, 3, 3)
    x[:, 3] = 1
    for point, age in ages.items():
        x[0, 4 + min(age, 7), point // 3, point % 3] = 1
    return x


def test_no_history_puts_every_stone_in_the_last_age_plane():
    x = planes_with_ages({0: 0, 4: 3, 8: 9})
    out = forget_history(x, keep_last=False)
    assert out[0, 4:11].sum() == 0
    assert out[0, 11].flatten().tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert torch.equal(out[:, :4], x[:, :4]) and torch.equal(out[:, 12:], x[:, 12:])
    assert x[0, 4, 0, 0] == 1  # the input is left as it was


def test_last_move_only_keeps_plane_4():
    out = forget_history(planes_with_ages({0: 0, 4: 3, 8: 9}), keep_last=True)
    assert out[0, 4].flatten().tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert out[0, 5:11].sum() == 0
    assert out[0, 11].flatten().tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 1]
