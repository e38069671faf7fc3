"""Move choice from a policy network, one position at a time (no search).

:class:`PolicyPlayer` encodes the position's feature planes, runs the network once
(bf16 where the CPU computes it natively, else fp32) and plays the most probable of the
moves it allows itself, or samples them with a temperature. The GTP engine asks it for
moves (``genmove``) and for the probabilities behind its analysis commands
(:mod:`gopolicy.gtp.engine`).

Moves it never plays:
  * illegal ones under the game's rules;
  * moves that would repeat an earlier whole-board position (positional superko), even
    when the rules only forbid simple ko: repetitions could make a game endless;
  * filling its own true eye (the "sensibleness" of feature plane 46);
  * a move that leaves two or more of its stones in atari without capturing anything
    (it throws a group away; checked for the move about to be played only).
The first three make the *candidates*, the moves the probabilities are spread over.

Passing: when no candidate is left; when the opponent has just passed and the
Tromp-Taylor score (area, every stone alive, komi included) already favours the player.
In clean-up mode (``kgs-genmove_cleanup``, where dead stones must be captured) it never
passes for the second reason, and plays only candidates touching opponent strings that
look capturable (none of their liberties in an area the opponent alone surrounds),
captures first; it passes when there are none.

Resigning happens only with ``resign=True``, when the controller allows it, and when all
of these hold: at least half as many moves as the board has points have been played;
the Tromp-Taylor score has the player behind by more than a third of the board's points;
and the network's best candidate has a probability under 5% (nothing urgent to save).

Board sizes 2 to 25: the network is convolutional except the per-point bias of its last
layer, which is mapped from the trained size (19) to others by distance from the edges
(:func:`bias_lines`); the convolutions are shared.

Torch is imported on first use, so that the engine can answer its first commands at once.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from gopolicy.go.coords import BLACK, MAX_SIZE, MIN_SIZE, Move, opponent
from gopolicy.features import encode, get_feature_set
from gopolicy.nn.hardware import cpu_has_bf16
from gopolicy.go.rules import Board, Game

if TYPE_CHECKING:
    from gopolicy.nn.modelfile import ModelInfo
    from gopolicy.nn.policy import PolicyNetwork

RESIGN = "resign"
RESIGN_AFTER_MOVES = 1 / 2  # of the board's points
RESIGN_BEHIND_BY = 1 / 3  # of the board's points, Tromp-Taylor score with komi
RESIGN_BEST_PRIOR = 0.05


def bias_lines(size: int, trained: int = 19) -> np.ndarray:
    """For each line (row or column) of a ``size`` board, the line of the ``trained`` board whose
    bias it takes: the one as far from the same edge (line r takes r when r < size / 2, else
    trained - 1 - (size - 1 - r)). Lines farther from both edges than the trained board's centre
    line take the centre line."""
    lines = np.arange(size)
    distance = np.minimum(np.minimum(lines, size - 1 - lines), (trained - 1) // 2)
    return np.where(lines < size / 2, distance, trained - 1 - distance)


def resize_network(model: "PolicyNetwork", size: int) -> "PolicyNetwork":
    """``model`` for a ``size`` x ``size`` board: the same parameters (shared, not copied) but
    the last layer's per-point bias, mapped with :func:`bias_lines`."""
    import torch

    from gopolicy.nn.policy import PolicyNetwork

    if size == model.board_size:
        return model
    state = model.state_dict()
    lines = torch.from_numpy(bias_lines(size, model.board_size))
    state["point_bias.bias"] = state["point_bias.bias"][:, lines][:, :, lines].contiguous()
    with torch.device("meta"):
        resized = PolicyNetwork(model.planes, model.filters, model.layers, size)
    resized.load_state_dict(state, assign=True)
    return resized.eval()


def _four_neighbours(mask: np.ndarray, off_board: bool) -> list[np.ndarray]:
    """For every point of ``mask`` (size, size), its four neighbours' values (``off_board`` off the board)."""
    framed = np.full((mask.shape[0] + 2, mask.shape[1] + 2), off_board)  # np.pad is slow for this
    framed[1:-1, 1:-1] = mask
    return [framed[:-2, 1:-1], framed[2:, 1:-1], framed[1:-1, :-2], framed[1:-1, 2:]]


def _surrounded(stones: np.ndarray, colour: int) -> np.ndarray:
    """Flat bool: points whose on-board neighbours are all ``colour``'s stones (eye candidates)."""
    return np.logical_and.reduce(_four_neighbours(stones == colour, True)).reshape(-1)


def _touching(stones: np.ndarray, colour: int) -> np.ndarray:
    """Flat bool: points next to at least one of ``colour``'s stones."""
    return np.logical_or.reduce(_four_neighbours(stones == colour, False)).reshape(-1)


def _neighbours(point: int, size: int) -> list[int]:
    row, col = divmod(point, size)
    return [point + d for d, ok in ((-size, row > 0), (size, row < size - 1), (-1, col > 0), (1, col < size - 1)) if ok]


def lead(game: Game, colour: int) -> float:
    """The Tromp-Taylor score (komi included) from ``colour``'s side: > 0 when it is ahead."""
    score = game.score()
    return score if colour == BLACK else -score


