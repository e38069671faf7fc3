"""Model files: round trip, provenance, and refusal of missing, damaged, foreign, unsafe or crafted files."""
import os
import pickle
import time

import pytest
import torch

from gopolicy.errors import GopolicyError
from gopolicy.nn import policy
from gopolicy.nn.modelfile import FORMAT_VERSION, ModelFileError, load_model, save_model, weights_digest
from gopolicy.nn.policy import PolicyNetwork

PROVENANCE = {"dataset": "kgs-2015", "epochs": 3, "lr": 0.003, "seed": 7, "notes": ["sgd", {"batch": 16}]}


class RunsCodeWhenUnpickled:
    """What a malicious model file could hold: unpickling it calls os.mkdir(marker)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    net = PolicyNetwork(planes=4, filters=8, layers=3, board_size=9)
    path = tmp_path / "net.model"
    save_model(path, net, "alphago4", PROVENANCE)
    return net, path


def test_round_trip_gives_identical_outputs_and_keeps_provenance(saved):
    net, path = saved
    loaded, info = load_model(path)
    x = torch.randn(3, 4, 9, 9)
    assert torch.equal(loaded(x), net(x))
    assert info.architecture == {"planes": 4, "filters": 8, "layers": 3, "board_size": 9}
    assert info.feature_set == "alphago4" and info.provenance == PROVENANCE
    assert info.format_version == FORMAT_VERSION and not loaded.training


def test_save_replaces_atomically_and_leaves_no_temp_file(saved, tmp_path):
    _, path = saved
    save_model(path, PolicyNetwork(planes=12, filters=4, layers=2, board_size=9), "alphago12")
    assert load_model(path)[1].architecture["planes"] == 12
    assert os.listdir(tmp_path) == ["net.model"]


def test_provenance_must_be_json_able(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        save_model(tmp_path / "x.model", PolicyNetwork(4, 4, 2, 9), "alphago4", {"when": object()})
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file") as error:
        load_model(tmp_path / "absent.model")
    assert "absent.model" in str(error.value) and isinstance(error.value, GopolicyError)


@pytest.mark.parametrize("content", [b"", b"hello, world\n", os.urandom(2000)])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "garbage.model"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="garbage.model"):
        load_model(path)


def test_truncated_file(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="corrupt"):
        load_model(path)


def test_flipped_bit_in_the_weights_fails_the_checksum(tmp_path):
    net = PolicyNetwork(planes=4, filters=4, layers=2, board_size=9)
    marker = torch.arange(81, dtype=torch.float32) + 1000  # easy to find in the file
    with torch.no_grad():
        net.point_bias.bias.copy_(marker.view(1, 9, 9))
    path = tmp_path / "net.model"
    save_model(path, net, "alphago4")
    data = bytearray(path.read_bytes())
    at = data.index(marker.numpy().tobytes())
    data[at + 40] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def edit_and_resave(path, **changes):
    """Rewrites a model file with some entries changed, the checksum recomputed to match the
    weights: what a careless tool or a crafted file could hold."""
    contents = torch.load(path, weights_only=True)
    contents.update(changes)
    contents["weights_sha256"] = weights_digest(contents["weights"])
    torch.save(contents, path)


def test_tampered_architecture_is_refused(saved):
    _, path = saved
    edit_and_resave(path, architecture={"planes": 4, "filters": 9, "layers": 3, "board_size": 9})
    with pytest.raises(ModelFileError, match="size mismatch"):
        load_model(path)


def test_not_a_gopolicy_model_or_a_newer_format(saved):
    net, path = saved
    torch.save(net.state_dict(), path)  # a bare state dict is not a model file
    with pytest.raises(ModelFileError, match="not a gopolicy model"):
        load_model(path)
    save_model(path, net, "alphago4")
    edit_and_resave(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelFileError, match="version"):
        load_model(path)


def torch_save(payload, f):
    torch.save(payload, f)


def torch_load_unsafely(f):
    return torch.load(f, weights_only=False)


def pickle_dump(payload, f):
    pickle.dump(payload, f, protocol=2)


@pytest.mark.parametrize("write, unsafe_read", [(torch_save, torch_load_unsafely), (pickle_dump, pickle.load)])
def test_file_that_would_run_code_is_refused(tmp_path, write, unsafe_read):
    marker = tmp_path / "code-ran"
    payload = {"format": "gopolicy-model", "format_version": 1, "weights": RunsCodeWhenUnpickled(str(marker))}
    path = tmp_path / "evil.model"
    with open(path, "wb") as f:
        write(payload, f)
    with pytest.raises(ModelFileError, match="could run code"):
        load_model(path)
    assert not marker.exists()
    with open(path, "rb") as f:
        unsafe_read(f)  # the payload is live: an unsafe loader would have run it
    assert marker.exists()


def refusal(path) -> str:
    with pytest.raises(ModelFileError) as error:
        load_model(path)
    message = str(error.value)
    assert str(path) in message and len(message) < len(str(path)) + 400, message  # short, names the file
    return message


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(saved, bad):
    net, path = saved
    weights = {name: t.clone() for name, t in net.state_dict().items()}
    weights["conv2.weight"][0, 0, 0, 0] = bad
    edit_and_resave(path, weights=weights)
    assert "conv2.weight" in refusal(path) and "NaN or infinite" in refusal(path)
    edit_and_resave(path, weights={name: torch.full_like(t, float("nan")) for name, t in weights.items()})
    assert "NaN" in refusal(path)


@pytest.mark.parametrize("layers", [200_000, 20_000, 1, -3])
def test_absurd_layer_count_is_refused_at_once_with_a_short_message(saved, layers):
    _, path = saved
    edit_and_resave(path, architecture={"planes": 4, "filters": 8, "layers": layers, "board_size": 9})
    started = time.perf_counter()
    assert "layers" in refusal(path) and "out of bounds" in refusal(path)
    assert time.perf_counter() - started < 5  # it used to build 200,000 layers first


@pytest.mark.parametrize("architecture, expected", [
    ({"planes": 4, "filters": 10**9, "layers": 3, "board_size": 9}, "filters"),
    ({"planes": 4, "filters": 8, "layers": 3, "board_size": 99}, "board_size"),
    ({"planes": 4, "filters": 8, "layers": 3, "board_size": 9, "arch": "x" * 5000}, "unknown network architecture"),
    ({"planes": 4, "filters": 8, "layers": 3, "board_size": 9, "blocks": 10**7}, "blocks"),
    ("not a dict" * 1000, "not a small dict"),
], ids=["filters", "board_size", "arch", "blocks", "not-a-dict"])
def test_architecture_out_of_bounds_is_refused(saved, architecture, expected):
    _, path = saved
    edit_and_resave(path, architecture=architecture)
    assert expected in refusal(path)


def test_the_architecture_names_are_those_policy_lists(saved, monkeypatch):
    _, path = saved
    edit_and_resave(path, architecture={"planes": 4, "filters": 8, "layers": 3, "board_size": 9, "arch": "residual"})
    monkeypatch.setattr(policy, "ARCHITECTURES", ("plain",), raising=False)
    assert "unknown network architecture 'residual' (known: plain)" in refusal(path)
    monkeypatch.setattr(policy, "ARCHITECTURES", ("plain", "residual"), raising=False)
    try:  # passes the name check; whether it builds is the network's business
        load_model(path)
    except ModelFileError as error:
        assert "unknown network architecture" not in str(error)


def test_weights_that_are_not_the_architectures_tensors_are_refused(saved):
    net, path = saved
    weights = dict(net.state_dict())
    extra = {**weights, **{f"junk{i}": torch.zeros(1) for i in range(1000)}}
    edit_and_resave(path, weights=extra)
    message = refusal(path)
    assert "do not fit the architecture" in message and "junk" in message
    del weights["conv2.bias"]
    edit_and_resave(path, weights=weights)
    assert "missing ['conv2.bias']" in refusal(path)


@pytest.mark.parametrize("feature_set, expected", [
    ("alphago7", "unknown feature set 'alphago7'"),
    ("alphago48", "feature set alphago48 has 48 planes but the network reads 4"),
    (["alphago4"], "not a string"),
])
def test_unknown_or_mismatched_feature_set_is_refused(saved, feature_set, expected):
    _, path = saved
    edit_and_resave(path, feature_set=feature_set)
    assert expected in refusal(path)


def test_save_refuses_a_feature_set_that_does_not_fit(tmp_path):
    net = PolicyNetwork(planes=4, filters=4, layers=2, board_size=9)
    with pytest.raises(ValueError, match="48 planes but the network reads 4"):
        save_model(tmp_path / "x.model", net, "alphago48")
    with pytest.raises(ValueError, match="unknown feature set"):
        save_model(tmp_path / "x.model", net, "alphago7")
    assert os.listdir(tmp_path) == []


def test_the_bundled_model_still_loads():
    model, info = load_model(os.path.join(os.path.dirname(__file__), "..", "..", "data", "models", "default.pt"))
    assert info.feature_set == "alphago48" and model.planes == 48 and model.board_size == 19


@pytest.mark.parametrize("arch", getattr(policy, "ARCHITECTURES", ("plain",)))
def test_every_network_variant_round_trips(tmp_path, arch):
    kwargs = {} if arch == "plain" else {"arch": arch}
    torch.manual_seed(0)
    net = PolicyNetwork(planes=4, filters=8, layers=5, board_size=9, **kwargs).eval()
    save_model(tmp_path / "net.model", net, "alphago4")
    loaded, info = load_model(tmp_path / "net.model")
    x = torch.randn(2, 4, 9, 9)
    assert torch.equal(loaded(x), net(x)) and info.architecture == net.architecture


@pytest.fixture
def saved_value(tmp_path):
    from gopolicy.nn.value import ValueNetwork
    torch.manual_seed(0)
    net = ValueNetwork(planes=49, filters=8, layers=4, board_size=9, hidden=16)
    path = tmp_path / "value.model"
    save_model(path, net, "alphago49", {"target": "value"})
    return net, path


def test_a_value_network_round_trips_and_says_its_kind(saved_value):
    net, path = saved_value
    loaded, info = load_model(path, kind="value")
    assert info.kind == "value" and info.architecture["hidden"] == 16
    x = torch.rand(3, 49, 9, 9).round()
    assert torch.equal(loaded(x), net.eval()(x))


def test_a_residual_value_network_round_trips_and_a_batch_norm_one_is_refused(tmp_path):
    from gopolicy.nn.value import ValueNetwork
    torch.manual_seed(0)
    net = ValueNetwork(planes=49, filters=8, layers=5, board_size=9, hidden=16, arch="residual").eval()
    save_model(tmp_path / "v.model", net, "alphago49", {"target": "value"})
    loaded, info = load_model(tmp_path / "v.model", kind="value")
    x = torch.rand(3, 49, 9, 9).round()
    assert info.architecture["arch"] == "residual" and torch.equal(loaded(x), net(x))
    edit_and_resave(tmp_path / "v.model", architecture={**net.architecture, "arch": "residual-bn"})
    assert "unknown network architecture 'residual-bn' (known: plain, residual, residual-gpool)" in refusal(tmp_path / "v.model")


def test_a_network_of_the_wrong_kind_is_refused_by_name(saved, saved_value):
    with pytest.raises(ModelFileError, match="holds a value network, not the policy network"):
        load_model(saved_value[1])
    with pytest.raises(ModelFileError, match="holds a policy network, not the value network"):
        load_model(saved[1], kind="value")
    assert load_model(saved_value[1], kind="any")[1].kind == "value"


def test_an_unknown_kind_of_network_is_refused(saved_value):
    _, path = saved_value
    architecture = {**torch.load(path, weights_only=True)["architecture"], "kind": "oracle"}
    edit_and_resave(path, architecture=architecture)
    with pytest.raises(ModelFileError, match="unknown kind of network 'oracle'"):
        load_model(path, kind="any")
