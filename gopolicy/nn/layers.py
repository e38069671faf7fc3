"""Generic image-CNN layers: thin subclasses of ``torch.nn`` modules that also know their
shapes and sizes, plus a ``Sequential`` container with a Keras-style ``summary()``.

Shapes are per example, without the batch dimension, in torch's order: ``(C, H, W)`` for
images and ``(N,)`` for vectors. Every layer has ``output_shape(input_shape)``, computed by
arithmetic (``floor((n + 2p - f) / s) + 1`` for convolution and pooling) and checked
against what the layer accepts, so a network's shapes and parameter counts are known
without running it. Nothing here is specific to Go.

For residual and globally pooled networks: ``BatchNorm2d``, a ``Residual`` container
(``x + body(x)``), ``GlobalPoolingBias`` (a per-channel bias computed from the whole image, as
in lightvector's GoNN and KataGo), and ``folded_state_dict``, which folds every batch norm into
the convolution before it, so that a trained network runs at inference without them.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Tuple, Union

import torch
from torch import nn

Shape = Tuple[int, ...]
Size2 = Union[int, Tuple[int, int]]
Padding = Union[str, int, Tuple[int, int]]


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pooling window along one axis: floor((n + 2p - f) / s) + 1."""
    if n + 2 * padding < kernel:
        raise ValueError(f"window {kernel} does not fit in {n} + 2*{padding} padding")
    return (n + 2 * padding - kernel) // stride + 1


def named_padding(padding: Padding, kernel: Tuple[int, int]) -> Tuple[int, int]:
    """Zero padding per side for each spatial axis. ``'valid'`` is no padding; ``'same'``
    pads (f - 1) / 2, which keeps the size at stride 1 (ceil(n / s) in general) and so
    needs an odd kernel."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if any(f % 2 == 0 for f in kernel):
            raise ValueError(f"'same' padding needs an odd kernel size, got {kernel}")
        return (kernel[0] // 2, kernel[1] // 2)
    if isinstance(padding, str):
        raise ValueError(f"padding must be 'same', 'valid' or a number of zeros, got {padding!r}")
    return _pair(padding)


def _pair(value: Size2) -> Tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _expect(layer: nn.Module, input_shape: Shape, rank: int, channels: int | None = None) -> None:
    """Raises ValueError unless ``input_shape`` has ``rank`` dims (and ``channels`` first)."""
    if len(input_shape) != rank or (channels is not None and input_shape[0] != channels):
        wanted = f"{rank} dims" + (f" with {channels} first" if channels is not None else "")
        raise ValueError(f"{type(layer).__name__} expects an input shape of {wanted}, got {tuple(input_shape)}")


class Layer:
    """Mixin for a torch module that knows its output shape and its parameter count."""

    def output_shape(self, input_shape: Shape) -> Shape:
        """The per-example output shape for a per-example ``input_shape``; ValueError if it does not fit."""
        raise NotImplementedError

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class ShapePreserving(Layer):
    """A layer whose output has its input's shape (activations)."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class Conv2d(Layer, nn.Conv2d):
    """2-D convolution with named (``'same'``, ``'valid'``) or explicit zero padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size2, stride: Size2 = 1,
                 padding: Padding = "valid", bias: bool = True):
        super().__init__(in_channels, out_channels, _pair(kernel_size), _pair(stride),
                         named_padding(padding, _pair(kernel_size)), bias=bias)

    def output_shape(self, input_shape: Shape) -> Shape:
        _expect(self, input_shape, 3, self.in_channels)
        return (self.out_channels,) + _window_output(input_shape[1:], self.kernel_size, self.stride, self.padding)


def _window_output(spatial: Shape, kernel, stride, padding) -> Shape:
    return tuple(conv_output_size(n, f, s, p) for n, f, s, p in zip(spatial, kernel, stride, padding))


class _Pool(Layer):
    def output_shape(self, input_shape: Shape) -> Shape:
        _expect(self, input_shape, 3)
        kernel, stride, padding = _pair(self.kernel_size), _pair(self.stride), _pair(self.padding)
        return (input_shape[0],) + _window_output(input_shape[1:], kernel, stride, padding)


class MaxPool2d(_Pool, nn.MaxPool2d):
    """Max pooling; the stride defaults to the window size (non-overlapping windows)."""

    def __init__(self, kernel_size: Size2, stride: Size2 | None = None, padding: Size2 = 0):
        super().__init__(kernel_size, stride, padding)


class AvgPool2d(_Pool, nn.AvgPool2d):
    """Average pooling; the stride defaults to the window size. Zero padding counts in the average."""

    def __init__(self, kernel_size: Size2, stride: Size2 | None = None, padding: Size2 = 0):
        super().__init__(kernel_size, stride, padding)


class Flatten(Layer, nn.Flatten):
    """Flattens each example to a vector (C, H, W) -> (C*H*W,), in C, H, W order whatever the memory format."""

    def __init__(self):
        super().__init__(start_dim=1)

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)


class Dense(Layer, nn.Linear):
    """Fully connected layer on vectors: (in_features,) -> (out_features,)."""

    def output_shape(self, input_shape: Shape) -> Shape:
        _expect(self, input_shape, 1, self.in_features)
        return (self.out_features,)


class ReLU(ShapePreserving, nn.ReLU):
    pass


class Tanh(ShapePreserving, nn.Tanh):
    pass


class Sigmoid(ShapePreserving, nn.Sigmoid):
    pass


class Softmax(ShapePreserving, nn.Softmax):
    """Softmax over each example's features (dim 1): vectors, or the channels of an image."""

    def __init__(self):
        super().__init__(dim=1)


