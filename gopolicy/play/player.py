"""Move choice from a policy network for the GTP engine, one position at a time (no search).

:class:`EnginePlayer` encodes the position's feature planes, runs the network once (bf16
where :func:`gopolicy.nn.hardware.use_bf16` says so) and plays the most probable of its
candidates, or samples them with a temperature. The candidates and the choice among them
follow the rule every player shares (:mod:`gopolicy.play.candidates`: legal, no repeated
position, no own true eye, no stones thrown away). The GTP engine asks it for moves
(``genmove``) and for the probabilities behind its analysis commands (:mod:`gopolicy.gtp.analysis`).

Passing, besides when no candidate is left: when the opponent has just passed and the count
already favours the player, or when it does not but every candidate lies where the game is
settled (a point that one side owns in nearly every random playout): playing on inside settled
territory changes nothing. The count is the area with komi once the dead stones are removed,
both judged by Monte-Carlo ownership (:mod:`gopolicy.go.ownership`); counting every stone as
alive would see a lost game as won, or a won one as lost, wherever dead stones remain.
In clean-up mode (``kgs-genmove_cleanup``, where dead stones must be captured) it never
passes for the second reason, and plays only candidates touching opponent strings that
look capturable (none of their liberties in an area the opponent alone surrounds),
captures first; it passes when there are none.

Resigning happens only with ``resign=True``, when the controller allows it, and when all
of these hold: at least half as many moves as the board has points have been played;
the count has the player behind by more than a third of the board's points;
and the network's best candidate has a probability under 5% (nothing urgent to save).

Board sizes 2 to 25: the network is mapped to other sizes by :mod:`gopolicy.nn.board_size`.

Torch is imported on first use, so that the engine can answer its first commands at once.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from gopolicy.features import encode, get_feature_set
from gopolicy.go.coords import BLACK, MAX_SIZE, MIN_SIZE, Move, opponent
from gopolicy.go.ownership import dead_stones, final_score, ownership
from gopolicy.go.rules import Game
from gopolicy.nn.board_size import resize_network
from gopolicy.nn.hardware import use_bf16
from gopolicy.play.candidates import candidates, choose, greedy, sampler, touching

if TYPE_CHECKING:
    from gopolicy.nn.modelfile import ModelInfo
    from gopolicy.nn.policy import PolicyNetwork

RESIGN = "resign"
RESIGN_AFTER_MOVES = 1 / 2  # of the board's points
RESIGN_BEHIND_BY = 1 / 3  # of the board's points, Tromp-Taylor score with komi
RESIGN_BEST_PRIOR = 0.05


def _neighbours(point: int, size: int) -> list[int]:
    row, col = divmod(point, size)
    return [point + d for d, ok in ((-size, row > 0), (size, row < size - 1), (-1, col > 0), (1, col < size - 1)) if ok]


SETTLED = 0.8  # |ownership| from which a point counts as settled


def lead(game: Game, colour: int, owner: Optional[np.ndarray] = None) -> float:
    """The count (area with komi, the dead stones removed) from ``colour``'s side: > 0 when it is ahead."""
    owner = ownership(game) if owner is None else owner
    score = final_score(game, dead=dead_stones(game, owner=owner))
    return score if colour == BLACK else -score


