"""Generic image-CNN layers: thin subclasses of ``torch.nn`` modules that also know their
shapes and sizes, plus a ``Sequential`` container with a Keras-style ``summary()``.

Shapes are per example, without the batch dimension, in torch's order: ``(C, H, W)`` for
images and ``(N,)`` for vectors. Every layer has ``output_shape(input_shape)``, computed by
arithmetic (``floor((n + 2p - f) / s) + 1`` for convolution and pooling) and checked
against what the layer accepts, so a network's shapes and parameter counts are known
without running it. Nothing here is specific to Go.
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