class PositionBias(Layer, nn.Module):
    """Adds a learned bias of its own to every position (and channel) of a (C, H, W) map,
    unlike a convolution's bias, which is shared by all positions of a channel."""

    def __init__(self, channels: int, height: int, width: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels, height, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias

    def output_shape(self, input_shape: Shape) -> Shape:
        expected = tuple(self.bias.shape)
        if tuple(input_shape) != expected:
            raise ValueError(f"PositionBias expects an input shape of {expected}, got {tuple(input_shape)}")
        return tuple(input_shape)

    def extra_repr(self) -> str:
        return "channels={}, height={}, width={}".format(*self.bias.shape)


class BatchNorm2d(ShapePreserving, nn.BatchNorm2d):
    """Batch normalisation of each channel of a (C, H, W) map: batch statistics in training,
    running ones in eval mode, where it is an affine map per channel that
    :func:`fold_batch_norm` folds into the convolution before it."""

    def output_shape(self, input_shape: Shape) -> Shape:
        _expect(self, input_shape, 3, self.num_features)
        return tuple(input_shape)


class Residual(Layer, nn.Module):
    """``x + body(x)``: a residual connection around a ``Sequential`` whose output has its
    input's shape (He et al. 2016). An activation after the sum is a layer of its own."""

    def __init__(self, body: "Sequential"):
        super().__init__()
        if body.output_shape() != body.input_shape:
            raise ValueError(f"a residual body must keep its input shape {body.input_shape}, "
                             f"but gives {body.output_shape()}")
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)

    def output_shape(self, input_shape: Shape) -> Shape:
        return self.body.output_shape(input_shape)


