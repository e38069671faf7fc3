"""Many games at once: one network forward per move for all the games a player is to move in.

A *player* chooses moves for a batch of positions (:class:`BatchPlayer` samples from a
policy network, :class:`RandomPlayer` plays uniformly). :func:`play_games` plays N games
in lockstep, each with its own (black, white) pair of players, and returns every game's
moves and result plus, for the players asked to record, the positions they decided:
feature planes (bit-packed as in a dataset's shards, :func:`gopolicy.dataset.format.pack_planes`),
the moves they chose from and the move chosen.

Players choose among the *candidates* and avoid throwing stones away, by the rule the GTP
engine plays by (:mod:`gopolicy.play.candidates`). The policy network has no pass output,
so a player passes exactly when no candidate is left; two passes in a row end the game,
which is scored by Tromp-Taylor area with komi (:meth:`Game.score`). A game still going at
``max_moves`` (default 2 * size * size, passes included) is stopped and scored as it stands.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Collection, Optional, Protocol, Sequence, Union

import numpy as np
import torch

from gopolicy.dataset.format import pack_planes, unpack_rows
from gopolicy.features import FEATURE_SETS, encode, get_feature_set
from gopolicy.go.coords import BLACK, WHITE, Move
from gopolicy.go.rules import Game
from gopolicy.nn.hardware import use_bf16
from gopolicy.nn.modelfile import load_model
from gopolicy.nn.policy import PolicyNetwork, masked_softmax
from gopolicy.play.candidates import Pick, candidates, choose, greedy, sampler


def choose_rows(games: Sequence[Game], colours: Sequence[int], weights: np.ndarray, pick: Pick) -> list[Move]:
    """One move per game by the shared rule (:func:`gopolicy.play.candidates.choose`) from its row of ``weights``."""
    return [choose(game, colour, row, pick) for game, colour, row in zip(games, colours, weights)]


class Player(Protocol):
    """Chooses moves for a batch of positions."""

    name: str

    def choose(self, games: Sequence[Game], colours: Sequence[int],
               rng: np.random.Generator) -> tuple[list[Move], Optional[np.ndarray], np.ndarray]:
        """(moves, planes (B, planes, size, size) uint8 or None, candidate masks (B, size*size) bool)."""


class RandomPlayer:
    """Uniformly random among the candidates; passes when there is none."""

    def __init__(self, name: str = "random"):
        self.name = name

    def choose(self, games: Sequence[Game], colours: Sequence[int],
               rng: np.random.Generator) -> tuple[list[Move], None, np.ndarray]:
        masks = np.stack([candidates(game, colour) for game, colour in zip(games, colours)])
        return choose_rows(games, colours, masks.astype(np.float64), sampler(rng)), None, masks


class BatchPlayer:
    """Samples moves for a batch of positions from a policy network's probabilities over the candidates.

    ``temperature`` T: probabilities proportional to p ** (1 / T), i.e. softmax(logits / T);
    T = 1 is the network's own distribution, T = 0 always plays its most likely move.
    The network is called under ``torch.no_grad`` and not put into eval or train mode, in bf16
    autocast where ``precision`` resolves to bf16 on the network's device
    (:func:`gopolicy.nn.hardware.use_bf16`; "auto": where it computes bf16 natively, 3-4x
    faster on such a CPU) and its weights are fp32.
    """

    def __init__(self, model: PolicyNetwork, feature_set: str, temperature: float = 1.0,
                 name: str = "policy", precision: str = "auto"):
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        self.features = get_feature_set(feature_set)
        if self.features.planes != model.planes:
            raise ValueError(f"feature set {self.features.name} has {self.features.planes} planes "
                             f"but the network reads {model.planes}")
        self.model, self.temperature, self.name = model, float(temperature), name
        self.device = next(model.parameters()).device
        self.bf16 = use_bf16(precision, self.device)

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike], temperature: float = 1.0,
                  name: Optional[str] = None, precision: str = "auto") -> "BatchPlayer":
        """A player for the model file at ``path`` (ModelFileError, naming it, if unusable)."""
        model, info = load_model(path)
        return cls(model.float(), info.feature_set, temperature, name or os.path.basename(path), precision)

    @classmethod
    def for_network(cls, model: PolicyNetwork, temperature: float = 1.0, name: str = "policy") -> "BatchPlayer":
        """A player for a bare network, its feature set told by its number of input planes."""
        matching = [fs.name for fs in FEATURE_SETS.values() if fs.planes == model.planes]
        if len(matching) != 1:
            raise ValueError(f"no single feature set has {model.planes} planes; give it explicitly")
        return cls(model, matching[0], temperature, name)

    @torch.no_grad()
    def choose(self, games: Sequence[Game], colours: Sequence[int],
               rng: np.random.Generator) -> tuple[list[Move], np.ndarray, np.ndarray]:
        planes = np.stack([encode(game, colour, self.features) for game, colour in zip(games, colours)])
        masks = np.stack([candidates(game, colour, p) for game, colour, p in zip(games, colours, planes)])
        weight = next(self.model.parameters())
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16):
            logits = self.model(torch.from_numpy(planes).to(self.device, weight.dtype)).float().cpu()
        legal = torch.from_numpy(masks)
        if self.temperature == 0:
            return choose_rows(games, colours, masked_softmax(logits, legal).numpy(), greedy), planes, masks
        probs = masked_softmax(logits / self.temperature, legal).numpy()
        return choose_rows(games, colours, probs, sampler(rng)), planes, masks


@dataclass
class PlayedGame:
    """One finished game. ``winner``: BLACK, WHITE or 0 for a draw; ``stopped``: it reached
    the move cap and was scored as it stood. The decision arrays hold the positions where
    a recorded player chose a point (forced passes are not decisions): ``packed_planes``
    (n, packed bytes) from :func:`gopolicy.dataset.format.pack_planes` of ``plane_count``
    planes, ``masks`` (n, size*size) the candidates it chose among, ``actions`` (n,) the flat
    points chosen, ``colours`` (n,)."""

    size: int
    komi: float
    black: str
    white: str
    moves: list[tuple[int, Move]]
    score: float
    winner: int
    stopped: bool
    plane_count: int
    packed_planes: np.ndarray = field(repr=False)
    masks: np.ndarray = field(repr=False)
    actions: np.ndarray = field(repr=False)
    colours: np.ndarray = field(repr=False)

    def planes(self) -> np.ndarray:
        """The recorded decisions' feature planes, uint8 (n, planes, size, size)."""
        return unpack_rows(self.packed_planes, self.plane_count, self.size)

    def outcome(self, colour: int) -> int:
        """+1 if ``colour`` won, -1 if it lost, 0 for a draw."""
        return 0 if self.winner == 0 else (1 if self.winner == colour else -1)


