"""One file per trained model: the weights and everything needed to use them.

The file is ``torch.save`` of a dict of plain data only (str, int, dicts, lists and tensors)::

    format          "gopolicy-model"
    format_version  FORMAT_VERSION
    architecture    the network's arguments: planes, filters, layers, board_size (a policy
                    network's, optionally its variant "arch"), or with "kind": "value" a
                    ValueNetwork's (and its "hidden" width)
    feature_set     name of the feature planes the network reads, e.g. "alphago48"
    provenance      JSON-able dict describing how it was trained
    weights         the state dict
    weights_sha256  checksum of the weights, to catch corrupted files (not a signature)

It is read with ``torch.load(weights_only=True)``, which refuses anything else, so a model
file from a stranger cannot run code when loaded. Before anything is built from it, the
architecture's numbers are bounded and its feature set checked, so a crafted file cannot
stall a command; then the weights must be exactly the architecture's tensors, and finite.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from typing import Any, Dict, Tuple, Union

import torch

from gopolicy import __version__
from gopolicy.errors import GopolicyError
from gopolicy.features import ALL_PLANES, FEATURE_SETS, get_feature_set
from gopolicy.go.coords import MAX_SIZE, MIN_SIZE
from gopolicy.nn import policy
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.nn.value import VALUE_ARCHITECTURES, ValueNetwork
from gopolicy.util.files import write_atomic

FORMAT = "gopolicy-model"
FORMAT_VERSION = 1
PathLike = Union[str, os.PathLike]
Network = Union[PolicyNetwork, ValueNetwork]
KINDS = ("policy", "value")  # what a model file may hold; files without "kind" hold a policy network


class ModelFileError(GopolicyError):
    """A model file that cannot be used: missing, unreadable, not a gopolicy model, or unsafe."""

    def __init__(self, path: PathLike, reason: str):
        self.path, self.reason = os.fspath(path), reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says besides its weights."""

    architecture: Dict[str, int]
    feature_set: str
    provenance: Dict[str, Any]
    format_version: int
    gopolicy_version: str

    @property
    def kind(self) -> str:
        """``policy`` or ``value``: which network the file holds."""
        return network_kind(self.architecture)


def network_kind(architecture: Dict[str, Any]) -> str:
    """``policy`` or ``value``: the network an architecture describes (no "kind": a policy network)."""
    return architecture.get("kind", "policy")


def save_model(path: PathLike, model: Network, feature_set: str,
               provenance: Dict[str, Any] | None = None) -> None:
    """Writes ``model`` (weights in their current dtype) with its feature set's name and
    training provenance to ``path``, atomically (:func:`~gopolicy.util.files.write_atomic`).
    ValueError for a feature set that is unknown or does not fit the network: such a file
    could never be loaded."""
    if not isinstance(feature_set, str) or not feature_set:
        raise ValueError(f"feature_set must be a non-empty name, got {feature_set!r}")
    planes = get_feature_set(feature_set).planes
    if planes != model.planes:
        raise ValueError(f"feature set {feature_set} has {planes} planes but the network reads {model.planes}")
    try:
        provenance = json.loads(json.dumps(provenance or {}))  # plain JSON types only
    except (TypeError, ValueError) as e:
        raise ValueError(f"provenance must be JSON-able: {e}") from None
    weights = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    contents = {"format": FORMAT, "format_version": FORMAT_VERSION, "gopolicy_version": __version__,
                "architecture": model.architecture, "feature_set": feature_set, "provenance": provenance,
                "weights": weights, "weights_sha256": weights_digest(weights)}
    write_atomic(path, lambda f: torch.save(contents, f))


def load_model(path: PathLike, map_location: Union[str, torch.device] = "cpu",
               kind: str = "policy") -> Tuple[Network, ModelInfo]:
    """Reads a model file of a ``kind`` network (``policy``, ``value``, or ``any``); the
    network comes back in eval mode on ``map_location``, with the weights' saved dtype.
    Raises ModelFileError (naming the file) if it cannot be used: another kind of network,
    unreadable, unsafe, corrupt, an architecture out of bounds or not matching the weights,
    a feature set that is unknown or does not fit the network, or weights that are not finite.
    Every check that the file's contents can make expensive runs on bounded input first."""
    contents = _read(path)
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise ModelFileError(path, "not a gopolicy model file")
    version = contents.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(path, f"model format version {_short(version)} is not one this gopolicy reads "
                                   f"(1 to {FORMAT_VERSION})")
    try:
        info = ModelInfo(architecture=_checked_architecture(contents["architecture"], contents["feature_set"]),
                         feature_set=contents["feature_set"], provenance=dict(contents["provenance"]),
                         format_version=version, gopolicy_version=str(contents["gopolicy_version"]))
        if kind != "any" and info.kind != kind:
            raise ModelFileError(path, f"holds a {info.kind} network, not the {kind} network wanted here")
        weights, digest = _checked_weights(contents["weights"]), contents["weights_sha256"]
        if weights_digest(weights) != digest:
            raise ModelFileError(path, "the weights do not match their checksum: the file is corrupt or was altered")
        model = network_from(info.architecture, info.feature_set, weights)
    except ModelFileError:
        raise
    except _Unusable as e:
        raise ModelFileError(path, str(e)) from None
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise ModelFileError(path, f"damaged model file: {type(e).__name__}: {_short(e)}") from None
    return model.to(torch.device(map_location)).eval(), info