class EnginePlayer:
    """Chooses moves with a policy network for the GTP engine; see the module's docstring.

    ``temperature``: 0 plays the most probable candidate; T > 0 samples with probabilities
    proportional to p ** (1 / T). ``symmetries``: average the network over the board's 8
    symmetries (8 times the work). ``precision`` ("auto", "bf16", "fp32") and ``device``: as
    resolved by :func:`gopolicy.nn.hardware.use_bf16`; the caller's model is left as it is.
    ``resign``: allow resigning hopeless games. ``seed``: for sampling.
    """

    def __init__(self, model: "PolicyNetwork", info: "ModelInfo", *, temperature: float = 0.0,
                 symmetries: bool = False, precision: str = "auto", device: str = "cpu", resign: bool = False,
                 seed: Optional[int] = None):
        import torch

        if not temperature >= 0 or temperature == float("inf"):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        planes = get_feature_set(info.feature_set).planes
        if model.planes != planes:
            raise ValueError(f"the network reads {model.planes} planes but its feature set "
                             f"{info.feature_set!r} has {planes}")
        self.info = info
        self.temperature, self.symmetries, self.resign = temperature, symmetries, resign
        self.device = torch.device(device)
        self.bf16 = use_bf16(precision, self.device)
        dtype = torch.bfloat16 if self.bf16 else torch.float32
        weight = model.conv1.weight
        if weight.dtype != dtype or weight.device != self.device:
            model = copy.deepcopy(model).to(self.device, dtype)
        self.model = model.eval()
        self._networks = {model.board_size: self.model}
        self._rng = np.random.default_rng(seed)

    @staticmethod
    def can_play(size: int) -> bool:
        """Every board size the rules support."""
        return MIN_SIZE <= size <= MAX_SIZE

    def network(self, size: int) -> "PolicyNetwork":
        """The network for this board size (made once per size, parameters shared)."""
        if size not in self._networks:
            self._networks[size] = resize_network(self.model, size)
        return self._networks[size]

    # -- what the network says -------------------------------------------------------------
    def candidates(self, game: Game, colour: int) -> np.ndarray:
        """Flat bool: the moves the player considers (:func:`gopolicy.play.candidates.candidates`)."""
        return candidates(game, colour)

    def policy(self, game: Game, colour: int) -> np.ndarray:
        """The network's probabilities for ``colour`` to move, over the candidates only
        (float32, flat, summing to 1; all zeros when there is no candidate)."""
        import torch

        planes = encode(game, colour, self.info.feature_set)
        mask = candidates(game, colour, planes)
        if not mask.any():
            return np.zeros(mask.shape, np.float32)
        with torch.inference_mode():
            probs = self.network(game.size).probabilities(torch.from_numpy(planes).unsqueeze(0).to(self.device),
                                                           torch.from_numpy(mask).unsqueeze(0).to(self.device),
                                                           self.symmetries)
        return probs[0].float().cpu().numpy()

    # -- choosing --------------------------------------------------------------------------
    def genmove(self, game: Game, colour: int, seconds: Optional[float] = None, *, allow_resign: bool = True,
                cleanup: bool = False) -> Union[Move, str]:
        """The move for ``colour``: a flat index, None to pass, or ``"resign"``.

        ``seconds`` (the time the controller allows) is not needed: one forward pass is all
        it takes. ``cleanup``: the clean-up phase, in which dead stones must be captured.
        """
        owner = None
        if not cleanup and game.last_move == (opponent(colour), None):
            owner = ownership(game)
            if lead(game, colour, owner) > 0:
                return None
        probs = self.policy(game, colour)
        if owner is not None:  # behind after the opponent's pass: play only where the game is open
            probs = np.where(np.abs(owner) < SETTLED, probs, 0.0)
            if not probs.any():
                return None
        if cleanup:
            probs = self._cleanup_targets(game, colour, probs)
        elif allow_resign and self.resign and self._hopeless(game, colour, probs, owner):
            return RESIGN
        if self.temperature == 0:
            return choose(game, colour, probs, greedy)
        return choose(game, colour, self._tempered(probs), sampler(self._rng))

    def _tempered(self, probs: np.ndarray) -> np.ndarray:
        """Weights proportional to p ** (1 / T), computed in logs (tiny p must not underflow to 0)."""
        weights = np.zeros(probs.shape, np.float64)
        points = np.flatnonzero(probs)
        if len(points):
            logits = np.log(probs[points].astype(np.float64)) / self.temperature
            weights[points] = np.maximum(np.exp(logits - logits.max()), np.finfo(np.float64).tiny)
        return weights

    @staticmethod
    def _hopeless(game: Game, colour: int, probs: np.ndarray, owner: Optional[np.ndarray] = None) -> bool:
        """The resigning rule of the module's docstring; the count (playouts) is asked last, when the cheap tests pass."""
        points = game.size * game.size
        return (game.move_number >= RESIGN_AFTER_MOVES * points and probs.max() < RESIGN_BEST_PRIOR
                and lead(game, colour, owner) < -RESIGN_BEHIND_BY * points)

    @staticmethod
    def _cleanup_targets(game: Game, colour: int, probs: np.ndarray) -> np.ndarray:
        """``probs`` kept on candidates next to capturable opponent strings only, on captures
        only if there are any. A string looks capturable when none of its liberties lies in
        an area that the opponent alone surrounds (an eye or territory of a living group)."""
        size, board, other = game.size, game.board, opponent(colour)
        stones = game.stones()
        owner = np.zeros(size * size, np.int8)
        board.area_score(owner)
        in_their_area = (owner == other) & (stones.reshape(-1) == 0)
        targets, captures = np.zeros_like(probs), np.zeros_like(probs)
        alive: dict[int, bool] = {}  # any point of a string -> looks alive
        for point in np.flatnonzero((probs > 0) & touching(stones, other)):
            for stone in _neighbours(int(point), size):
                if board.colour_at(stone) != other:
                    continue
                if stone not in alive:
                    string = board.string(stone)
                    looks_alive = any(in_their_area[p] for s in string for p in _neighbours(s, size))
                    alive.update(dict.fromkeys(string, looks_alive))
                if not alive[stone]:
                    targets[point] = probs[point] + 1e-9  # tiny probabilities must not vanish
                    if board.liberties(stone) == 1:
                        captures[point] = targets[point]
        return captures if captures.any() else targets