class PolicyPlayer:
    """Chooses moves with a policy network; see the module's docstring for the rules it follows.

    ``temperature``: 0 plays the most probable candidate; T > 0 samples with probabilities
    proportional to p ** (1 / T). ``symmetries``: average the network over the board's 8
    symmetries (8 times the work). ``bf16``: None = bf16 where the CPU has native bf16
    (:func:`cpu_has_bf16`) and torch has oneDNN; the caller's model is left as it is. ``resign``: allow resigning
    hopeless games. ``seed``: for sampling.
    """

    def __init__(self, model: "PolicyNetwork", info: "ModelInfo", *, temperature: float = 0.0,
                 symmetries: bool = False, bf16: Optional[bool] = None, resign: bool = False,
                 seed: Optional[int] = None):
        import torch

        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        planes = get_feature_set(info.feature_set).planes
        if model.planes != planes:
            raise ValueError(f"the network reads {model.planes} planes but its feature set "
                             f"{info.feature_set!r} has {planes}")
        self.info = info
        self.temperature, self.symmetries, self.resign = temperature, symmetries, resign
        self.bf16 = cpu_has_bf16() and torch.backends.mkldnn.is_available() if bf16 is None else bf16
        dtype = torch.bfloat16 if self.bf16 else torch.float32
        if model.conv1.weight.dtype != dtype:
            model = copy.deepcopy(model).to(dtype)
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

    def gtp_commands(self, engine) -> dict:
        """The analysis commands (Sabaki, GoGui) for a GTP engine playing with this player."""
        from gopolicy.gtp.engine import analysis_commands

        return analysis_commands(engine, lambda: self)

    # -- what the network says -------------------------------------------------------------
    def candidates(self, game: Game, colour: int) -> np.ndarray:
        """Flat bool: the moves the player considers: legal, no repeated position, no own true eye."""
        mask = game.legal_mask(colour, superko=True)
        for point in np.flatnonzero(mask & _surrounded(game.stones(), colour)):
            if game.board.is_true_eye(colour, int(point)):
                mask[point] = False
        return mask

    def policy(self, game: Game, colour: int) -> np.ndarray:
        """The network's probabilities for ``colour`` to move, over the candidates only
        (float32, flat, summing to 1; all zeros when there is no candidate)."""
        import torch

        mask = self.candidates(game, colour)
        if not mask.any():
            return np.zeros(mask.shape, np.float32)
        planes = torch.from_numpy(encode(game, colour, self.info.feature_set)).unsqueeze(0)
        with torch.inference_mode():
            probs = self.network(game.size).probabilities(planes, torch.from_numpy(mask).unsqueeze(0),
                                                           self.symmetries)
        return probs[0].numpy()

    # -- choosing --------------------------------------------------------------------------
    def genmove(self, game: Game, colour: int, seconds: Optional[float] = None, *, allow_resign: bool = True,
                cleanup: bool = False) -> Union[Move, str]:
        """The move for ``colour``: a flat index, None to pass, or ``"resign"``.

        ``seconds`` (the time the controller allows) is not needed: one forward pass is all
        it takes. ``cleanup``: the clean-up phase, in which dead stones must be captured.
        """
        if not cleanup and self._may_pass(game, colour):
            return None
        probs = self.policy(game, colour)
        if cleanup:
            probs = self._cleanup_targets(game, colour, probs)
        elif allow_resign and self.resign and self._hopeless(game, colour, probs):
            return RESIGN
        return self._choose(game.board, colour, probs, game.allow_suicide)

    @staticmethod
    def _may_pass(game: Game, colour: int) -> bool:
        """The opponent has just passed and the score already favours ``colour``."""
        return game.last_move == (opponent(colour), None) and lead(game, colour) > 0

    @staticmethod
    def _hopeless(game: Game, colour: int, probs: np.ndarray) -> bool:
        points = game.size * game.size
        return (game.move_number >= RESIGN_AFTER_MOVES * points and lead(game, colour) < -RESIGN_BEHIND_BY * points
                and probs.max() < RESIGN_BEST_PRIOR)

    def _choose(self, board: Board, colour: int, probs: np.ndarray, allow_suicide: bool) -> Move:
        """The most probable move (or a sample) that does not throw stones away; None if none is left."""
        probs = probs.astype(np.float64)
        while probs.any():
            move = self._pick(probs)
            if not throws_stones_away(board, colour, move, allow_suicide):
                return move
            probs[move] = 0.0
        return None

    def _pick(self, probs: np.ndarray) -> int:
        if self.temperature == 0:
            return int(np.argmax(probs))
        points = np.flatnonzero(probs)
        logits = np.log(probs[points]) / self.temperature
        weights = np.exp(logits - logits.max())
        return int(self._rng.choice(points, p=weights / weights.sum()))

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
        for point in np.flatnonzero((probs > 0) & _touching(stones, other)):
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


def throws_stones_away(board: Board, colour: int, move: int, allow_suicide: bool = False) -> bool:
    """Whether ``move`` captures nothing and leaves a string of 2+ of ``colour``'s stones in
    atari (or removes its own stones: suicide)."""
    after = board.copy()
    captured = after.play(colour, move, allow_suicide)
    if after.colour_at(move) != colour:
        return True
    return captured == 0 and after.liberties(move) == 1 and len(after.string(move)) >= 2
