"""Generic CNN layers: the classic worked examples, shape arithmetic vs real tensors, summary."""
import pytest
import torch

from gopolicy.nn.layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Flatten,
    GlobalPoolingBias,
    MaxPool2d,
    PositionBias,
    ReLU,
    Residual,
    Sequential,
    Softmax,
    conv_output_size,
    fold_batch_norm,
    folded_state_dict,
)

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


def trained_norm(channels: int, seed: int = 0) -> BatchNorm2d:
    """A batch norm with non-trivial scale, shift and running statistics, in eval mode."""
    torch.manual_seed(seed)
    norm = BatchNorm2d(channels)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2.0)
        norm.bias.normal_()
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.2, 3.0)
    return norm.eval()


def test_batch_norm_shapes_and_training_statistics():
    norm = BatchNorm2d(3)
    assert norm.output_shape((3, 5, 7)) == (3, 5, 7) and norm.num_parameters == 6
    with pytest.raises(ValueError, match="3 first"):
        norm.output_shape((4, 5, 7))
    out = norm(torch.randn(8, 3, 5, 7) * 4 + 2)  # training mode: each channel to mean 0, variance 1
    assert torch.allclose(out.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out.var((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)


@pytest.mark.parametrize("bias", [False, True])
def test_folding_a_batch_norm_into_its_convolution_is_exact(bias):
    torch.manual_seed(1)
    conv, norm = Conv2d(3, 4, 3, padding="same", bias=bias), trained_norm(4)
    weight, folded_bias = fold_batch_norm(conv, norm)
    x = torch.randn(2, 3, 6, 6)
    folded = torch.nn.functional.conv2d(x, weight, folded_bias, padding=1)
    assert torch.allclose(folded, norm(conv(x)), rtol=0, atol=1e-5)
    assert weight.shape == conv.weight.shape and folded_bias.shape == (4,)


def test_folded_state_dict_loads_into_the_net_without_norms():
    torch.manual_seed(2)

    def net(norms: bool) -> Sequential:
        def conv_norm(name, cin, cout):
            layers = {f"conv{name}": Conv2d(cin, cout, 3, padding="same", bias=not norms)}
            return {**layers, f"bn{name}": trained_norm(cout, seed=len(name))} if norms else layers
        block = Residual(Sequential((4, 5, 5), {**conv_norm("a", 4, 4), "relu": ReLU(), **conv_norm("b", 4, 4)}))
        return Sequential((2, 5, 5), {**conv_norm("1", 2, 4), "relu1": ReLU(), "block": block, "relu2": ReLU(),
                                      "flatten": Flatten(), "dense": Dense(100, 3)})

    normed, plain = net(True).eval(), net(False)
    state = folded_state_dict(normed)
    assert not any(".bn" in name or name.startswith("bn") for name in state)
    assert set(state) == set(plain.state_dict())
    plain.load_state_dict(state)
    x = torch.randn(3, 2, 5, 5)
    assert torch.allclose(plain(x), normed(x), rtol=0, atol=1e-4)
    assert not torch.allclose(plain(x), net(False)(x), atol=1e-2)  # the weights came from ``normed``


def test_a_norm_after_no_convolution_is_kept():
    seq = Sequential((2, 3, 3), {"relu": ReLU(), "bn": trained_norm(2)})
    assert set(folded_state_dict(seq)) == set(seq.state_dict())


def test_residual_adds_its_input_and_passes_gradients_through_the_skip():
    body = Sequential((2, 4, 4), Conv2d(2, 2, 3, padding="same"))
    block = Residual(body)
    with torch.no_grad():
        body[0].weight.zero_()
        body[0].bias.fill_(0.5)
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    out = block(x)
    assert torch.equal(out, x + 0.5) and block.output_shape((2, 4, 4)) == (2, 4, 4)
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x)) and body[0].weight.grad.abs().sum() > 0
    assert block.num_parameters == body.num_parameters == 2 * 2 * 9 + 2
    with pytest.raises(ValueError, match="keep its input shape"):
        Residual(Sequential((2, 4, 4), Conv2d(2, 3, 3, padding="same")))


def test_global_pooling_bias_by_hand():
    layer = GlobalPoolingBias(3, 1)
    with torch.no_grad():
        layer.dense.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 10.0]]))  # mean -> channel 1, 10 * max -> channel 2
        layer.dense.bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.zeros(1, 3, 2, 2)
    x[0, 0] = torch.tensor([[1.0, 3.0], [-8.0, 0.0]])  # after the ReLU: mean 1, max 3
    x[0, 1:] = torch.arange(8.0).view(2, 2, 2)
    out = layer(x)
    assert out.shape == (1, 2, 2, 2) and layer.output_shape((3, 2, 2)) == (2, 2, 2)
    assert torch.equal(out[0, 0], x[0, 1] + 1.0) and torch.equal(out[0, 1], x[0, 2] + 31.0)
    assert layer.num_parameters == 2 * 2 + 2


def test_global_pooling_bias_sees_the_whole_board_at_any_size():
    torch.manual_seed(3)
    layer = GlobalPoolingBias(8, 2)
    for size in (5, 9, 19):
        x = torch.randn(2, 8, size, size, requires_grad=True)
        out = layer(x)
        assert out.shape == (2, 6, size, size)
        out[:, :, 0, 0].sum().backward()  # one corner's output depends on pooled channels everywhere
        assert (x.grad[:, :2] != 0).sum() > size, size
    moved = torch.zeros(1, 8, 9, 9)
    moved[0, 0, 8, 8] = 5.0  # a far-away change in a pooled channel shifts every point's output
    assert not torch.allclose(layer(moved)[0, :, 0, 0], layer(torch.zeros(1, 8, 9, 9))[0, :, 0, 0])
    with pytest.raises(ValueError, match="pooled"):
        GlobalPoolingBias(4, 4)
    with pytest.raises(ValueError, match="8 first"):
        layer.output_shape((6, 9, 9))
