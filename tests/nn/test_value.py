"""ValueNetwork: the paper's layer layout, values in [-1, 1], and that it can learn."""
import pytest
import torch

from gopolicy.nn.layers import Conv2d, Dense
from gopolicy.nn.value import ValueNetwork


def test_layers_follow_the_paper():
    net = ValueNetwork(planes=49, filters=8)
    convs = [m for m in net.modules() if isinstance(m, Conv2d)]
    assert [c.kernel_size[0] for c in convs] == [5] + [3] * 11 + [1]  # 13 convolutions
    assert convs[-1].out_channels == 1
    dense = [m for m in net.modules() if isinstance(m, Dense)]
    assert [(d.in_features, d.out_features) for d in dense] == [(361, 256), (256, 1)]
    assert net.output_shape() == (1,)


def test_values_are_one_per_position_in_range():
    torch.manual_seed(0)
    net = ValueNetwork(planes=49, filters=8, board_size=9)
    values = net.values(torch.randint(0, 2, (5, 49, 9, 9), dtype=torch.uint8))
    assert values.shape == (5,) and values.dtype == torch.float32
    assert (values.abs() <= 1).all()


def test_architecture_rebuilds_the_same_network():
    net = ValueNetwork(planes=49, filters=8, layers=5, board_size=9, hidden=32)
    rebuilt = ValueNetwork(**{k: v for k, v in net.architecture.items() if k != "kind"})
    assert net.architecture["kind"] == "value"
    assert [(k, v.shape) for k, v in rebuilt.state_dict().items()] == [(k, v.shape) for k, v in net.state_dict().items()]


@pytest.mark.parametrize("arch", ["residual", "residual-gpool"])
def test_a_residual_value_network_shares_the_policy_trunk_layout(arch):
    from gopolicy.nn.policy import PolicyNetwork

    net = ValueNetwork(planes=49, filters=8, layers=13, board_size=9, hidden=16, ownership=True, arch=arch)
    policy = PolicyNetwork(planes=48, filters=8, layers=13, board_size=9, arch=arch)
    trunk = {k: v.shape for k, v in policy.state_dict().items() if not k.startswith(("conv13", "point_bias"))}
    mine = net.state_dict()
    assert all(mine[k].shape[1:] == shape[1:] or k == "conv1.weight" for k, shape in trunk.items())
    assert net.trunk_end == "relu12" and net.architecture["arch"] == arch
    values, owners = net(torch.rand(2, 49, 9, 9).round(), ownership=True)
    assert values.shape == (2,) and owners.shape == (2, 81) and (owners.abs() <= 1).all()
    assert ValueNetwork(**{k: v for k, v in net.architecture.items() if k != "kind"}).arch == arch
    assert "arch" not in ValueNetwork(planes=49, filters=8, layers=3).architecture  # older files read alike


@pytest.mark.parametrize("field, value", [("layers", 2), ("filters", 0), ("hidden", 0), ("planes", 1.5),
                                          ("arch", "residual-bn"), ("arch", "dense")])
def test_bad_architectures_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        ValueNetwork(**{field: value})


def test_it_learns_whose_turn_decides():
    """Targets +1 when the colour plane (the last) is set, else -1: a few Adam steps fit them."""
    torch.manual_seed(0)
    net = ValueNetwork(planes=3, filters=8, layers=3, board_size=5, hidden=16)
    planes = torch.randint(0, 2, (64, 3, 5, 5)).float()
    planes[:, 2] = (torch.arange(64) % 2).float().view(-1, 1, 1)
    target = planes[:, 2, 0, 0] * 2 - 1
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(150):
        loss = torch.nn.functional.mse_loss(net(planes), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert (net.values(planes).sign() == target).all()
