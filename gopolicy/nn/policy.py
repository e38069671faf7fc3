"""AlphaGo's supervised-learning policy network (Silver et al. 2016), built from the generic
layers, and variants of it for a learning-curve study (``arch``).

``plain`` (the paper's network, the default): layer 1 is a 5x5 convolution of the feature
planes to ``filters`` maps, zero padding 2, ReLU; layers 2 to ``layers - 1`` are 3x3
convolutions, zero padding 1, ReLU; the last layer is one 1x1 filter with no shared bias,
then a separate bias for every board point (``point_bias``). ``forward`` gives the logits,
one per point (flat index ``row * size + col``); ``probabilities`` applies the softmax,
optionally over legal points only and averaged over the board's 8 symmetries.

Every variant (``arch``, :mod:`gopolicy.nn.trunk`) keeps the paper's input and output: ``layers``
convolutions in all, the 5x5 first layer, zero padding, the 1x1 + per-point-bias output and
the same planes, so only the trunk between them differs. The batch norms of the ``-bn``
variants all follow a convolution, so :meth:`PolicyNetwork.for_inference` folds every one of
them into the convolution before it, which costs play and evaluation nothing.
"""
from __future__ import annotations

from typing import Optional

import torch

from gopolicy.go import symmetry
from gopolicy.nn.layers import Conv2d, Flatten, PositionBias, Sequential, folded_state_dict
from gopolicy.nn.trunk import (  # noqa: F401 (ARCHITECTURES, folded_architecture: the variants' names, read from here)
    ARCHITECTURES,
    folded_architecture,
    has_batch_norm,
    reset_trunk,
    trunk_layers,
)


class PolicyNetwork(Sequential):
    """Feature planes (B, planes, size, size) -> move logits (B, size * size)."""

    def __init__(self, planes: int = 48, filters: int = 192, layers: int = 13, board_size: int = 19,
                 arch: str = "plain"):
        for name, value, least in (("planes", planes, 1), ("filters", filters, 1), ("layers", layers, 2),
                                   ("board_size", board_size, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        self.planes, self.filters, self.layers, self.board_size, self.arch = planes, filters, layers, board_size, arch
        named = trunk_layers(planes, filters, layers, board_size, arch)
        self.batch_norm = has_batch_norm(arch)
        named.update({f"conv{layers}": Conv2d(filters, 1, 1, bias=False),
                      "point_bias": PositionBias(1, board_size, board_size),
                      "flatten": Flatten()})
        super().__init__((planes, board_size, board_size), named)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The trunk's initialisation (:func:`gopolicy.nn.trunk.reset_trunk`), the output's 1x1
        convolution likewise (linear gain) and its per-point biases zero."""
        reset_trunk(self)
        torch.nn.init.zeros_(self.point_bias.bias)

    @property
    def architecture(self) -> dict:
        """The constructor's arguments: enough to rebuild this network. ``arch`` only when it
        is not ``plain``, so the paper's network reads as it always has (and files without
        it load as ``plain``)."""
        described = {"planes": self.planes, "filters": self.filters, "layers": self.layers, "board_size": self.board_size}
        return described if self.arch == "plain" else {**described, "arch": self.arch}

    @torch.no_grad()
    def for_inference(self) -> "PolicyNetwork":
        """The network to export and play: this one where it has no batch norm, else a new
        ``folded_architecture(arch)`` network (eval mode, same device and dtype) with every
        batch norm folded into the convolution before it. It computes what this network
        computes in eval mode, up to float rounding."""
        if not self.batch_norm:
            return self
        with torch.device("meta"):
            folded = PolicyNetwork(**{**self.architecture, "arch": folded_architecture(self.arch)})
        folded.load_state_dict({name: t.clone() for name, t in folded_state_dict(self).items()}, assign=True)
        return folded.eval()

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
