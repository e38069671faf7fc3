"""AlphaGo's supervised-learning policy network (Silver et al. 2016), built from the generic layers.

Layer 1: 5x5 convolution of the feature planes to ``filters`` maps, zero padding 2, ReLU.
Layers 2 to ``layers - 1``: 3x3 convolutions, zero padding 1, ReLU. Last layer: one 1x1
filter with no shared bias, then a separate bias for every board point. ``forward`` gives
the logits, one per point (flat index ``row * size + col``); ``probabilities`` applies the
softmax, optionally over legal points only and averaged over the board's 8 symmetries.
"""
from __future__ import annotations

from typing import Optional

import torch

from gopolicy.go import symmetry
from gopolicy.nn.layers import Conv2d, Flatten, PositionBias, ReLU, Sequential


class PolicyNetwork(Sequential):
    """Feature planes (B, planes, size, size) -> move logits (B, size * size)."""

    def __init__(self, planes: int = 48, filters: int = 192, layers: int = 13, board_size: int = 19):
        for name, value, least in (("planes", planes, 1), ("filters", filters, 1), ("layers", layers, 2),
                                   ("board_size", board_size, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        named = {"conv1": Conv2d(planes, filters, 5, padding=2), "relu1": ReLU()}
        for i in range(2, layers):
            named.update({f"conv{i}": Conv2d(filters, filters, 3, padding=1), f"relu{i}": ReLU()})
        named.update({f"conv{layers}": Conv2d(filters, 1, 1, bias=False),
                      "point_bias": PositionBias(1, board_size, board_size),
                      "flatten": Flatten()})
        super().__init__((planes, board_size, board_size), named)
        self.planes, self.filters, self.layers, self.board_size = planes, filters, layers, board_size
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He initialisation: the ReLU convolutions keep the signal's scale through all the
        layers of this plain (unnormalised) stack, where torch's default init shrinks it at
        every layer; biases start at zero."""
        for module in self.modules():
            if isinstance(module, Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu" if module.out_channels > 1 else "linear")
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, PositionBias):
                torch.nn.init.zeros_(module.bias)

    @property
    def architecture(self) -> dict:
        """The constructor's arguments: enough to rebuild this network."""
        return {"planes": self.planes, "filters": self.filters, "layers": self.layers, "board_size": self.board_size}

    @torch.no_grad()
    def probabilities(self, planes: torch.Tensor, legal: Optional[torch.Tensor] = None,
                      average_symmetries: bool = False) -> torch.Tensor:
        """Move probabilities (B, size * size) for feature planes (B, planes, size, size).

        ``legal`` (B, size * size) or (B, size, size), bool: illegal points get probability 0;
        a position with no legal point gets all zeros. ``average_symmetries``: run the 8
        rotations/reflections of the input as one batch, map each answer back to the
        original orientation and average the probabilities, which makes the prediction
        exactly equivariant under the board's symmetries.
        """
        planes = planes.to(self.conv1.weight.dtype)  # feature planes may come as bytes or bools
        if not average_symmetries:
            return masked_softmax(self(planes), legal)
        size, batch = self.board_size, planes.shape[0]
        logits = self(torch.cat([symmetry.transform(planes, s) for s in symmetry.SYMMETRIES]))
        maps = logits.float().view(len(symmetry.SYMMETRIES), batch, size, size)
        back = torch.stack([symmetry.untransform(maps[s], s) for s in symmetry.SYMMETRIES])
        return masked_softmax(back.flatten(-2), legal).mean(0)


def masked_softmax(logits: torch.Tensor, legal: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Softmax over the last axis in float32, with the logits of illegal points set to -inf.
    ``legal`` broadcasts against ``logits`` after flattening its last two axes if needed;
    a row with no legal entry gives all zeros rather than NaN."""
    logits = logits.float()
    if legal is None:
        return logits.softmax(-1)
    if legal.shape[-1] != logits.shape[-1]:
        legal = legal.flatten(-2)
    probs = logits.masked_fill(~legal.bool(), float("-inf")).softmax(-1)
    return probs.nan_to_num(nan=0.0)
