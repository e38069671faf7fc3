"""Random minibatches from a prepared dataset, straight out of the memory-mapped shards.

Nothing is loaded into memory up front: a batch reads its rows from the
memory-mapped shards (the OS page cache does the caching), so memory stays
flat however large the dataset. Bits are unpacked and one of the 8
symmetries is applied to each position (planes and target alike) on the
device, after a copy of the packed bytes, which is 8x smaller than the planes.

Batches are a pure function of ``(seed, rank, step)`` (a generator seeded from all three),
so training resumes bit-for-bit from a step number, and each distributed rank
draws only from its own contiguous part of the split.
"""
from __future__ import annotations

from typing import Iterator, Optional

import numpy as np
import torch

from gopolicy import _board
from gopolicy.dataset.format import PASS, Dataset, DatasetError, iter_split_rows
from gopolicy.go.coords import BLACK, stored_to_actions
from gopolicy.go.symmetry import SYMMETRIES, flat_permutation, inverse

_UINT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32}


class BatchLoader:
    """Minibatches ``(planes, targets)`` of one split: planes ``(B, C, size, size)`` in ``dtype``,
    targets ``(B,)`` long flat indices, both on ``device``. Positions before a pass are skipped
    unless ``include_passes`` (their target is then ``size * size``)."""

    def __init__(self, dataset: Dataset, split: str = "train", batch_size: int = 256, *, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, augment: bool = True, seed: int = 0, rank: int = 0, world_size: int = 1,
                 include_passes: bool = False):
        self.dataset, self.split, self.batch_size = dataset, split, batch_size
        self.device, self.dtype, self.augment, self.seed, self.rank = torch.device(device), dtype, augment, seed, rank
        self.include_passes = include_passes
        self.size, self.planes = dataset.board_size, dataset.planes
        self.parts = list(iter_split_rows(dataset, split))
        # plain ndarray views of the memory maps, for the compiled row gather
        self.packed_rows = [np.asarray(shard.planes) for shard, _, _ in self.parts]
        self.meta_rows = [np.asarray(shard.meta) for shard, _, _ in self.parts]
        self.offsets = np.cumsum([0] + [stop - start for _, start, stop in self.parts])
        self.starts = np.array([start for _, start, _ in self.parts], np.int64)
        total = int(self.offsets[-1])
        self.low, self.high = total * rank // world_size, total * (rank + 1) // world_size
        if self.high <= self.low:
            raise DatasetError(f"{dataset.path}: split '{split}' has no positions for rank {rank} of {world_size}")
        n = self.size * self.size
        self.perms = torch.stack([flat_permutation(s if augment else 0, self.size) for s in SYMMETRIES]).to(self.device)
        # where bit k = plane * n + point of a packed row lands under each symmetry (the CPU kernel's table)
        if self.planes * n > 1 << 16:
            raise DatasetError(f"{dataset.path}: {self.planes} planes of {n} points are more than the loader handles")
        landing = torch.argsort(self.perms.cpu(), dim=1).numpy()  # (8, n): where each point goes
        self.dest = (np.arange(self.planes)[:, None] * n + landing[:, None, :]).reshape(8, -1).astype(np.uint16)
        self.target_maps = torch.stack([flat_permutation(inverse(s), self.size) for s in SYMMETRIES])
        self.target_maps = torch.cat([self.target_maps, torch.full((8, 1), n)], 1).to(self.device)  # pass stays pass
        self.shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=self.device)

    def __len__(self) -> int:
        """Positions this rank draws from (pass positions included)."""
        return self.high - self.low

    def _rng(self, step: int) -> np.random.Generator:
        """An independent stream per (seed, rank, step). (Philox counters step, step+1 ... would
        give overlapping streams: consecutive batches would share most of their positions.)"""
        return np.random.default_rng([self.seed, self.rank, step])

    def _gather(self, sources: list[np.ndarray], indices: np.ndarray) -> np.ndarray:
        """Rows ``indices`` (split-row numbers) of one array per shard, in one compiled copy."""
        part = np.searchsorted(self.offsets, indices, side="right") - 1
        rows = indices - self.offsets[part] + self.starts[part]
        out = np.empty((len(indices),) + sources[0].shape[1:], sources[0].dtype)
        _board.gather_rows(sources, part, rows, out)
        return out

    def meta(self, indices: np.ndarray) -> np.ndarray:
        """The META_DTYPE rows of split rows ``indices``."""
        return self._gather(self.meta_rows, indices)

    def _moves(self, indices: np.ndarray) -> np.ndarray:
        return self.meta(indices)["move"].astype(np.int64)

    def _planes(self, indices: np.ndarray) -> np.ndarray:
        return self._gather(self.packed_rows, indices)

    def indices(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split-row indices, their moves and the symmetries of batch ``step`` (deterministic)."""
        rng = self._rng(step)
        indices, moves = np.empty(0, np.int64), np.empty(0, np.int64)
        for _ in range(100):
            need = self.batch_size - len(indices)
            draw = rng.integers(self.low, self.high, size=need if self.include_passes else need + need // 16 + 4)
            drawn_moves = self._moves(draw)
            keep = slice(None) if self.include_passes else drawn_moves != PASS
            indices = np.concatenate([indices, draw[keep]])[: self.batch_size]
            moves = np.concatenate([moves, drawn_moves[keep]])[: self.batch_size]
            if len(indices) == self.batch_size:
                break
        else:
            raise DatasetError(f"{self.dataset.path}: split '{self.split}' has (almost) no non-pass positions")
        symmetries = rng.integers(0, 8, size=self.batch_size) if self.augment else np.zeros(self.batch_size, np.int64)
        return indices, moves, symmetries

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step``: the same for the same seed, rank and step."""
        indices, moves, symmetries = self.indices(step)
        return self.to_device(self._planes(indices), moves, symmetries)

    def to_device(self, packed: np.ndarray, moves: np.ndarray, symmetries: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Unpacks and transforms: with the compiled kernel on the CPU, with torch ops on a GPU."""
        b = len(packed)
        sym = torch.from_numpy(symmetries).to(self.device)
        if self.device.type == "cpu":
            planes = self.unpack_cpu(packed, symmetries)
        else:
            host = torch.from_numpy(packed)
            if self.device.type == "cuda":  # a copy from pinned memory runs beside the GPU's work
                host = host.pin_memory()
            planes = self.unpack_torch(host.to(self.device, non_blocking=True), sym)
        targets = torch.from_numpy(stored_to_actions(moves, self.size)).to(self.device)
        return planes.view(b, self.planes, self.size, self.size), self.target_maps[sym, targets]

    def unpack_cpu(self, packed: np.ndarray, symmetries: np.ndarray) -> torch.Tensor:
        planes = torch.empty((len(packed), self.planes, self.size * self.size), dtype=self.dtype)
        as_uint = _UINT_OF_SIZE[planes.element_size()]
        one = torch.ones(1, dtype=self.dtype).view(as_uint).item() & 0xFFFFFFFF
        _board.unpack_planes(packed, symmetries.astype(np.int64), self.dest, planes.view(as_uint).numpy(), one)
        return planes

    def unpack_torch(self, packed: torch.Tensor, symmetries: torch.Tensor) -> torch.Tensor:
        b, n = len(packed), self.size * self.size
        bits = (packed.unsqueeze(-1) >> self.shifts).bitwise_and_(1).view(b, -1)[:, : self.planes * n].view(b, self.planes, n)
        index = self.perms.to(packed.device)[symmetries].unsqueeze(1).expand(b, self.planes, n)
        return torch.gather(bits, 2, index).to(self.dtype)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iterate()

    def iterate(self, start: int = 0, stop: Optional[int] = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        step = start
        while stop is None or step < stop:
            yield self.batch(step)
            step += 1


def sequential_batches(dataset: Dataset, split: str, batch_size: int, *, include_passes: bool = False
                       ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every position of a split in order, in batches of ``(packed, meta, rows)``: for evaluation."""
    for shard, start, stop in iter_split_rows(dataset, split):
        for lo in range(start, stop, batch_size):
            hi = min(lo + batch_size, stop)
            meta = np.asarray(shard.meta[lo:hi])
            keep = slice(None) if include_passes else meta["move"] != PASS
            yield np.asarray(shard.planes[lo:hi])[keep], meta[keep], np.arange(lo, hi)[keep]


# -- value-network batches ------------------------------------------------------------------

VALUE_KOMI = (5.5, 7.5)  # the komi of the games a value network learns from (it has no komi input)
VALUE_FEATURES = {"alphago48": "alphago49"}  # a dataset's planes -> the value network's (+ "player colour")


def value_rows(dataset: Dataset, split: str, positions_per_game: Optional[int], seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """The positions a value network learns from in a split, and their outcomes.

    Only even games (no handicap) with a komi in ``VALUE_KOMI`` and a recorded winner count:
    the network sees neither komi nor handicap, so it learns the value of a position under
    the usual komi. ``positions_per_game`` (None: all) distinct positions are drawn from each
    game, the same ones for the same ``seed``: successive positions of one game are nearly
    the same board with the same outcome, and all of them overfit (Silver et al. 2016).
    Returns split-row numbers (as :class:`BatchLoader` counts them, sorted) and outcomes
    float32 +1/-1 for the colour to move. DatasetError if the dataset has no results."""
    if not dataset.has_results:
        raise DatasetError(f"{dataset.path}: the dataset records no game results (it was prepared before they were "
                           "kept); prepare it again to train or evaluate a value network")
    rows, outcomes, offset = [], [], 0
    rng = np.random.default_rng([seed, 0x5EED])
    for shard, start, stop in iter_split_rows(dataset, split):
        meta = np.asarray(shard.meta[start:stop])
        games = np.asarray(shard.games)
        game = games[np.searchsorted(games["game"], meta["game"])]  # each row's game (ids sorted, checked on opening)
        keep = ((game["winner"] != 0) & (game["handicap"] == 0)
                & (game["komi"] >= VALUE_KOMI[0]) & (game["komi"] <= VALUE_KOMI[1]))
        if positions_per_game is not None:
            order = np.lexsort((rng.random(len(meta)), meta["game"]))  # each game's rows, shuffled, game by game
            ids = meta["game"][order]
            first = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
            rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
            chosen = np.zeros(len(meta), bool)
            chosen[order[rank < positions_per_game]] = True
            keep &= chosen
        index = np.flatnonzero(keep)
        rows.append(index + offset)
        outcomes.append(np.where(meta["colour"][index] == game["winner"][index], 1.0, -1.0).astype(np.float32))
        offset += stop - start
    return np.concatenate(rows) if rows else np.empty(0, np.int64), np.concatenate(outcomes) if outcomes else np.empty(0, np.float32)


class ValueBatchLoader(BatchLoader):
    """Minibatches ``(planes, outcomes)`` for a value network: planes ``(B, C + 1, size, size)``
    (the dataset's planes and "player colour", 1 everywhere when Black is to move), outcomes
    ``(B,)`` float32 +1/-1 for the colour to move, drawn from :func:`value_rows` (the same
    positions for the same seed; batches a pure function of ``(seed, rank, step)``)."""

    def __init__(self, dataset: Dataset, split: str = "train", batch_size: int = 256, *,
                 positions_per_game: Optional[int] = 8, ownership: bool = False, **options):
        super().__init__(dataset, split, batch_size, include_passes=True, **options)
        if ownership and not dataset.has_ownership:
            raise DatasetError(f"{dataset.path}: the dataset records no final ownership; prepare it with --ownership "
                               "to train an ownership head")
        self.with_ownership = ownership
        if dataset.feature_set not in VALUE_FEATURES:
            raise DatasetError(f"{dataset.path}: a value network reads {', '.join(VALUE_FEATURES.values())}, made from "
                               f"{', '.join(VALUE_FEATURES)} datasets; this one is {dataset.feature_set}")
        rows, outcomes = value_rows(dataset, split, positions_per_game, self.seed)
        mine = (rows >= self.low) & (rows < self.high)
        self.rows, self.outcomes = rows[mine], outcomes[mine]
        if not len(self.rows):
            raise DatasetError(f"{dataset.path}: split '{split}' has no positions of even games with a result and komi "
                               f"{VALUE_KOMI[0]} to {VALUE_KOMI[1]} for rank {self.rank}")
        self.input_planes = self.planes + 1  # what the network reads

    def __len__(self) -> int:
        """Distinct positions this rank draws from."""
        return len(self.rows)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        """``(planes, outcomes)``, or with ``ownership`` ``(planes, (outcomes, ownership))``."""
        rng = self._rng(step)
        pick = rng.integers(0, len(self.rows), size=self.batch_size)
        symmetries = rng.integers(0, 8, size=self.batch_size) if self.augment else np.zeros(self.batch_size, np.int64)
        rows, outcomes = self.rows[pick], torch.from_numpy(self.outcomes[pick]).to(self.device)
        planes = self.positions(rows, symmetries)
        if not self.with_ownership:
            return planes, outcomes
        return planes, (outcomes, self.ownership(rows, symmetries))

    def ownership(self, indices: np.ndarray, symmetries: np.ndarray) -> torch.Tensor:
        """float32 (B, size * size): who owns each point at the end of the game of split rows
        ``indices``, +1 the colour to move, -1 its opponent, 0 neither, under ``symmetries``
        as the planes are."""
        part = np.searchsorted(self.offsets, indices, side="right") - 1
        meta = self.meta(indices)
        owners = np.empty((len(indices), self.size * self.size), np.int8)
        for k in np.unique(part):
            mine = part == k
            shard = self.parts[k][0]
            owners[mine] = shard.ownership[np.searchsorted(np.asarray(shard.games["game"]), meta["game"][mine])]
        sign = np.where(meta["colour"] == BLACK, 1, -1).astype(np.float32)
        relative = torch.from_numpy(owners.astype(np.float32) * sign[:, None]).to(self.device)
        index = self.perms[torch.from_numpy(symmetries).to(self.device)]
        return torch.gather(relative, 1, index)

    def positions(self, indices: np.ndarray, symmetries: np.ndarray) -> torch.Tensor:
        """The planes of split rows ``indices`` under ``symmetries``, "player colour" last."""
        planes, _ = self.to_device(self._planes(indices), np.zeros(len(indices), np.int64), symmetries)
        black = torch.from_numpy(self.meta(indices)["colour"] == BLACK).to(self.device)
        colour = black.to(planes.dtype).view(-1, 1, 1, 1).expand(-1, 1, self.size, self.size)
        return torch.cat([planes, colour], 1)