def weights_digest(weights: Dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a state dict's tensors."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def network_from(architecture: Any, feature_set: Any, weights: Any) -> Network:
    """The network ``architecture`` describes, holding ``weights`` (its tensors become the
    parameters, on their device and dtype), checked as a model file is (see the module's
    docstring): for any input read from a file, such as an RL checkpoint. Raises ValueError
    with a short message saying what is wrong."""
    architecture = _checked_architecture(architecture, feature_set)
    weights = _checked_weights(weights)
    with torch.device("meta"):  # shapes only, cheap now that the architecture is bounded
        if network_kind(architecture) == "value":
            model = ValueNetwork(**{k: v for k, v in architecture.items() if k != "kind"})
        else:
            model = PolicyNetwork(**architecture)
    _compare_tensors(model.state_dict(), weights)
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise _Unusable(f"tensor {_short(name)} holds NaN or infinite values")
    model.load_state_dict(weights, assign=True)
    return model


# -- checks of a file's contents, each cheap whatever the file holds ------------------

MAX_LAYERS = 1000  # the bundled model has 13, AlphaGo's 13; far beyond any network this trains
MAX_WIDTH = 4096  # filters, and any other count an architecture variant takes (AlphaGo: 192)
MAX_TENSORS = 20000  # tensors in a state dict: several per layer at most
MESSAGE_LIMIT = 200  # characters of file contents quoted in an error message


class _Unusable(ValueError):
    """A check of the file's contents failed; the message says which (becomes ModelFileError)."""


def _short(value: Any, limit: int = MESSAGE_LIMIT) -> str:
    """``repr`` (``str`` for an exception) of something read from a file, cut to ``limit`` characters."""
    text = str(value) if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _architectures() -> Tuple[str, ...]:
    """The network variants PolicyNetwork builds (read when called: the list may grow)."""
    return tuple(getattr(policy, "ARCHITECTURES", ("plain",)))


def _checked_architecture(architecture: Any, feature_set: Any) -> Dict[str, Any]:
    """The architecture as a dict, if every number in it is within bounds and the feature
    set is one this gopolicy knows with the network's number of input planes."""
    if not isinstance(architecture, dict) or len(architecture) > 32:
        raise _Unusable(f"the architecture is not a small dict: {_short(architecture)}")
    for key, value in architecture.items():
        if not isinstance(key, str) or not isinstance(value, (int, float, str, bool, type(None))):
            raise _Unusable(f"architecture entry {_short(key)}: {_short(value)} is not a plain setting")
    kind = architecture.get("kind", "policy")
    if kind not in KINDS:
        raise _Unusable(f"unknown kind of network {_short(kind)} (known: {', '.join(KINDS)})")
    bounds = {"layers": (2 if kind == "policy" else 3, MAX_LAYERS), "board_size": (MIN_SIZE, MAX_SIZE), "planes": (1, ALL_PLANES)}
    for key, value in architecture.items():
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = bounds.get(key, (0, MAX_WIDTH))
            if not low <= value <= high:
                raise _Unusable(f"architecture {key} = {_short(value)} is out of bounds ({low} to {high})")
    variant, known = architecture.get("arch", "plain"), _architectures() if kind == "policy" else VALUE_ARCHITECTURES
    if variant not in known:
        raise _Unusable(f"unknown network architecture {_short(variant)} (known: {', '.join(known)})")
    if not isinstance(feature_set, str):
        raise _Unusable(f"the feature set's name is not a string: {_short(feature_set)}")
    try:
        planes = get_feature_set(feature_set).planes
    except ValueError:
        raise _Unusable(f"unknown feature set {_short(feature_set)} (known: {', '.join(FEATURE_SETS)})") from None
    if architecture.get("planes") != planes:
        raise _Unusable(f"feature set {feature_set} has {planes} planes but the network reads "
                        f"{_short(architecture.get('planes'))}")
    return dict(architecture)


def _checked_weights(weights: Any) -> Dict[str, torch.Tensor]:
    """The state dict, if it is a bounded dict of named tensors."""
    if not isinstance(weights, dict) or len(weights) > MAX_TENSORS:
        raise _Unusable(f"the weights are not a dict of at most {MAX_TENSORS} tensors")
    for name, tensor in weights.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise _Unusable(f"weights entry {_short(name)} is not a named tensor")
    return weights


def _compare_tensors(expected: Dict[str, torch.Tensor], found: Dict[str, torch.Tensor]) -> None:
    """The file's tensors must be exactly the architecture's: the same names and shapes."""
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise _Unusable("the weights do not fit the architecture: "
                        + _short(f"missing {missing}, unexpected {unexpected}"))
    for name, tensor in expected.items():
        if found[name].shape != tensor.shape or found[name].is_floating_point() != tensor.is_floating_point():
            raise _Unusable(f"size mismatch for {_short(name)}: the file has {found[name].dtype} "
                            f"{tuple(found[name].shape)}, the architecture needs {tuple(tensor.shape)}")


def _read(path: PathLike) -> Any:
    """torch.load with weights_only=True, every failure turned into a ModelFileError."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise ModelFileError(path, "no such model file") from None
    except OSError as e:
        raise ModelFileError(path, f"cannot read model file: {e.strerror or e}") from None
    with f:
        try:
            return torch.load(f, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            if "GLOBAL" in str(e):  # the weights-only unpickler met a class or function
                raise ModelFileError(path, "refused: the file holds Python objects other than tensors and plain "
                                           "data, and loading them could run code") from None
            raise ModelFileError(path, "not a model file, or a corrupt one (unreadable)") from None
        except Exception as e:  # a damaged file fails in many ways: RuntimeError, EOFError, OSError, KeyError...
            raise ModelFileError(path, f"not a model file, or a corrupt one ({type(e).__name__}: {e})") from None
