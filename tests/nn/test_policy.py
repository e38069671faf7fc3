"""AlphaGo's SL policy network and the board's 8 symmetries."""
import numpy as np
import pytest
import torch

from gopolicy.go import symmetry
from gopolicy.nn.policy import PolicyNetwork, masked_softmax


def small_net(size: int = 9, seed: int = 0) -> PolicyNetwork:
    torch.manual_seed(seed)
    net = PolicyNetwork(planes=4, filters=8, layers=4, board_size=size)
    with torch.no_grad():
        net.point_bias.bias.normal_()  # break the symmetry a zero bias would have
    return net


def test_alphago_parameter_count():
    net = PolicyNetwork(planes=48, filters=192, layers=13, board_size=19)
    first = 48 * 192 * 25 + 192
    middle = 11 * (192 * 192 * 9 + 192)
    last = 192 + 361
    assert (first, middle, last) == (230_592, 3_651_648, 553)
    assert net.num_parameters == first + middle + last == 3_882_793
    assert net.output_shape() == (361,)
    assert "Total params: 3,882,793" in net.summary()


@pytest.mark.parametrize("filters", [128, 256, 384])
def test_wider_networks_build_and_run(filters):
    net = PolicyNetwork(planes=48, filters=filters, layers=3)
    assert net(torch.zeros(2, 48, 19, 19)).shape == (2, 361)
    assert net.num_parameters == 48 * filters * 25 + filters + filters * filters * 9 + filters + filters + 361


def test_depth_and_board_size_are_configurable():
    net = PolicyNetwork(planes=4, filters=8, layers=6, board_size=9)
    assert sum(name.startswith("conv") for name, _, _ in net.layer_shapes) == 6
    assert net(torch.zeros(3, 4, 9, 9)).shape == (3, 81)
    with pytest.raises(ValueError, match="layers"):
        PolicyNetwork(layers=1)


def test_last_layer_bias_is_per_point():
    net = small_net()
    with torch.no_grad():
        net.point_bias.bias.zero_()
        net.point_bias.bias[0, 2, 5] = 7.0
        net.conv4.weight.zero_()  # the logits are now just the point biases
    logits = net(torch.randn(2, 4, 9, 9))
    expected = torch.zeros(2, 81)
    expected[:, 2 * 9 + 5] = 7.0
    assert torch.equal(logits, expected)
    assert net.conv4.bias is None and net.point_bias.num_parameters == 81


def test_illegal_points_get_zero_probability():
    net = small_net()
    legal = torch.rand(2, 81) < 0.3
    legal[1] = False
    legal[1, 40] = True
    probs = net.probabilities(torch.randn(2, 4, 9, 9), legal)
    assert torch.all(probs[~legal] == 0) and torch.all(probs[legal] > 0)
    assert torch.allclose(probs.sum(-1), torch.ones(2)) and probs[1, 40] == 1.0
    board_shaped = net.probabilities(torch.randn(2, 4, 9, 9), legal.view(2, 9, 9), average_symmetries=True)
    assert torch.all(board_shaped[~legal] == 0)


def test_no_legal_point_gives_zeros_not_nan():
    probs = masked_softmax(torch.randn(1, 81), torch.zeros(1, 81, dtype=torch.bool))
    assert torch.equal(probs, torch.zeros(1, 81))


def test_averaging_is_invariant_on_a_symmetric_position():
    net = small_net()
    x = torch.randn(1, 4, 9, 9)
    symmetric = sum(symmetry.transform(x, s) for s in symmetry.SYMMETRIES)
    averaged = net.probabilities(symmetric, average_symmetries=True).view(9, 9)
    single = net.probabilities(symmetric).view(9, 9)
    for s in symmetry.SYMMETRIES:
        assert torch.allclose(symmetry.transform(averaged, s), averaged, rtol=0, atol=1e-7)
    assert not torch.allclose(symmetry.transform(single, 1), single, atol=1e-4)  # the bare net is not


def test_averaging_is_equivariant():
    net = small_net()
    x = torch.randn(2, 4, 9, 9)
    averaged = net.probabilities(x, average_symmetries=True).view(2, 9, 9)
    for s in symmetry.SYMMETRIES:
        moved = net.probabilities(symmetry.transform(x, s), average_symmetries=True).view(2, 9, 9)
        assert torch.allclose(moved, symmetry.transform(averaged, s), rtol=0, atol=1e-7), s


def test_the_eight_symmetries_are_distinct_and_invertible():
    x = torch.arange(2 * 5 * 5).view(2, 5, 5)
    images = [symmetry.transform(x, s) for s in symmetry.SYMMETRIES]
    assert len({tuple(img.flatten().tolist()) for img in images}) == 8
    for s, img in zip(symmetry.SYMMETRIES, images):
        assert torch.equal(symmetry.untransform(img, s), x)
        assert torch.equal(symmetry.transform(img, symmetry.inverse(s)), x)
    assert torch.equal(images[1], x.rot90(1, (-2, -1))) and torch.equal(images[4], x.flip(-1))


def test_numpy_arrays_transform_like_tensors():
    x = np.arange(3 * 4 * 4).reshape(3, 4, 4)
    for s in symmetry.SYMMETRIES:
        assert np.array_equal(symmetry.transform(x, s), symmetry.transform(torch.from_numpy(x), s).numpy())
        assert np.array_equal(symmetry.untransform(symmetry.transform(x, s), s), x)


@pytest.mark.parametrize("s", symmetry.SYMMETRIES)
def test_flat_permutation_matches_the_board_transform(s):
    size = 7
    board = torch.randn(3, size, size)
    perm = symmetry.flat_permutation(s, size)
    assert torch.equal(symmetry.transform(board, s).flatten(-2), board.flatten(-2)[..., perm])
    targets = torch.tensor([0, 3, 10, 48])  # a one-hot target map must move with its index
    one_hot = torch.zeros(4, size * size)
    one_hot[torch.arange(4), targets] = 1
    moved = symmetry.transform(one_hot.view(4, size, size), s).flatten(-2)
    assert torch.equal(moved.argmax(-1), symmetry.transform_indices(targets, s, size))


def test_bad_symmetry_is_rejected():
    with pytest.raises(ValueError):
        symmetry.transform(torch.zeros(3, 3), 8)


def test_channels_last_and_bf16_autocast_agree_with_fp32():
    net = small_net()
    x = torch.randn(4, 4, 9, 9)
    reference = net.probabilities(x, average_symmetries=True)
    fast = small_net().to(memory_format=torch.channels_last)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        probs = fast.probabilities(x.to(memory_format=torch.channels_last), average_symmetries=True)
        loss = torch.nn.functional.cross_entropy(fast(x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert probs.dtype == torch.float32 and torch.allclose(probs, reference, rtol=0.02, atol=1e-4)
    assert torch.isfinite(fast.conv1.weight.grad).all()
    bf16 = small_net().to(torch.bfloat16)
    assert torch.allclose(bf16.probabilities(x, average_symmetries=True), reference, rtol=0.02, atol=1e-4)