class _Recorder:
    """Collects one game's recorded decisions."""

    def __init__(self):
        self.planes: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        self.actions: list[int] = []
        self.colours: list[int] = []
        self.plane_count = 0

    def add(self, planes: np.ndarray, mask: np.ndarray, action: int, colour: int) -> None:
        self.planes.append(pack_planes(planes[None])[0])
        self.plane_count = len(planes)
        self.masks.append(mask)
        self.actions.append(action)
        self.colours.append(colour)

    def finish(self, game: Game, black: str, white: str, stopped: bool) -> PlayedGame:
        score = game.score()
        points = game.size * game.size
        empty = not self.actions
        return PlayedGame(
            size=game.size, komi=game.komi, black=black, white=white, moves=list(game.history), score=score,
            winner=BLACK if score > 0 else WHITE if score < 0 else 0, stopped=stopped,
            plane_count=self.plane_count, packed_planes=np.zeros((0, 0), np.uint8) if empty else np.stack(self.planes),
            masks=np.zeros((0, points), bool) if empty else np.stack(self.masks),
            actions=np.asarray(self.actions, np.int64), colours=np.asarray(self.colours, np.int8))


def play_games(seats: Sequence[tuple[Player, Player]], size: int = 19, komi: float = 7.5,
               max_moves: Optional[int] = None, rng: Optional[np.random.Generator] = None,
               record: Collection[Player] = (), progress: Optional[object] = None) -> list[PlayedGame]:
    """Plays one game per (black, white) pair in ``seats``, all at once: at every step each
    player gets one call for all the unfinished games in which it is to move. Decisions of
    the players in ``record`` are kept (a player without planes records nothing).
    ``progress``: an object with ``update(n)`` (e.g. tqdm), told of each finished game."""
    rng = rng if rng is not None else np.random.default_rng()
    max_moves = 2 * size * size if max_moves is None else max_moves
    if max_moves < 1:
        raise ValueError(f"max_moves must be >= 1, got {max_moves}")
    recorded = {id(player) for player in record}
    games = [Game(size, komi, undoable=False) for _ in seats]  # no board copy per move
    recorders = [_Recorder() for _ in seats]
    results: list[Optional[PlayedGame]] = [None] * len(seats)
    active = list(range(len(seats)))
    while active:
        turns: dict[int, tuple[Player, list[int]]] = {}
        for i in active:
            player = seats[i][0 if games[i].to_move == BLACK else 1]
            turns.setdefault(id(player), (player, []))[1].append(i)
        for player, indices in turns.values():
            colours = [games[i].to_move for i in indices]
            moves, planes, masks = player.choose([games[i] for i in indices], colours, rng)
            for k, (i, colour, move) in enumerate(zip(indices, colours, moves)):
                if move is not None and planes is not None and id(player) in recorded:
                    recorders[i].add(planes[k], masks[k], move, colour)
                games[i].play(colour, move)
        still = []
        for i in active:
            if games[i].is_over or games[i].move_number >= max_moves:
                black, white = seats[i]
                results[i] = recorders[i].finish(games[i], black.name, white.name, stopped=not games[i].is_over)
                if progress is not None:
                    progress.update(1)
            else:
                still.append(i)
        active = still
    return results  # type: ignore[return-value]


def alternating_seats(first: Player, second: Player, games: int) -> list[tuple[Player, Player]]:
    """``games`` seatings with colours alternated: ``first`` is Black in the even-numbered games."""
    return [(first, second) if i % 2 == 0 else (second, first) for i in range(games)]
