"""AlphaGo's SL policy network and the board's 8 symmetries."""
import numpy as np
import pytest
import torch

from gopolicy.go import symmetry
from gopolicy.nn.layers import BatchNorm2d, Conv2d, GlobalPoolingBias, Residual
from gopolicy.nn.modelfile import load_model, save_model
from gopolicy.nn.policy import ARCHITECTURES, PolicyNetwork, folded_architecture, masked_softmax


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


def trained_variant(arch: str, planes: int = 4, filters: int = 8, layers: int = 13, size: int = 9,
                    seed: int = 0) -> PolicyNetwork:
    """A variant with every parameter moved off its initial value and batch-norm statistics
    from a few training-mode passes, in eval mode: the state folding must get right."""
    torch.manual_seed(seed)
    net = PolicyNetwork(planes, filters, layers, size, arch=arch)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
            elif not isinstance(module, PolicyNetwork):
                for parameter in module.parameters(recurse=False):
                    parameter.add_(torch.randn_like(parameter) * 0.02)
        for _ in range(3):
            net((torch.rand(16, planes, size, size) < 0.3).float())
    return net.eval()


def convolutions(net: PolicyNetwork) -> list:
    return [m for m in net.modules() if isinstance(m, Conv2d)]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_variant_keeps_the_papers_input_output_and_depth(arch):
    net = PolicyNetwork(48, 64, 13, 19, arch=arch)
    convs = convolutions(net)
    assert len(convs) == 13 and convs[0] is net.conv1 and convs[-1] is net.conv13
    assert net.conv1.kernel_size == (5, 5) and net.conv1.padding == (2, 2)
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs[1:-1])
    assert net.conv13.kernel_size == (1, 1) and net.conv13.bias is None and net.point_bias.num_parameters == 361
    assert net(torch.zeros(2, 48, 19, 19)).shape == (2, 361) and net.output_shape() == (361,)
    norms = [m for m in net.modules() if isinstance(m, BatchNorm2d)]
    assert len(norms) == (12 if arch.endswith("-bn") else 0)
    assert all((c.bias is None) == arch.endswith("-bn") for c in convs[:-1])
    blocks = [m for m in net.modules() if isinstance(m, Residual)]
    assert len(blocks) == (5 if arch.startswith("residual") else 0)
    pools = [m for m in net.modules() if isinstance(m, GlobalPoolingBias)]
    assert len(pools) == (2 if "gpool" in arch else 0) and all(p.pooled == 16 for p in pools)


def test_the_plain_network_is_the_papers_and_its_architecture_is_unchanged():
    plain, default = PolicyNetwork(48, 64, 13, 19, arch="plain"), PolicyNetwork(48, 64, 13, 19)
    assert plain.architecture == default.architecture == {"planes": 48, "filters": 64, "layers": 13, "board_size": 19}
    assert list(plain.state_dict()) == list(default.state_dict()) and plain.for_inference() is plain
    assert PolicyNetwork(48, 64, 13, 19, arch="residual-bn").architecture["arch"] == "residual-bn"


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_architecture_rebuilds_the_network(arch):
    net = PolicyNetwork(4, 8, 7, 9, arch=arch)
    again = PolicyNetwork(**net.architecture)
    assert again.arch == arch and again.summary() == net.summary()
    assert [(k, v.shape) for k, v in again.state_dict().items()] == [(k, v.shape) for k, v in net.state_dict().items()]


@pytest.mark.parametrize("layers, blocks, pools", [(2, 0, 0), (3, 0, 0), (4, 1, 1), (6, 2, 1), (12, 5, 2), (13, 5, 2)])
def test_residual_depths(layers, blocks, pools):
    net = PolicyNetwork(4, 8, layers, 9, arch="residual-gpool")
    assert len(convolutions(net)) == layers
    assert sum(isinstance(m, Residual) for m in net.modules()) == blocks
    assert sum(isinstance(m, GlobalPoolingBias) for m in net.modules()) == pools
    assert net(torch.randn(1, 4, 9, 9)).shape == (1, 81)


def test_bad_architecture_is_rejected():
    with pytest.raises(ValueError, match="arch must be one of plain, plain-bn"):
        PolicyNetwork(arch="resnet")
    with pytest.raises(ValueError, match="filters >= 2"):
        PolicyNetwork(4, 1, 5, 9, arch="residual-gpool")


@pytest.mark.parametrize("arch", ["residual", "residual-bn", "residual-gpool", "residual-gpool-bn"])
def test_residual_blocks_start_as_the_identity(arch):
    net = PolicyNetwork(4, 8, 13, 9, arch=arch).eval()
    x = torch.relu(torch.randn(2, 8, 9, 9))
    blocks = [m for m in net.modules() if isinstance(m, Residual)]
    assert len(blocks) == 5 and all(torch.equal(block(x), x) for block in blocks)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_for_inference_folds_the_norms_and_computes_the_same(arch, tmp_path):
    net = trained_variant(arch)
    folded = net.for_inference()
    assert folded.arch == folded_architecture(arch) and not folded.training
    assert not any(isinstance(m, BatchNorm2d) for m in folded.modules())
    x = (torch.rand(8, 4, 9, 9) < 0.3).float()
    expected = net(x)
    assert (folded(x) - expected).abs().max() < 1e-4
    assert folded.point_bias is not net.point_bias or folded is net
    save_model(tmp_path / "m.pt", folded, "alphago4")
    loaded, info = load_model(tmp_path / "m.pt")
    assert info.architecture == folded.architecture and loaded.arch == folded.arch
    assert (loaded(x) - expected).abs().max() < 1e-4


@pytest.mark.parametrize("arch", ["plain-bn", "residual-gpool-bn"])
def test_unfolded_variants_save_and_load_too(arch, tmp_path):
    net = trained_variant(arch)
    save_model(tmp_path / "m.pt", net, "alphago4")
    loaded, info = load_model(tmp_path / "m.pt")
    x = torch.randn(3, 4, 9, 9)
    assert info.architecture["arch"] == arch and torch.equal(loaded(x), net(x))


def test_a_model_file_without_arch_loads_as_plain(tmp_path):
    save_model(tmp_path / "old.pt", PolicyNetwork(4, 8, 3, 9), "alphago4")
    contents = torch.load(tmp_path / "old.pt", weights_only=True)
    assert "arch" not in contents["architecture"]
    assert load_model(tmp_path / "old.pt")[0].arch == "plain"


def test_folding_is_exact_at_the_papers_size():
    net = trained_variant("residual-gpool-bn", planes=48, filters=64, size=19)
    x = (torch.rand(4, 48, 19, 19) < 0.2).float()
    assert (net.for_inference()(x) - net(x)).abs().max() < 1e-4


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_variant_trains_in_bf16_channels_last(arch):
    torch.manual_seed(0)
    net = PolicyNetwork(4, 8, 7, 9, arch=arch).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    x = (torch.rand(32, 4, 9, 9) < 0.3).float().contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 81, (32,))
    losses = []
    for _ in range(20):
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(net(x).float(), y)
        optimizer.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.3  # it learns this batch
    assert all(p.grad is not None for p in net.parameters())  # every parameter is in use
