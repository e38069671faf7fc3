"""The 8 symmetries of a square board (4 rotations, each with or without a reflection), for
augmenting training data and for averaging a network's predictions at inference.

A symmetry is an int 0-7: ``k = s % 4`` quarter turns of the last two axes, after a
left-right flip when ``s >= 4``. Symmetry 0 is the identity. Functions act on the last two
axes of a tensor or numpy array ``(..., H, W)`` and move every value, so planes, masks and
policy maps all transform alike; ``flat_permutation`` gives the same map for flat indices
``h * W + w`` (policy targets, policy outputs).
"""
from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

import numpy as np
import torch

SYMMETRIES = tuple(range(8))
Array = TypeVar("Array", torch.Tensor, np.ndarray)


def _check(symmetry: int) -> int:
    if symmetry not in SYMMETRIES:
        raise ValueError(f"symmetry must be an int 0-7, got {symmetry!r}")
    return symmetry


def transform(x: Array, symmetry: int) -> Array:
    """``x`` (..., H, W) under ``symmetry``. Numpy input gives a numpy view, torch input a tensor."""
    lib = np if isinstance(x, np.ndarray) else torch
    if _check(symmetry) >= 4:
        x = lib.flip(x, (-1,))
    return lib.rot90(x, symmetry % 4, (-2, -1))


def inverse(symmetry: int) -> int:
    """The symmetry that undoes ``symmetry``: rotations undo by turning back, reflections undo themselves."""
    return (-symmetry) % 4 if _check(symmetry) < 4 else symmetry


def untransform(x: Array, symmetry: int) -> Array:
    """Undoes ``transform(x, symmetry)``."""
    return transform(x, inverse(symmetry))


@lru_cache(maxsize=None)
def flat_permutation(symmetry: int, size: int) -> torch.Tensor:
    """``perm`` with ``transform(x, s).flatten(-2) == x.flatten(-2)[..., perm]`` on a size x size board.
    Cached and shared: do not modify it."""
    return transform(torch.arange(size * size).reshape(size, size), symmetry).flatten()


def transform_indices(indices: torch.Tensor, symmetry: int, size: int) -> torch.Tensor:
    """Where flat point indices (e.g. policy targets) go under ``symmetry``: the index that
    ``transform`` moves the value at each of ``indices`` to."""
    return flat_permutation(inverse(symmetry), size)[indices]
