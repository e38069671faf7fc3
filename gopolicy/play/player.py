"""Move choice for the GTP engine, one position at a time: the raw policy network, or AlphaGo's
search (:mod:`gopolicy.play.search`) when a value network is loaded.

Without a value network (or with ``playouts=0``), :class:`EnginePlayer` encodes the
position's feature planes, runs the policy network once (bf16 where
:func:`gopolicy.nn.hardware.use_bf16` says so) and plays the most probable of its
candidates, or samples them with a temperature. The candidates and the choice among them
follow the rule every player shares (:mod:`gopolicy.play.candidates`: legal, no repeated
position, no own true eye, no stones thrown away). The GTP engine asks it for moves
(``genmove``) and for the probabilities behind its analysis commands (:mod:`gopolicy.gtp.analysis`).

With a value network it searches (PUCT over both networks, :class:`~gopolicy.play.evaluator.NetworkEvaluator`,
both in the same precision) for ``playouts`` playouts and/or ``seconds`` a move (one second
when neither is given), never longer than the controller's clock allows, and plays the most
visited move (sampled by visits ** (1/T) with a temperature) that the shared rule allows.
The tree is kept between moves (:meth:`Search.advance`; the opponent's reply is followed
down it) and rebuilt for any other position (undo, loadsgf, a new game). The value network
has one board size (its dense layer): other sizes, a clock too short to search
(``MIN_SEARCH_SECONDS``) and the clean-up phase use the raw policy.

Passing, besides when no candidate is left: when the opponent has just passed and the count
already favours the player, or when it does not but every candidate lies where the game is
settled (a point that one side owns in nearly every random playout): playing on inside settled
territory changes nothing. The same holds without the opponent's pass once half as many moves
as the board has points are played (``GAME_OVER_AFTER``): then the player passes first when
every candidate lies where the game is settled and no string on the board is in atari, so that
a finished game ends instead of being played on inside the territories. The count is the area
with komi once the dead stones are removed, both judged by Monte-Carlo ownership
(:mod:`gopolicy.go.ownership`); counting every stone as alive would see a lost game as won, or
a won one as lost, wherever dead stones remain.
A searching player also passes when the search visited a pass more than any other move and
found its win rate no worse than the most visited point's.
In clean-up mode (``kgs-genmove_cleanup``, where dead stones must be captured) it never
passes for the second reason, and plays only candidates touching opponent strings that
look capturable (none of their liberties in an area the opponent alone surrounds),
captures first; it passes when there are none.

Resigning happens only when the controller allows it. Searching, with ``resign_below`` =
W > 0: when the search's win rate for the player is below W (the paper's threshold: a
value of -0.8, W = 0.1), after at least ``RESIGN_MIN_VISITS`` playouts and a quarter as
many moves as the board has points. Without a search, with ``resign=True``, when all of
these hold: at least half as many moves as the board has points have been played; the
count has the player behind by more than a third of the board's points; and the network's
best candidate has a probability under 5% (nothing urgent to save).

Board sizes 2 to 25: the policy network is mapped to other sizes by :mod:`gopolicy.nn.board_size`.

Torch is imported on first use, so that the engine can answer its first commands at once.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Callable, Optional, Union

import numpy as np

from gopolicy.features import encode, get_feature_set
from gopolicy.go.coords import BLACK, MAX_SIZE, MIN_SIZE, Move, neighbours, opponent
from gopolicy.go.ownership import dead_stones, final_score, ownership
from gopolicy.go.rules import Game
from gopolicy.nn.board_size import resize_network
from gopolicy.nn.hardware import use_bf16
from gopolicy.play.candidates import candidates, choose, greedy, sampler, touching
from gopolicy.play.search import MoveStats, Search, SearchResult

if TYPE_CHECKING:
    from gopolicy.nn.modelfile import ModelInfo
    from gopolicy.nn.policy import PolicyNetwork
    from gopolicy.nn.value import ValueNetwork

RESIGN = "resign"
RESIGN_AFTER_MOVES = 1 / 2  # of the board's points
RESIGN_BEHIND_BY = 1 / 3  # of the board's points, Tromp-Taylor score with komi
RESIGN_BEST_PRIOR = 0.05
SEARCH_RESIGN_AFTER_MOVES = 1 / 4  # of the board's points
RESIGN_MIN_VISITS = 32  # a searching player resigns only on a search of at least this many playouts
DEFAULT_SECONDS = 1.0  # a search's time a move when neither playouts nor seconds are given
MIN_SEARCH_SECONDS = 0.05  # with less time than this the raw policy plays (about one batch of leaves)
BATCH_SIZE = 8  # leaves per network pass in the search


SETTLED = 0.8  # |ownership| from which a point counts as settled
GAME_OVER_AFTER = 1 / 2  # of the board's points: from this move on, a player with nothing left to play for passes


def lead(game: Game, colour: int, owner: Optional[np.ndarray] = None) -> float:
    """The count (area with komi, the dead stones removed) from ``colour``'s side: > 0 when it is ahead."""
    owner = ownership(game) if owner is None else owner
    score = final_score(game, dead=dead_stones(game, owner=owner))
    return score if colour == BLACK else -score


