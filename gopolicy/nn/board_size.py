"""One network for every board size: its convolutions are size-free, only the last layer's
per-point bias is tied to the trained size (19); it is mapped to other sizes by distance
from the edges."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gopolicy.nn.policy import PolicyNetwork


def bias_lines(size: int, trained: int = 19) -> np.ndarray:
    """For each line (row or column) of a ``size`` board, the line of the ``trained`` board whose
    bias it takes: the one as far from the same edge (line r takes r when r < size / 2, else
    trained - 1 - (size - 1 - r)). Lines farther from both edges than the trained board's centre
    line take the centre line."""
    lines = np.arange(size)
    distance = np.minimum(np.minimum(lines, size - 1 - lines), (trained - 1) // 2)
    return np.where(lines < size / 2, distance, trained - 1 - distance)


def resize_network(model: "PolicyNetwork", size: int) -> "PolicyNetwork":
    """``model`` for a ``size`` x ``size`` board: the same parameters (shared, not copied) but
    the last layer's per-point bias, mapped with :func:`bias_lines`."""
    import torch

    from gopolicy.nn.policy import PolicyNetwork

    if size == model.board_size:
        return model
    state = model.state_dict()
    lines = torch.from_numpy(bias_lines(size, model.board_size))
    state["point_bias.bias"] = state["point_bias.bias"][:, lines][:, :, lines].contiguous()
    with torch.device("meta"):
        resized = PolicyNetwork(**{**model.architecture, "board_size": size})
    resized.load_state_dict(state, assign=True)
    return resized.eval()
