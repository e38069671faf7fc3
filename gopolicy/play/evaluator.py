"""The networks as the search's judge: priors from a policy network, values from a value network.

:class:`NetworkEvaluator` implements :class:`gopolicy.play.search.Evaluator`: for a batch of
positions it encodes the feature planes once (the value network's ``alphago49`` planes begin
with the policy network's 48), runs both networks in one pass each (bf16 where the hardware
computes it natively), and spreads the policy over the shared candidate moves
(:func:`gopolicy.play.candidates.candidates`), the same moves the raw policy chooses from.
The policy network has no pass output: a pass gets a small fixed prior, and all of it when
no candidate is left. With ``symmetries`` each position is shown to the networks under a
random one of the board's 8 symmetries (as AlphaGo's search did), so that the search averages
out the networks' orientation-dependent errors over its many evaluations.
"""
from __future__ import annotations

import contextlib
from typing import Optional, Sequence

import numpy as np
import torch

from gopolicy.features import encode, get_feature_set
from gopolicy.go.coords import BLACK
from gopolicy.go.rules import Game
from gopolicy.go.symmetry import SYMMETRIES, transform, untransform
from gopolicy.nn.policy import PolicyNetwork, masked_softmax
from gopolicy.nn.value import ValueNetwork
from gopolicy.play.candidates import candidates
from gopolicy.play.search import VALUE_SOURCES

PASS_PRIOR = 0.01  # a pass's share of the prior while there are candidates
SCORE_SCALE = 40.0  # points: a value is tanh(margin / SCORE_SCALE) (fitted to the Tygem validation outcomes)


class NetworkEvaluator:
    """Priors and values for the search from a policy and a value network (both for one board size)."""

    def __init__(self, policy: PolicyNetwork, policy_features: str, value: ValueNetwork, value_features: str, *,
                 bf16: bool = False, device: torch.device | str = "cpu", pass_prior: float = PASS_PRIOR,
                 value_from: str = "head", symmetries: bool = False, seed: Optional[int] = None):
        if policy.board_size != value.board_size:
            raise ValueError(f"the policy network is for {policy.board_size}x{policy.board_size}, "
                             f"the value network for {value.board_size}x{value.board_size}")
        self.policy, self.value = policy.eval(), value.eval()
        policy_set, value_set = get_feature_set(policy_features), get_feature_set(value_features)
        if policy.planes != policy_set.planes or value.planes != value_set.planes:
            raise ValueError("a network's input planes do not match its feature set")
        self.features = max(policy_set, value_set, key=lambda s: s.planes).name  # feature sets are prefixes of one another
        self.policy_planes, self.value_planes = policy_set.planes, value_set.planes
        self.size = policy.board_size
        self.bf16, self.device, self.pass_prior = bf16, torch.device(device), pass_prior
        if value_from not in VALUE_SOURCES:
            raise ValueError(f"value_from must be one of {', '.join(VALUE_SOURCES)}, got {value_from!r}")
        if value_from != "head" and not value.ownership:
            raise ValueError(f"value_from {value_from!r} needs a value network with an ownership head")
        self.value_from = value_from
        self.symmetries, self._rng = symmetries, np.random.default_rng(seed)

    def _autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def planes(self, games: Sequence[Game]) -> np.ndarray:
        """The feature planes (N, planes, size, size) uint8 of each game for its colour to move."""
        batch = np.empty((len(games), max(self.policy_planes, self.value_planes), self.size, self.size), np.uint8)
        for row, game in zip(batch, games):
            encode(game, game.to_move, self.features, out=row)
        return batch

    @torch.no_grad()
    def run_networks(self, planes: np.ndarray, candidate_mask: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Move probabilities over the candidates (N, size*size), values (N,) and, where the
        value network's ownership is used, the area the colour to move is expected to have
        over its opponent's (N,; else None): the bare network passes (what
        ``scripts/bench_search.py`` compares the search against)."""
        x = torch.from_numpy(planes).to(self.device).float()
        margins = None
        with self._autocast():
            logits = self.policy(x[:, : self.policy_planes])
            if self.value_from == "head":
                values = self.value(x[:, : self.value_planes])
            else:
                values, owners = self.value(x[:, : self.value_planes], ownership=True)
                margins = owners.float().sum(1).cpu().numpy()
        probs = masked_softmax(logits, torch.from_numpy(candidate_mask).to(self.device))
        return probs.cpu().numpy().astype(np.float64), values.float().clamp(-1, 1).cpu().numpy(), margins

    def _run_under_symmetries(self, planes: np.ndarray, mask: np.ndarray):
        """``run_networks`` with each position under a random symmetry, its policy mapped back."""
        turns = self._rng.integers(len(SYMMETRIES), size=len(planes))
        square = mask.reshape(len(mask), self.size, self.size)
        seen = np.stack([transform(p, int(s)) for p, s in zip(planes, turns)])
        seen_mask = np.stack([transform(m, int(s)) for m, s in zip(square, turns)]).reshape(mask.shape)
        probs, values, margins = self.run_networks(seen, seen_mask)
        square = probs.reshape(len(probs), self.size, self.size)
        probs = np.stack([untransform(p, int(s)) for p, s in zip(square, turns)]).reshape(probs.shape)
        return probs, values, margins

    @property
    def has_ownership(self) -> bool:
        """Whether the value network has an ownership head."""
        return self.value.ownership

    @torch.no_grad()
    def ownership(self, game: Game) -> np.ndarray:
        """The ownership head's expected owner of every point at the end of ``game`` (flat,
        float64 in [-1, 1], > 0 for the colour to move); ValueError without the head."""
        if not self.has_ownership:
            raise ValueError("this value network has no ownership head")
        x = torch.from_numpy(self.planes([game])[:, : self.value_planes]).to(self.device).float()
        with self._autocast():
            owners = self.value(x, ownership=True)[1]
        return owners[0].float().cpu().numpy().astype(np.float64)

    def evaluate(self, games: Sequence[Game]) -> tuple[np.ndarray, np.ndarray]:
        if any(game.size != self.size for game in games):
            raise ValueError(f"these networks play {self.size}x{self.size} only")
        planes = self.planes(games)
        mask = np.stack([candidates(game, game.to_move, row) for game, row in zip(games, planes)])
        if self.symmetries:
            probs, values, margins = self._run_under_symmetries(planes, mask)
        else:
            probs, values, margins = self.run_networks(planes, mask)
        if margins is not None:
            komi = np.array([game.komi if game.to_move != BLACK else -game.komi for game in games])
            scored = np.tanh((margins + komi) / SCORE_SCALE)
            values = scored if self.value_from == "score" else (values + scored) / 2
        priors = np.zeros((len(games), self.size * self.size + 1))
        has_moves = mask.any(axis=1)
        priors[:, :-1] = probs * (1 - self.pass_prior)
        priors[:, -1] = np.where(has_moves, self.pass_prior, 1.0)
        return priors, values
