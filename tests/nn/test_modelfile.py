"""Model files: round trip, provenance, and refusal of missing, damaged, foreign or unsafe files."""
import os
import pickle

import pytest
import torch

from gopolicy.errors import GopolicyError
from gopolicy.nn.modelfile import FORMAT_VERSION, ModelFileError, load_model, save_model
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
    save_model(path, PolicyNetwork(planes=2, filters=4, layers=2, board_size=9), "alphago2")
    assert load_model(path)[1].architecture["planes"] == 2
    assert os.listdir(tmp_path) == ["net.model"]


def test_provenance_must_be_json_able(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        save_model(tmp_path / "x.model", PolicyNetwork(2, 4, 2, 9), "alphago2", {"when": object()})
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
    net = PolicyNetwork(planes=2, filters=4, layers=2, board_size=9)
    marker = torch.arange(81, dtype=torch.float32) + 1000  # easy to find in the file
    with torch.no_grad():
        net.point_bias.bias.copy_(marker.view(1, 9, 9))
    path = tmp_path / "net.model"
    save_model(path, net, "alphago2")
    data = bytearray(path.read_bytes())
    at = data.index(marker.numpy().tobytes())
    data[at + 40] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def edit_and_resave(path, **changes):
    contents = torch.load(path, weights_only=True)
    contents.update(changes)
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
