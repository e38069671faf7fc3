"""Generic CNN layers: the classic worked examples, shape arithmetic vs real tensors, summary."""
import pytest
import torch

from gopolicy.nn.layers import (AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, PositionBias, ReLU, Sequential,
                                Softmax, conv_output_size)

IMAGE_6X6 = [[1, 0, 0, 0, 0, 1],
             [0, 1, 0, 0, 1, 0],
             [0, 0, 1, 1, 0, 0],
             [1, 0, 0, 0, 1, 0],
             [0, 1, 0, 0, 1, 0],
             [0, 0, 1, 0, 1, 0]]
DIAGONAL_FILTER = [[1, -1, -1],
                   [-1, 1, -1],
                   [-1, -1, 1]]
# Worked by hand: each entry is 2 * (sum on the patch's diagonal) - (sum of the patch).
FEATURE_MAP = [[3, -1, -3, -1],
               [-3, 1, 0, -3],
               [-3, -3, 0, 1],
               [3, -2, -2, -1]]
POOLED = [[3, 0],
          [3, 1]]


def classic_conv() -> Conv2d:
    conv = Conv2d(1, 1, 3, stride=1, padding="valid", bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(DIAGONAL_FILTER, dtype=torch.float32).view(1, 1, 3, 3))
    return conv


def test_classic_6x6_convolution_and_max_pooling():
    image = torch.tensor(IMAGE_6X6, dtype=torch.float32).view(1, 1, 6, 6)
    conv, pool = classic_conv(), MaxPool2d(2, stride=2)
    feature_map = conv(image)
    assert feature_map.tolist() == [[FEATURE_MAP]]
    assert pool(feature_map).tolist() == [[POOLED]]
    assert conv.output_shape((1, 6, 6)) == (1, 4, 4)
    assert pool.output_shape((1, 4, 4)) == (1, 2, 2)


def test_average_pooling_of_the_classic_map():
    pooled = AvgPool2d(2)(torch.tensor(FEATURE_MAP, dtype=torch.float32).view(1, 1, 4, 4))
    assert pooled.tolist() == [[[[0.0, -1.75], [-1.25, -0.5]]]]


def lenet() -> Sequential:
    return Sequential((3, 32, 32),
                      Conv2d(3, 6, 5), ReLU(), MaxPool2d(2),
                      Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
                      Flatten(), Dense(400, 120), ReLU(), Dense(120, 84), ReLU(), Dense(84, 10), Softmax())


LENET_TABLE = [  # (layer index, output shape (C, H, W), parameters)
    (0, (6, 28, 28), 456),
    (2, (6, 14, 14), 0),
    (3, (16, 10, 10), 2416),
    (5, (16, 5, 5), 0),
    (6, (400,), 0),
    (7, (120,), 48120),
    (9, (84,), 10164),
    (11, (10,), 850),
    (12, (10,), 0),
]


def test_lenet_table_from_arithmetic():
    net = lenet()
    for index, shape, params in LENET_TABLE:
        name, layer, computed = net.layer_shapes[index]
        assert (computed, layer.num_parameters) == (shape, params), name
    assert net.output_shape() == (10,)
    assert net.num_parameters == 456 + 2416 + 48120 + 10164 + 850 == 62006


def test_lenet_shapes_match_a_real_forward_pass():
    net = lenet()
    x = torch.randn(2, 3, 32, 32)
    seen = []
    for name, layer, computed in net.layer_shapes:
        x = layer(x)
        assert tuple(x.shape[1:]) == computed, name
        seen.append(tuple(x.shape[1:]))
    assert [seen[index] for index, _, _ in LENET_TABLE] == [shape for _, shape, _ in LENET_TABLE]
    assert torch.allclose(x.sum(1), torch.ones(2))


def test_summary_lists_layers_shapes_and_totals():
    text = lenet().summary()
    assert "0 (Conv2d)" in text and "(6, 28, 28)" in text and "48,120" in text
    assert "Total params: 62,006" in text
    assert len(text.splitlines()) == 1 + 2 + 13 + 3


@pytest.mark.parametrize("n, f, s, p, expected", [(32, 5, 1, 0, 28), (19, 5, 1, 2, 19), (7, 3, 2, 0, 3),
                                                  (8, 3, 2, 1, 4), (6, 2, 2, 0, 3), (5, 2, 2, 0, 2)])
def test_output_size_formula(n, f, s, p, expected):
    assert conv_output_size(n, f, s, p) == expected
    conv = Conv2d(1, 1, f, stride=s, padding=p)
    assert conv.output_shape((1, n, n)) == (1, expected, expected)
    assert conv(torch.zeros(1, 1, n, n)).shape[-1] == expected


@pytest.mark.parametrize("n, stride", [(19, 1), (28, 1), (28, 2), (7, 3)])
def test_same_padding_keeps_size_or_divides_by_stride(n, stride):
    conv = Conv2d(2, 3, 5, stride=stride, padding="same")
    expected = -(-n // stride)
    assert conv.output_shape((2, n, n)) == (3, expected, expected)
    assert conv(torch.zeros(1, 2, n, n)).shape == (1, 3, expected, expected)


def test_bad_padding_and_shapes_are_rejected():
    with pytest.raises(ValueError, match="odd"):
        Conv2d(1, 1, 4, padding="same")
    with pytest.raises(ValueError, match="padding"):
        Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="layer '1'"):
        Sequential((3, 8, 8), Conv2d(3, 4, 3), Conv2d(5, 4, 3))
    with pytest.raises(ValueError, match="does not fit"):
        Sequential((1, 4, 4), Conv2d(1, 1, 5))
    with pytest.raises(TypeError, match="output shape"):
        Sequential((1, 4, 4), torch.nn.Conv2d(1, 1, 3))


def test_position_bias_is_one_bias_per_position():
    layer = PositionBias(2, 3, 4)
    assert layer.num_parameters == 24
    with torch.no_grad():
        layer.bias.copy_(torch.arange(24.0).view(2, 3, 4))
    out = layer(torch.zeros(5, 2, 3, 4))
    assert torch.equal(out, torch.arange(24.0).view(1, 2, 3, 4).expand(5, 2, 3, 4))
    with pytest.raises(ValueError):
        layer.output_shape((2, 4, 3))


def test_flatten_is_in_chw_order_even_for_channels_last():
    x = torch.arange(24.0).view(1, 2, 3, 4)
    assert torch.equal(Flatten()(x.to(memory_format=torch.channels_last)), torch.arange(24.0).view(1, 24))


def test_slicing_gives_a_plain_sequential():
    head = lenet()[:3]
    assert type(head) is torch.nn.Sequential and len(head) == 3
    assert head(torch.zeros(1, 3, 32, 32)).shape == (1, 6, 14, 14)
