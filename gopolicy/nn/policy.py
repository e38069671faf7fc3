"""AlphaGo's supervised-learning policy network (Silver et al. 2016), built from the generic
layers, and variants of it for a learning-curve study (``arch``).

``plain`` (the paper's network, the default): layer 1 is a 5x5 convolution of the feature
planes to ``filters`` maps, zero padding 2, ReLU; layers 2 to ``layers - 1`` are 3x3
convolutions, zero padding 1, ReLU; the last layer is one 1x1 filter with no shared bias,
then a separate bias for every board point (``point_bias``). ``forward`` gives the logits,
one per point (flat index ``row * size + col``); ``probabilities`` applies the softmax,
optionally over legal points only and averaged over the board's 8 symmetries.

Every variant keeps the paper's input and output: ``layers`` convolutions in all, the 5x5
first layer, zero padding, the 1x1 + per-point-bias output and the same planes, so only the
trunk between them differs:

- ``plain-bn``: the plain stack with batch normalisation after every convolution but the
  last (Ioffe & Szegedy 2015), the convolutions then having no bias of their own.
- ``residual``: the ``layers - 2`` 3x3 convolutions as residual blocks of two (13 layers: five
  blocks, then one more 3x3 convolution), each ``relu(x + conv(relu(conv(x))))`` as in
  AlphaGo Zero; a block's second convolution starts at zero, so that each block starts as
  the identity and the net trains without normalisation (as Fixup/SkipInit do).
- ``residual-bn``: the same blocks with batch normalisation after every convolution but the
  last (AlphaGo Zero's block: conv, BN, ReLU, conv, BN, add, ReLU); a block's second BN starts
  at scale 0.
- ``residual-gpool`` / ``residual-gpool-bn``: ``residual`` / ``residual-bn`` where the second
  block and every second one after it (with a single block, that one) give a quarter of
  their first convolution's channels to a global-pooling bias (GoNN, KataGo): their mean and
  max over the board set a per-channel bias of the other channels, a whole-board view that
  a stack of 3x3 convolutions otherwise lacks.

The batch norms all follow a convolution (post-activation blocks, not pre-activation ones),
so :meth:`PolicyNetwork.for_inference` folds every one of them into the convolution before
it: the folded form of ``X-bn`` is the network ``X`` with the folded weights, which costs
play and evaluation nothing more than ``X``.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

from gopolicy.go import symmetry
from gopolicy.nn.layers import (
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalPoolingBias,
    Layer,
    PositionBias,
    ReLU,
    Residual,
    Sequential,
    folded_state_dict,
)

# name: (residual blocks, global pooling, batch norm)
_TRAITS = {
    "plain": (False, False, False),
    "plain-bn": (False, False, True),
    "residual": (True, False, False),
    "residual-bn": (True, False, True),
    "residual-gpool": (True, True, False),
    "residual-gpool-bn": (True, True, True),
}
ARCHITECTURES = tuple(_TRAITS)


def folded_architecture(arch: str) -> str:
    """The architecture a trained ``arch`` network becomes with its batch norms folded in."""
    return arch[: -len("-bn")] if arch.endswith("-bn") else arch


class PolicyNetwork(Sequential):
    """Feature planes (B, planes, size, size) -> move logits (B, size * size)."""

    def __init__(self, planes: int = 48, filters: int = 192, layers: int = 13, board_size: int = 19,
                 arch: str = "plain"):
        for name, value, least in (("planes", planes, 1), ("filters", filters, 1), ("layers", layers, 2),
                                   ("board_size", board_size, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        if arch not in _TRAITS:
            raise ValueError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")
        residual, gpool, self.batch_norm = _TRAITS[arch]
        if gpool and filters < 2:
            raise ValueError(f"arch {arch} needs filters >= 2, got {filters}")
        self.planes, self.filters, self.layers, self.board_size, self.arch = planes, filters, layers, board_size, arch
        named = {**self._conv(1, planes, 5), "relu1": ReLU()}
        middle = layers - 2  # the 3x3 convolutions
        blocks = middle // 2 if residual else 0
        for block in range(1, blocks + 1):
            named[f"block{block}"] = self._block(2 * block, gpool and (block % 2 == 0 or blocks == 1))
            named[f"relu_block{block}"] = ReLU()
        for i in range(2 + 2 * blocks, layers):
            named.update({**self._conv(i, filters, 3), f"relu{i}": ReLU()})
        named.update({f"conv{layers}": Conv2d(filters, 1, 1, bias=False),
                      "point_bias": PositionBias(1, board_size, board_size),
                      "flatten": Flatten()})
        super().__init__((planes, board_size, board_size), named)
        self.reset_parameters()

    def _conv(self, index: int, in_channels: int, kernel: int) -> Dict[str, Layer]:
        """Layer ``index``: a ``kernel`` convolution to ``filters`` maps, zero padded to keep the
        board's size, with a batch norm after it (and then no bias) in the ``-bn`` variants."""
        conv = {f"conv{index}": Conv2d(in_channels, self.filters, kernel, padding="same", bias=not self.batch_norm)}
        return {**conv, f"bn{index}": BatchNorm2d(self.filters)} if self.batch_norm else conv

    def _block(self, first: int, pooling: bool) -> Residual:
        """Layers ``first`` and ``first + 1`` as a residual block, with a global-pooling bias
        between them if ``pooling``."""
        body = self._conv(first, self.filters, 3)
        width = self.filters
        if pooling:
            pooled = max(1, self.filters // 4)
            body[f"gpool{first}"] = GlobalPoolingBias(self.filters, pooled)
            width -= pooled
        body.update({f"relu{first}": ReLU(), **self._conv(first + 1, width, 3)})
        return Residual(Sequential((self.filters, self.board_size, self.board_size), body))

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He initialisation: the ReLU convolutions keep the signal's scale through all the
        layers of the plain (unnormalised) stack, where torch's default init shrinks it at
        every layer; biases start at zero, batch norms at scale 1. A residual block's last
        convolution (or its batch norm's scale) starts at zero, and so does a global-pooling
        bias's dense layer: each block starts as the identity."""
        for module in self.modules():
            if isinstance(module, Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu" if module.out_channels > 1 else "linear")
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, (PositionBias, GlobalPoolingBias)):
                for parameter in module.parameters():
                    torch.nn.init.zeros_(parameter)
            elif isinstance(module, BatchNorm2d):
                module.reset_parameters()
        for block in self.modules():  # after the loop above, which reaches a block before its layers
            if isinstance(block, Residual):
                torch.nn.init.zeros_(list(block.body.children())[-1].weight)

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
