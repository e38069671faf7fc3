"""AlphaGo's value network (Silver et al. 2016, Methods "Neural network architecture"), built from
the generic layers.

The input is the 48 policy planes plus the "player colour" plane (feature set ``alphago49``).
In the paper's words: hidden layers 1-11 as in the policy network (a 5x5 convolution, then
3x3 convolutions, zero padded, ReLU), layer 12 one more 3x3 convolution, layer 13 a 1x1
convolution to one map, layer 14 a fully connected layer of ``hidden`` = 256 ReLU units, and
one tanh output: the expected outcome in [-1, 1] for the colour to move. ``layers`` counts
the convolutions (13 in the paper: the 5x5, eleven 3x3 and the 1x1), as for the policy network.

``ownership=True`` adds a head beside the paper's (KataGo's auxiliary target): a 1x1
convolution of layer 12's maps and a tanh, the expected owner of every point at the end
of the game (+1 the colour to move). An outcome is one bit a game; the owners of 361 points
say where it was won, a far denser signal for the shared layers to learn from.

``arch`` takes the policy network's trunk variants without batch normalisation
(:mod:`gopolicy.nn.trunk`; the paper's is ``plain``), so that a value network can start from
the trunk of any such policy network (``gopolicy train --target value --init``).

One difference from a literal reading of the paper: the 1x1 convolution's single map goes to
the dense layer without a ReLU. With a rectifier there, training on human games drove that
one map below zero everywhere within a few hundred steps (measured: the output's spread over a
batch fell to exactly 0 and the loss stayed at 1.000), and a dead map passes no gradient back.
"""
from __future__ import annotations

import torch

from gopolicy.nn.layers import Conv2d, Dense, Flatten, ReLU, Sequential, Tanh
from gopolicy.nn.trunk import ARCHITECTURES, has_batch_norm, reset_trunk, trunk_layers

VALUE_ARCHITECTURES = tuple(arch for arch in ARCHITECTURES if not has_batch_norm(arch))


class ValueNetwork(Sequential):
    """Feature planes (B, planes, size, size) -> values (B,) in [-1, 1] for the colour to move."""

    def __init__(self, planes: int = 49, filters: int = 192, layers: int = 13, board_size: int = 19,
                 hidden: int = 256, ownership: bool = False, arch: str = "plain"):
        for name, value, least in (("planes", planes, 1), ("filters", filters, 1), ("layers", layers, 3),
                                   ("board_size", board_size, 1), ("hidden", hidden, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        if arch not in VALUE_ARCHITECTURES:
            raise ValueError(f"a value network's arch must be one of {', '.join(VALUE_ARCHITECTURES)}, got {arch!r}")
        named = trunk_layers(planes, filters, layers, board_size, arch)
        self.trunk_end = list(named)[-1]  # the ownership head reads this layer's maps
        named.update({f"conv{layers}": Conv2d(filters, 1, 1), "flatten": Flatten(),
                      "dense1": Dense(board_size * board_size, hidden), "relu_dense1": ReLU(),
                      "dense2": Dense(hidden, 1), "tanh": Tanh()})
        super().__init__((planes, board_size, board_size), named)
        self.planes, self.filters, self.layers, self.board_size, self.hidden = planes, filters, layers, board_size, hidden
        self.arch, self.ownership = arch, bool(ownership)
        if self.ownership:  # beside the chain above, not in it: forward() runs it on request
            self.ownership_conv = Conv2d(filters, 1, 1)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The trunk's initialisation (:func:`gopolicy.nn.trunk.reset_trunk`: He, residual
        blocks as the identity), He for the dense layers, zero biases, and a small output
        layer so that training starts from values near 0."""
        reset_trunk(self)
        for dense in (self.dense1, self.dense2):
            torch.nn.init.kaiming_normal_(dense.weight, nonlinearity="relu")
            torch.nn.init.zeros_(dense.bias)
        torch.nn.init.normal_(self.dense2.weight, std=0.01)

    def forward(self, planes: torch.Tensor, ownership: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Values (B,); with ``ownership`` (a network with the head), ``(values, ownership)``, the
        second (B, size * size) in [-1, 1]: +1 where the colour to move will own the point."""
        if ownership and not self.ownership:
            raise ValueError("this value network has no ownership head")
        x, trunk = planes, None
        for name, layer, _ in self.layer_shapes:
            x = layer(x)
            if name == self.trunk_end:
                trunk = x
        if not ownership:
            return x.squeeze(-1)
        return x.squeeze(-1), torch.tanh(self.ownership_conv(trunk)).flatten(1)

    @property
    def architecture(self) -> dict:
        """The constructor's arguments, with ``kind``: enough to rebuild this network."""
        described = {"kind": "value", "planes": self.planes, "filters": self.filters, "layers": self.layers,
                     "board_size": self.board_size, "hidden": self.hidden}
        if self.arch != "plain":  # files from before the variants read as they did
            described["arch"] = self.arch
        return {**described, "ownership": True} if self.ownership else described

    @torch.no_grad()
    def values(self, planes: torch.Tensor) -> torch.Tensor:
        """Values (B,) in float32 for feature planes of any dtype (bytes, bools, floats)."""
        return self(planes.to(self.conv1.weight.dtype)).float()
