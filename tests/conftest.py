"""Helpers shared by the tests."""
from __future__ import annotations

import torch

from gopolicy.go.coords import from_gtp
from gopolicy.nn.modelfile import ModelInfo
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.play.player import PolicyPlayer, bias_lines

def tiny_model(seed: int = 0, feature_set: str = "alphago48", layers: int = 3) -> tuple[PolicyNetwork, ModelInfo]:
    """A random k=8 network for 19x19 and its model-file info."""
    torch.manual_seed(seed)
    planes = {"alphago4": 4, "alphago48": 48}[feature_set]
    model = PolicyNetwork(planes=planes, filters=8, layers=layers, board_size=19).eval()
    info = ModelInfo(architecture=model.architecture, feature_set=feature_set, provenance={}, format_version=1,
                     gopolicy_version="test")
    return model, info


def make_player(model_seed: int = 0, favour: tuple[str, int] | None = None, **options) -> PolicyPlayer:
    """A player with a tiny random network; ``favour=(vertex, size)`` makes that point's bias
    dominate, so the network wants to play there whatever the position."""
    model, info = tiny_model(model_seed)
    if favour is not None:
        vertex, size = favour
        row, col = divmod(from_gtp(vertex, size), size)
        lines = bias_lines(size)
        with torch.no_grad():
            model.point_bias.bias[0, lines[row], lines[col]] += 50.0
    options.setdefault("bf16", False)
    return PolicyPlayer(model, info, **options)
