"""One file per trained model: the weights and everything needed to use them.

The file is ``torch.save`` of a dict of plain data only (str, int, dicts, lists and tensors)::

    format          "gopolicy-model"
    format_version  FORMAT_VERSION
    architecture    PolicyNetwork's arguments: planes, filters, layers, board_size
    feature_set     name of the feature planes the network reads, e.g. "alphago48"
    provenance      JSON-able dict describing how it was trained
    weights         the state dict
    weights_sha256  checksum of the weights, to catch corrupted files (not a signature)

It is read with ``torch.load(weights_only=True)``, which refuses anything else, so a model
file from a stranger cannot run code when loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Tuple, Union

import torch

from gopolicy import __version__
from gopolicy.errors import GopolicyError
from gopolicy.nn.policy import PolicyNetwork

FORMAT = "gopolicy-model"
FORMAT_VERSION = 1
PathLike = Union[str, os.PathLike]


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


def save_model(path: PathLike, model: PolicyNetwork, feature_set: str,
               provenance: Dict[str, Any] | None = None) -> None:
    """Writes ``model`` (weights in their current dtype) with its feature set's name and
    training provenance to ``path``, atomically: a reader sees the old file or the complete
    new one, never half of it."""
    if not isinstance(feature_set, str) or not feature_set:
        raise ValueError(f"feature_set must be a non-empty name, got {feature_set!r}")
    try:
        provenance = json.loads(json.dumps(provenance or {}))  # plain JSON types only
    except (TypeError, ValueError) as e:
        raise ValueError(f"provenance must be JSON-able: {e}") from None
    weights = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    contents = {"format": FORMAT, "format_version": FORMAT_VERSION, "gopolicy_version": __version__,
                "architecture": model.architecture, "feature_set": feature_set, "provenance": provenance,
                "weights": weights, "weights_sha256": weights_digest(weights)}
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as f:
            torch.save(contents, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def load_model(path: PathLike, map_location: Union[str, torch.device] = "cpu") -> Tuple[PolicyNetwork, ModelInfo]:
    """Reads a model file; the network comes back in eval mode on ``map_location``, with
    the weights' saved dtype. Raises ModelFileError (naming the file) if it cannot be used."""
    contents = _read(path)
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise ModelFileError(path, "not a gopolicy model file")
    version = contents.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(path, f"model format version {version!r} is not one this gopolicy reads "
                                   f"(1 to {FORMAT_VERSION})")
    try:
        if not isinstance(contents["feature_set"], str):
            raise TypeError("the feature set's name is not a string")
        info = ModelInfo(architecture=dict(contents["architecture"]), feature_set=contents["feature_set"],
                         provenance=dict(contents["provenance"]), format_version=version,
                         gopolicy_version=str(contents["gopolicy_version"]))
        weights, digest = contents["weights"], contents["weights_sha256"]
        if weights_digest(weights) != digest:
            raise ModelFileError(path, "the weights do not match their checksum: the file is corrupt or was altered")
        with torch.device("meta"):  # shapes only: the file's tensors become the parameters
            model = PolicyNetwork(**info.architecture)
        model.load_state_dict(weights, assign=True)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise ModelFileError(path, f"damaged model file: {type(e).__name__}: {e}") from None
    return model.to(torch.device(map_location)).eval(), info


def weights_digest(weights: Dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a state dict's tensors."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


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