class EnginePlayer:
    """Chooses moves with a policy network, and a value network's search, for the GTP engine;
    see the module's docstring.

    ``temperature``: 0 plays the best candidate (most probable, or most visited); T > 0
    samples with weights proportional to p ** (1 / T) (visits ** (1 / T) when searching).
    ``sample_moves``: the game's first N moves are sampled at temperature 1 (or ``temperature``
    if higher), so that matches between deterministic players differ from game to game.
    ``symmetries``: average the raw policy over the board's 8 symmetries (8 times the work);
    searching, show each evaluated position under a random one of them instead. ``precision`` ("auto", "bf16", "fp32") and ``device``: as
    resolved by :func:`gopolicy.nn.hardware.use_bf16`, for both networks; the caller's
    models are left as they are. ``resign``: allow resigning hopeless games without a search.
    ``seed``: for sampling.

    Search: ``value`` (a value network) and ``value_info`` (its model-file info) turn it on;
    ``playouts`` (None: no limit, 0: no search) and ``seconds`` (None: no limit) bound it a
    move, one second when both are None; ``resign_below``: the win rate below which it
    resigns (0: never); ``batch_size``: leaves per network pass; ``value_from``: where the
    search's values come from (:data:`gopolicy.play.search.VALUE_SOURCES`).
    """

    def __init__(self, model: "PolicyNetwork", info: "ModelInfo", *, temperature: float = 0.0,
                 symmetries: bool = False, precision: str = "auto", device: str = "cpu", resign: bool = False,
                 seed: Optional[int] = None, value: Optional["ValueNetwork"] = None,
                 value_info: Optional["ModelInfo"] = None, playouts: Optional[int] = None,
                 seconds: Optional[float] = None, resign_below: float = 0.0, batch_size: int = BATCH_SIZE,
                 value_from: str = "head", sample_moves: int = 0):
        import torch

        if not temperature >= 0 or temperature == float("inf"):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        if playouts is not None and playouts < 0 or seconds is not None and not seconds > 0:
            raise ValueError("playouts must be >= 0 and seconds > 0")
        if not isinstance(sample_moves, int) or sample_moves < 0:
            raise ValueError(f"sample_moves must be an int >= 0, got {sample_moves!r}")
        if not 0 <= resign_below < 1:
            raise ValueError(f"resign_below must be a win rate in [0, 1), got {resign_below!r}")
        planes = get_feature_set(info.feature_set).planes
        if model.planes != planes:
            raise ValueError(f"the network reads {model.planes} planes but its feature set "
                             f"{info.feature_set!r} has {planes}")
        self.info = info
        self.temperature, self.symmetries, self.resign = temperature, symmetries, resign
        self.sample_moves = sample_moves
        self.device = torch.device(device)
        self.bf16 = use_bf16(precision, self.device)
        self.model = self._placed(model)
        self._networks = {model.board_size: self.model}
        self._rng = np.random.default_rng(seed)
        self.search: Optional[Search] = None
        self.playouts, self.seconds, self.resign_below = playouts, seconds, resign_below
        if value is not None and playouts != 0:
            from gopolicy.play.evaluator import NetworkEvaluator

            if value_info is None:
                raise ValueError("a value network needs its model-file info (its feature set)")
            evaluator = NetworkEvaluator(self.network(value.board_size), info.feature_set, self._placed(value),
                                         value_info.feature_set, bf16=self.bf16, device=self.device,
                                         value_from=value_from, symmetries=symmetries, seed=seed)
            self.search = Search(evaluator, batch_size=batch_size)
            if playouts is None and seconds is None:
                self.seconds = DEFAULT_SECONDS

    def _placed(self, network):
        """``network`` on the player's device in its precision (a copy if it must change)."""
        import torch

        dtype = torch.bfloat16 if self.bf16 else torch.float32
        weight = network.conv1.weight
        if weight.dtype != dtype or weight.device != self.device:
            network = copy.deepcopy(network).to(self.device, dtype)
        return network.eval()

    @staticmethod
    def can_play(size: int) -> bool:
        """Every board size the rules support."""
        return MIN_SIZE <= size <= MAX_SIZE

    def searches(self, size: int) -> bool:
        """Whether moves on a ``size`` board come from the search (a value network for that size is loaded)."""
        return self.search is not None and self.search.evaluator.size == size

    def network_ownership(self, game: Game, colour: int) -> Optional[np.ndarray]:
        """The value network's ownership head for ``colour`` to move in ``game``, as Black's
        (flat, in [-1, 1], > 0 Black's); None where the search has no such head for this size."""
        if not self.searches(game.size) or not self.search.evaluator.has_ownership:
            return None
        owners = self.search.evaluator.ownership(_with_to_move(game, colour))
        return owners if colour == BLACK else -owners

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

    # -- what the search says --------------------------------------------------------------
    def ponder(self, game: Game, colour: int, seconds: Optional[float] = None, stop: Optional[Callable[[], bool]] = None,
               playouts: Optional[int] = None) -> SearchResult:
        """Searches on from ``game`` with ``colour`` to move (the engine's tree, kept for the
        next genmove) for ``seconds`` and/or ``playouts`` (both None: none, only the result);
        needs :meth:`searches` for this size."""
        if not self.searches(game.size):
            raise ValueError(f"no value network for {game.size}x{game.size}")
        position = _with_to_move(game, colour)
        if seconds is None and playouts is None:
            playouts = 0
        return self.search.run(position, playouts=playouts, seconds=seconds, stop=stop)

    # -- choosing --------------------------------------------------------------------------
    def genmove(self, game: Game, colour: int, seconds: Optional[float] = None, *, allow_resign: bool = True,
                cleanup: bool = False, report: Optional[Callable[[SearchResult], None]] = None,
                interval: float = 1.0) -> Union[Move, str]:
        """The move for ``colour``: a flat index, None to pass, or ``"resign"``.

        ``seconds``: the most the controller's clock allows (None: untimed); the raw policy
        needs one forward pass, the search takes the least of this and its own limits.
        ``cleanup``: the clean-up phase, in which dead stones must be captured. ``report``:
        called with the search so far every ``interval`` seconds while searching, and at its end.
        """
        owner = None
        if not cleanup and game.last_move == (opponent(colour), None):
            owner = ownership(game)
            if lead(game, colour, owner) > 0:
                return None
        elif not cleanup and game.move_number >= GAME_OVER_AFTER * game.size * game.size \
                and self._nothing_left(game, colour):
            return None
        budget = min((s for s in (seconds, self.seconds) if s is not None), default=None)
        if not cleanup and self.searches(game.size) and (budget is None or budget >= MIN_SEARCH_SECONDS):
            return self._searched_move(game, colour, budget, owner, allow_resign, report, interval)
        probs = self.policy(game, colour)
        if owner is not None:  # behind after the opponent's pass: play only where the game is open
            probs = np.where(np.abs(owner) < SETTLED, probs, 0.0)
            if not probs.any():
                return None
        if cleanup:
            probs = self._cleanup_targets(game, colour, probs)
        elif allow_resign and self.resign and self._hopeless(game, colour, probs, owner):
            return RESIGN
        temperature = self._temperature(game)
        if temperature == 0:
            return choose(game, colour, probs, greedy)
        return choose(game, colour, self._tempered(probs, temperature), sampler(self._rng))

    def _searched_move(self, game: Game, colour: int, seconds: Optional[float], owner: Optional[np.ndarray],
                       allow_resign: bool, report: Optional[Callable[[SearchResult], None]],
                       interval: float) -> Union[Move, str]:
        """The search's move (see the module's docstring); the tree advances by it."""
        position = _with_to_move(game, colour)
        result = self._search(position, seconds, report, interval)
        if allow_resign and self._lost(position, result):
            return RESIGN
        weights = np.zeros(game.size * game.size)  # visits first, the prior breaking ties and ordering the unvisited
        passing = best = None
        for stats in result.moves:
            if stats.move is None:
                passing = stats
            else:
                weights[stats.move] = stats.visits + 1e-3 * stats.prior
                best = stats if best is None or stats.visits > best.visits else best
        move = None
        if not _prefers_pass(passing, best):
            if owner is not None:  # behind after the opponent's pass: play only where the game is open
                weights = np.where(np.abs(owner) < SETTLED, weights, 0.0)
            temperature = self._temperature(game)
            if temperature == 0:
                move = choose(position, colour, weights, greedy)
            else:
                move = choose(position, colour, self._tempered(weights / max(weights.sum(), 1e-12), temperature),
                              sampler(self._rng))
        self.search.advance(position, move)
        return move

    def _search(self, position: Game, seconds: Optional[float], report: Optional[Callable[[SearchResult], None]],
                interval: float) -> SearchResult:
        """One move's search, in chunks of ``interval`` seconds when it reports as it goes."""
        if report is None:
            return self.search.run(position, playouts=self.playouts, seconds=seconds)
        start, done = self.search.clock(), 0
        while True:
            left = None if seconds is None else seconds - (self.search.clock() - start)
            more = None if self.playouts is None else self.playouts - done
            chunk = interval if left is None else min(interval, left)
            result = self.search.run(position, playouts=more, seconds=chunk)
            done += result.playouts
            report(result)
            if (more is not None and done >= self.playouts) or (left is not None and left <= interval) \
                    or not result.playouts:
                return result

    def _lost(self, game: Game, result: SearchResult) -> bool:
        """The searching player's resigning rule (module docstring)."""
        return (self.resign_below > 0 and result.visits >= RESIGN_MIN_VISITS
                and game.move_number >= SEARCH_RESIGN_AFTER_MOVES * game.size * game.size
                and result.winrate < self.resign_below)

    def _temperature(self, game: Game) -> float:
        """The temperature of this move: 1 for the game's first ``sample_moves`` moves (unless
        a higher one is set), else the player's."""
        return max(self.temperature, 1.0) if game.move_number < self.sample_moves else self.temperature

    @staticmethod
    def _tempered(probs: np.ndarray, temperature: float) -> np.ndarray:
        """Weights proportional to p ** (1 / T), computed in logs (tiny p must not underflow to 0)."""
        weights = np.zeros(probs.shape, np.float64)
        points = np.flatnonzero(probs)
        if len(points):
            logits = np.log(probs[points].astype(np.float64)) / temperature
            weights[points] = np.maximum(np.exp(logits - logits.max()), np.finfo(np.float64).tiny)
        return weights

    def _nothing_left(self, game: Game, colour: int) -> bool:
        """Whether the game is over for ``colour``: no string on the board is in atari (a threat
        to answer, or stones to take) and every candidate lies where the game is settled (the
        playouts asked last, when the cheap test passes)."""
        stones = np.flatnonzero(game.stones().reshape(-1))
        if any(game.board.liberties(int(p)) == 1 for p in stones):
            return False
        return not (self.candidates(game, colour) & (np.abs(ownership(game)) < SETTLED)).any()

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
            for stone in neighbours(int(point), size):
                if board.colour_at(stone) != other:
                    continue
                if stone not in alive:
                    string = board.string(stone)
                    looks_alive = any(in_their_area[p] for s in string for p in neighbours(s, size))
                    alive.update(dict.fromkeys(string, looks_alive))
                if not alive[stone]:
                    targets[point] = probs[point] + 1e-9  # tiny probabilities must not vanish
                    if board.liberties(stone) == 1:
                        captures[point] = targets[point]
        return captures if captures.any() else targets




def _prefers_pass(passing: Optional[MoveStats], best: Optional[MoveStats]) -> bool:
    """Whether the search's pass beats its best point: more visits, and a win rate at least as high."""
    if passing is None or best is None:
        return best is None
    return passing.visits > best.visits and passing.winrate >= best.winrate


def _with_to_move(game: Game, colour: int) -> Game:
    """``game`` itself if ``colour`` is to move, else a copy in which it is (GTP lets either colour move)."""
    if game.to_move == colour:
        return game
    position = game.copy(undoable=False)
    position.to_move = colour
    return position