class GlobalPoolingBias(Layer, nn.Module):
    """Global context for a convolutional net (lightvector's GoNN, KataGo): of a (C, H, W)
    input, the first ``pooled`` channels go through a ReLU and are reduced over the whole
    image to their mean and max; a dense layer turns those 2 * pooled numbers into one bias
    per remaining channel, added at every position. Output: (C - pooled, H, W). The mean and
    max do not depend on the image size, so the layer works on any size."""

    def __init__(self, channels: int, pooled: int):
        super().__init__()
        if not 0 < pooled < channels:
            raise ValueError(f"pooled channels must be between 1 and {channels - 1}, got {pooled}")
        self.channels, self.pooled = channels, pooled
        self.dense = Dense(2 * pooled, channels - pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled, rest = torch.relu(x[:, : self.pooled]), x[:, self.pooled:]
        summary = torch.cat([pooled.mean((2, 3)), pooled.amax((2, 3))], dim=1)
        return rest + self.dense(summary).unsqueeze(-1).unsqueeze(-1)

    def output_shape(self, input_shape: Shape) -> Shape:
        _expect(self, input_shape, 3, self.channels)
        return (self.channels - self.pooled,) + tuple(input_shape[1:])

    def extra_repr(self) -> str:
        return f"channels={self.channels}, pooled={self.pooled}"


@torch.no_grad()
def fold_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> Tuple[torch.Tensor, torch.Tensor]:
    """The weight and bias of one convolution equal to ``norm(conv(x))`` with ``norm`` in
    eval mode: y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta is a convolution whose
    output channel c is scaled by s_c = gamma_c / sqrt(var_c + eps), with bias
    s_c * (b_c - mean_c) + beta_c. Computed in float64, returned in the conv's dtype."""
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError("only a batch norm with running statistics can be folded")
    dtype = conv.weight.dtype
    scale = norm.running_var.double().add(norm.eps).rsqrt()
    if norm.weight is not None:
        scale = scale * norm.weight.double()
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - norm.running_mean.double()) * scale
    if norm.bias is not None:
        bias = bias + norm.bias.double()
    weight = conv.weight.double() * scale.view(-1, *[1] * (conv.weight.dim() - 1))
    return weight.to(dtype), bias.to(dtype)


def folded_state_dict(module: nn.Module, prefix: str = "") -> "OrderedDict[str, torch.Tensor]":
    """``module``'s state dict with every ``BatchNorm2d`` that directly follows a ``Conv2d``
    (the next child of the same container) folded into it: the conv gains a bias and the
    norm's entries disappear. It loads into the same network built with biased convolutions
    and without those norms (same names otherwise), which computes what ``module`` computes
    in eval mode, at the cost of the convolutions alone."""
    state: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for name, tensor in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
        state[prefix + name] = tensor.detach()
    children = list(module.named_children())
    i = 0
    while i < len(children):
        name, child = children[i]
        following = children[i + 1][1] if i + 1 < len(children) else None
        if isinstance(child, nn.Conv2d) and isinstance(following, nn.BatchNorm2d):
            state[f"{prefix}{name}.weight"], state[f"{prefix}{name}.bias"] = fold_batch_norm(child, following)
            i += 2
        else:
            state.update(folded_state_dict(child, f"{prefix}{name}."))
            i += 1
    return state


class Sequential(Layer, nn.Sequential):
    """Layers applied in order to a fixed per-example ``input_shape``. The shapes are worked
    out (and checked) when it is built, so ``summary()`` needs no forward pass. Layers are
    given in order, or as one mapping of name -> layer to name them."""

    def __init__(self, input_shape: Shape, *layers: Layer | Mapping[str, Layer]):
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            named = OrderedDict(layers[0])
        else:
            named = OrderedDict((str(i), layer) for i, layer in enumerate(layers))
        super().__init__(named)
        self.input_shape = tuple(input_shape)
        self.layer_shapes = []  # (name, layer, output shape) in order
        shape = self.input_shape
        for name, layer in named.items():
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {name!r} ({type(layer).__name__}) does not know its output shape")
            try:
                shape = layer.output_shape(shape)
            except ValueError as e:
                raise ValueError(f"layer {name!r}: {e}") from None
            self.layer_shapes.append((name, layer, shape))

    def output_shape(self, input_shape: Shape | None = None) -> Shape:
        if input_shape is not None and tuple(input_shape) != self.input_shape:
            raise ValueError(f"this network takes inputs of shape {self.input_shape}, got {tuple(input_shape)}")
        return self.layer_shapes[-1][2] if self.layer_shapes else self.input_shape

    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts, with the totals (as Keras prints)."""
        header = ("Layer (type)", "Output Shape", "Param #")
        rows = [header] + [(f"{name} ({type(layer).__name__})", str(shape), f"{layer.num_parameters:,}")
                           for name, layer, shape in self.layer_shapes]
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        header, *body = ["".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        rule = "=" * sum(widths)
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return "\n".join([f"Input shape: {self.input_shape}", header, rule, *body, rule,
                          f"Total params: {self.num_parameters:,}", f"Trainable params: {trainable:,}"])

    def __getitem__(self, index):
        """A slice is a plain ``nn.Sequential`` (its input shape is no longer this one's); an int is that layer."""
        if isinstance(index, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)
