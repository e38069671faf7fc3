"""The convolutional trunk that the policy and value networks share: layers 1 to ``layers - 1``
of AlphaGo's stack, or a variant of it (``arch``), each layer followed by its ReLU.

``plain`` (the paper's): a 5x5 convolution of the feature planes to ``filters`` maps, zero
padding 2, then 3x3 convolutions, zero padding 1. The variants keep the 5x5 first layer, the
zero padding and the number of convolutions, and change what lies between:

- ``plain-bn``: batch normalisation after every convolution, the convolutions then having no
  bias of their own (Ioffe & Szegedy 2015).
- ``residual``: the 3x3 convolutions as residual blocks of two (13 layers: five blocks, then
  one more 3x3 convolution), each ``relu(x + conv(relu(conv(x))))`` as in AlphaGo Zero; a
  block's second convolution starts at zero, so that each block starts as the identity and
  the net trains without normalisation (as Fixup/SkipInit do).
- ``residual-bn``: the same blocks with batch normalisation after every convolution (AlphaGo
  Zero's block: conv, BN, ReLU, conv, BN, add, ReLU); a block's second BN starts at scale 0.
- ``residual-gpool`` / ``residual-gpool-bn``: ``residual`` / ``residual-bn`` where the second
  block and every second one after it (with a single block, that one) give a quarter of
  their first convolution's channels to a global-pooling bias (GoNN, KataGo): their mean and
  max over the board set a per-channel bias of the other channels, a whole-board view that
  a stack of 3x3 convolutions otherwise lacks.

The batch norms all follow a convolution, so they fold into it for play
(:func:`gopolicy.nn.layers.folded_state_dict`): the folded form of ``X-bn`` is ``X``.
"""
from __future__ import annotations

from typing import Dict

import torch

from gopolicy.nn.layers import BatchNorm2d, Conv2d, GlobalPoolingBias, Layer, ReLU, Residual, Sequential

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


def has_batch_norm(arch: str) -> bool:
    """Whether the ``arch`` trunk normalises its convolutions by batch."""
    return _TRAITS[arch][2]


def check_architecture(arch: str, filters: int) -> None:
    """Raises ValueError unless ``arch`` is known and ``filters`` suits it."""
    if arch not in _TRAITS:
        raise ValueError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")
    if _TRAITS[arch][1] and filters < 2:
        raise ValueError(f"arch {arch} needs filters >= 2, got {filters}")


def trunk_layers(planes: int, filters: int, layers: int, board_size: int, arch: str = "plain") -> Dict[str, Layer]:
    """The named layers of the trunk, in order: ``conv1``/``relu1``, then ``block{n}`` /
    ``relu_block{n}`` for the residual blocks and ``conv{i}``/``relu{i}`` for the plain 3x3
    layers, up to layer ``layers - 1`` (and ``bn{i}`` after each convolution with batch norm)."""
    check_architecture(arch, filters)
    residual, gpool, batch_norm = _TRAITS[arch]

    def conv(index: int, in_channels: int, kernel: int) -> Dict[str, Layer]:
        layer = {f"conv{index}": Conv2d(in_channels, filters, kernel, padding="same", bias=not batch_norm)}
        return {**layer, f"bn{index}": BatchNorm2d(filters)} if batch_norm else layer

    def block(first: int, pooling: bool) -> Residual:
        body, width = conv(first, filters, 3), filters
        if pooling:
            pooled = max(1, filters // 4)
            body[f"gpool{first}"] = GlobalPoolingBias(filters, pooled)
            width -= pooled
        body.update({f"relu{first}": ReLU(), **conv(first + 1, width, 3)})
        return Residual(Sequential((filters, board_size, board_size), body))

    named: Dict[str, Layer] = {**conv(1, planes, 5), "relu1": ReLU()}
    blocks = (layers - 2) // 2 if residual else 0  # layers - 2 is the number of 3x3 convolutions
    for n in range(1, blocks + 1):
        named[f"block{n}"] = block(2 * n, gpool and (n % 2 == 0 or blocks == 1))
        named[f"relu_block{n}"] = ReLU()
    for i in range(2 + 2 * blocks, layers):
        named.update({**conv(i, filters, 3), f"relu{i}": ReLU()})
    return named


@torch.no_grad()
def reset_trunk(module: torch.nn.Module) -> None:
    """He initialisation of every convolution in ``module`` (ReLU gain; linear for a single
    output map), so the unnormalised stack keeps its signal's scale through all the layers
    where torch's default init shrinks it at every layer; biases and global-pooling biases
    zero, batch norms at scale 1, and each residual block's last convolution (or its batch
    norm's scale) zero: every block starts as the identity."""
    for layer in module.modules():
        if isinstance(layer, Conv2d):
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu" if layer.out_channels > 1 else "linear")
            if layer.bias is not None:
                torch.nn.init.zeros_(layer.bias)
        elif isinstance(layer, GlobalPoolingBias):
            for parameter in layer.parameters():
                torch.nn.init.zeros_(parameter)
        elif isinstance(layer, BatchNorm2d):
            layer.reset_parameters()
    for block in module.modules():  # after the loop above, which reaches a block before its layers
        if isinstance(block, Residual):
            torch.nn.init.zeros_(list(block.body.children())[-1].weight)
