"""Fixtures shared by the tests: positions drawn as diagrams, tiny random networks and the GTP
engine's players made from them."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np
import pytest
import torch

from gopolicy.go.coords import BLACK, from_gtp, opponent
from gopolicy.go.rules import Game
from gopolicy.nn.board_size import bias_lines
from gopolicy.nn.modelfile import ModelInfo
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.play.player import EnginePlayer

if TYPE_CHECKING:
    from gopolicy.nn.value import ValueNetwork


def _tiny_model(seed: int = 0, feature_set: str = "alphago48", layers: int = 3) -> tuple[PolicyNetwork, ModelInfo]:
    """A random k=8 network for 19x19 and its model-file info."""
    torch.manual_seed(seed)
    planes = {"alphago4": 4, "alphago48": 48}[feature_set]
    model = PolicyNetwork(planes=planes, filters=8, layers=layers, board_size=19).eval()
    info = ModelInfo(architecture=model.architecture, feature_set=feature_set, provenance={}, format_version=1,
                     gopolicy_version="test")
    return model, info


def _make_player(model_seed: int = 0, favour: tuple[str, int] | None = None, **options) -> EnginePlayer:
    """An engine player with a tiny random network, in fp32 unless told; ``favour=(vertex, size)``
    makes that point's bias dominate, so the network wants to play there whatever the position."""
    model, info = _tiny_model(model_seed)
    if favour is not None:
        _favour(model, *favour, 50.0)
    options.setdefault("precision", "fp32")
    return EnginePlayer(model, info, **options)


def _favour(model, vertex: str, size: int, logit: float) -> None:
    """Adds ``logit`` to the point bias of ``vertex`` on a ``size`` board."""
    row, col = divmod(from_gtp(vertex, size), size)
    lines = bias_lines(size)
    with torch.no_grad():
        model.point_bias.bias[0, lines[row], lines[col]] += logit


@pytest.fixture(scope="session")
def tiny_model() -> Callable[..., tuple[PolicyNetwork, ModelInfo]]:
    """Makes a random k=8 19x19 network and its info: ``tiny_model(seed=0, feature_set="alphago48", layers=3)``."""
    return _tiny_model


@pytest.fixture(scope="session")
def make_player() -> Callable[..., EnginePlayer]:
    """Makes an engine player with a tiny network: ``make_player(model_seed=0, favour=None, **EnginePlayer options)``."""
    return _make_player


def _position(diagram: str, komi: float = 0.0, to_move: int = BLACK, **rules) -> Game:
    """A game set up from a diagram, top row first: X black, O white, . empty; ``to_move`` plays next."""
    rows = [row.split() for row in diagram.strip().splitlines()]
    size = len(rows)
    points = {"X": [], "O": []}
    for i, row in enumerate(rows):
        for col, mark in enumerate(row):
            if mark in points:
                points[mark].append((size - 1 - i) * size + col)
    game = Game(size, komi, **rules)
    game.setup(black=points["X"], white=points["O"])
    game.to_move = to_move
    return game


@pytest.fixture(scope="session")
def position() -> Callable[..., Game]:
    """Makes a game from a diagram: ``position(diagram, komi=0.0, to_move=BLACK, **Game rules)``."""
    return _position


FINISHED_9X9 = """
. . . X . O . . .
. . . X . O . . .
. O . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
. . . X . O . . .
"""  # a finished 9x9 game: Black owns A-D, White F-J, E is neutral, the white stone at B7 is dead


@pytest.fixture(scope="session")
def finished_diagram() -> str:
    """The diagram of a finished 9x9 game with one dead stone (see FINISHED_9X9)."""
    return FINISHED_9X9


def _tiny_value(seed: int = 0, board_size: int = 19, ownership: bool = False) -> tuple["ValueNetwork", ModelInfo]:
    """A random k=8 value network (feature set alphago49) for ``board_size``, with an ownership
    head if asked, and its model-file info."""
    from gopolicy.nn.value import ValueNetwork

    torch.manual_seed(seed)
    value = ValueNetwork(planes=49, filters=8, layers=3, board_size=board_size, hidden=16, ownership=ownership).eval()
    info = ModelInfo(architecture=value.architecture, feature_set="alphago49", provenance={}, format_version=1,
                     gopolicy_version="test")
    return value, info


@pytest.fixture(scope="session")
def tiny_value() -> Callable[..., tuple["ValueNetwork", ModelInfo]]:
    """Makes a random k=8 value network and its info: ``tiny_value(seed=0, board_size=19, ownership=False)``."""
    return _tiny_value


def _make_search_player(model_seed: int = 0, value_seed: int = 0, value_size: int = 19,
                        favour: tuple[str, int] | None = None, favour_logit: float = 3.0, **options) -> EnginePlayer:
    """A searching engine player: a tiny random policy network (``favour=(vertex, size)`` adds
    ``favour_logit`` to that point's logit: a policy that likes it, without ruling out the rest)
    and a tiny random value network for ``value_size`` boards, fp32 unless told."""
    model, info = _tiny_model(model_seed)
    if favour is not None:
        _favour(model, *favour, favour_logit)
    value, value_info = _tiny_value(value_seed, value_size)
    options.setdefault("precision", "fp32")
    options.setdefault("playouts", 16)
    return EnginePlayer(model, info, value=value, value_info=value_info, **options)


@pytest.fixture(scope="session")
def make_search_player() -> Callable[..., EnginePlayer]:
    """Makes a searching engine player with tiny networks (16 playouts a move unless told):
    ``make_search_player(model_seed=0, value_seed=0, value_size=19, favour=None, favour_logit=3.0, **options)``."""
    return _make_search_player


class MaterialEvaluator:
    """Wraps a NetworkEvaluator: its priors, but a value that knows who wins a fight: the stones
    on the board, the colour to move's less the opponent's, squashed to (-1, 1) (tanh of a
    tenth of it). Counts its calls."""

    def __init__(self, inner):
        self.inner, self.size, self.calls = inner, inner.size, 0

    def evaluate(self, games):
        self.calls += 1
        priors, _ = self.inner.evaluate(games)
        values = []
        for game in games:
            stones = game.stones()
            lead = int((stones == game.to_move).sum()) - int((stones == opponent(game.to_move)).sum())
            values.append(math.tanh(lead / 10))
        return priors, np.array(values)


@pytest.fixture(scope="session")
def material_evaluator() -> Callable[..., MaterialEvaluator]:
    """Wraps an evaluator so that its value is the material count: ``material_evaluator(inner)``."""
    return MaterialEvaluator
