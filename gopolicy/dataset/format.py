"""The on-disk format of a prepared dataset, and reading it back safely.

A dataset is a directory::

    manifest.json          what the loader reads: feature set, shards, counts, splits
    journal.jsonl          one line per committed shard: what prepare did (for resume)
    shards/shard-NNNNNN.planes.npy   uint8 (rows, packed_bytes): bit-packed planes
    shards/shard-NNNNNN.meta.npy     META_DTYPE (rows,): target move, game, move number, colour
    shards/shard-NNNNNN.games.npy    GAMES_DTYPE (games,): each game's winner, komi and handicap
                                     (value-network targets; absent in datasets made before it, which still load)
    shards/shard-NNNNNN.ownership.npy  int8 (games, 361), only with ``prepare --ownership``: who owns
                                     each point at the end of each game (+1 Black, -1 White, 0 neither)

Each shard holds whole games, its rows sorted by split (train, then
validation, then test); the manifest gives each split's row range and each
file's size and CRC-32. Planes are ``np.packbits`` of the (planes, 19, 19)
array flattened in C order (``planes * 361 / 8`` bytes: 2,166 for 48 planes).
A row whose move is ``PASS`` is a position before a pass: kept, but not a
policy target by default.

Shards are written to a temporary name and renamed (:mod:`gopolicy.util.files`), so a
shard either exists whole or not at all. What is checked when:

* **opening** (every command that reads a dataset): the manifest; every shard file's
  size against it (truncation) and its ``.npy`` header (shape, dtype); every stored
  number of ``meta`` in range (move a point of the board or ``PASS``, colour black or
  white, game >= 0, move number >= 1) and every split range inside its shard; the games
  file's rows (one per game of the shard, winners black, white or 0); the ownership file's
  shape. This reads the meta and games files (9 bytes a position, 10 a game), not the
  planes or the owners.
* ``verify()`` (``gopolicy prepare --verify --out DATASET``): the CRC-32 of every file,
  which also catches flipped bits in the planes, which opening cannot see.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from gopolicy.errors import GopolicyError
from gopolicy.go.coords import BLACK, PASS, WHITE
from gopolicy.util.files import append_jsonl as append_journal  # noqa: F401  (one journal line per commit)
from gopolicy.util.files import read_jsonl as read_journal  # noqa: F401  (a torn last line is skipped)
from gopolicy.util.files import write_atomic
from gopolicy.util.progress import progress as progress_bar

FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")
GAMES_DTYPE = np.dtype([("game", "<i4"), ("winner", "u1"), ("komi", "<f4"), ("handicap", "u1")])  # one row a game
META_DTYPE = np.dtype([("move", "<i2"), ("game", "<i4"), ("move_number", "<i2"), ("colour", "u1")])


class DatasetError(GopolicyError):
    """A dataset directory that is missing, incomplete, truncated or corrupt."""


def packed_bytes(planes: int, size: int = 19) -> int:
    """Bytes of one position's bit-packed planes."""
    return (planes * size * size + 7) // 8


def file_crc32(path: Path, chunk: int = 1 << 22) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            crc = zlib.crc32(block, crc)
    return crc


def write_npy(path: Path, array: np.ndarray) -> dict:
    """Writes ``array`` as .npy atomically; returns {'bytes', 'crc32'} for the manifest."""
    write_atomic(path, lambda f: np.save(f, array, allow_pickle=False))
    return {"bytes": path.stat().st_size, "crc32": file_crc32(path)}


@dataclass
class Shard:
    """One shard as the loader sees it: memory-mapped arrays and its split row ranges."""

    name: str
    planes: np.ndarray  # uint8 (rows, packed_bytes), memory-mapped
    meta: np.ndarray  # META_DTYPE (rows,), memory-mapped
    splits: dict[str, tuple[int, int]]
    games: Optional[np.ndarray] = None  # GAMES_DTYPE, one row per game; None in datasets made before results were kept
    ownership: Optional[np.ndarray] = None  # int8 (games, size * size), the rows of ``games``; None unless prepared with it


def _open_npy(path: Path, entry: dict) -> np.ndarray:
    if not path.exists():
        raise DatasetError(f"{path}: shard file is missing")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise DatasetError(f"{path}: shard file is {size} bytes, the manifest says {entry['bytes']} (truncated or overwritten)")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise DatasetError(f"{path}: unreadable shard: {e}") from None


class Dataset:
    """A prepared dataset opened read-only. ``Dataset(path)`` checks the manifest and file sizes."""

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise DatasetError(f"{self.path}: not a prepared dataset (no manifest.json); run 'gopolicy prepare'") from None
        except (OSError, ValueError) as e:
            raise DatasetError(f"{manifest_path}: unreadable manifest: {e}") from None
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise DatasetError(f"{manifest_path}: format version {self.manifest.get('format_version')}, expected {FORMAT_VERSION}")
        self.feature_set: str = self.manifest["feature_set"]
        self.planes: int = self.manifest["planes"]
        self.board_size: int = self.manifest["board_size"]
        self.shards = [self._open_shard(entry) for entry in self.manifest["shards"]]

    def _open_shard(self, entry: dict) -> Shard:
        base = self.path / "shards" / entry["name"]
        planes = _open_npy(base.with_name(base.name + ".planes.npy"), entry["planes"])
        meta = _open_npy(base.with_name(base.name + ".meta.npy"), entry["meta"])
        width = packed_bytes(self.planes, self.board_size)
        if planes.shape != (entry["rows"], width) or meta.shape != (entry["rows"],) or meta.dtype != META_DTYPE:
            raise DatasetError(f"{base}: shard shape {planes.shape}/{meta.shape} does not match the manifest")
        splits = {k: tuple(v) for k, v in entry["splits"].items()}
        problem = check_meta(meta, self.board_size) or _check_splits(splits, entry["rows"])
        if problem:
            raise DatasetError(f"{base.with_name(base.name + '.meta.npy')}: {problem}: the shard is corrupt "
                               "(check every file with gopolicy prepare --verify --out DATASET)")
        games = None
        if "results" in entry:
            path = base.with_name(base.name + ".games.npy")
            games = _open_npy(path, entry["results"])
            problem = check_games(games, meta)
            if problem:
                raise DatasetError(f"{path}: {problem}: the shard is corrupt "
                                   "(check every file with gopolicy prepare --verify --out DATASET)")
        owners = None
        if "ownership" in entry:
            path = base.with_name(base.name + ".ownership.npy")
            owners = _open_npy(path, entry["ownership"])
            if games is None or owners.shape != (len(games), self.board_size ** 2) or owners.dtype != np.int8:
                raise DatasetError(f"{path}: ownership of shape {owners.shape} ({owners.dtype}) does not match the "
                                   "shard's games: the shard is corrupt")
        return Shard(entry["name"], planes, meta, splits, games, owners)

    @property
    def has_results(self) -> bool:
        """Whether every shard records its games' results (datasets prepared before they were kept do not)."""
        return all(shard.games is not None for shard in self.shards)

    @property
    def has_ownership(self) -> bool:
        """Whether every shard records its games' final ownership (``prepare --ownership``)."""
        return all(shard.ownership is not None for shard in self.shards)

    def rows(self, split: str) -> int:
        """Positions (pass positions included) in a split."""
        return sum(stop - start for shard in self.shards for start, stop in [shard.splits.get(split, (0, 0))])

    def verify(self, progress: bool = False) -> None:
        """Checks every shard file's CRC-32 against the manifest; DatasetError on the first mismatch."""
        for entry in progress_bar(self.manifest["shards"], desc="verify", unit="shard", enabled=progress):
            kinds = [k for k, key in (("planes", "planes"), ("meta", "meta"), ("games", "results"),
                                      ("ownership", "ownership")) if key in entry]
            for kind in kinds:
                path = self.path / "shards" / f"{entry['name']}.{kind}.npy"
                if file_crc32(path) != entry["results" if kind == "games" else kind]["crc32"]:
                    raise DatasetError(f"{path}: CRC-32 mismatch: the shard is corrupt")


def check_meta(meta: np.ndarray, board_size: int = 19) -> str:
    """What is out of range in a shard's ``meta`` rows ('' when nothing is), in one vectorised
    pass per field; names the first bad row."""
    fields = (("move", (meta["move"] >= PASS) & (meta["move"] < board_size * board_size), f"not a point or {PASS}"),
              ("colour", (meta["colour"] == BLACK) | (meta["colour"] == WHITE), f"not {BLACK} or {WHITE}"),
              ("game", meta["game"] >= 0, "negative"),
              ("move_number", meta["move_number"] >= 1, "below 1"))
    for name, ok, what in fields:
        if not ok.all():
            row = int(np.argmin(ok))
            return f"row {row}: {name} {int(meta[name][row])} is {what}"
    return ""


def check_games(games: np.ndarray, meta: np.ndarray) -> str:
    """What is wrong with a shard's games rows ('' when nothing is): one row per game of its
    ``meta``, in order, each winner BLACK, WHITE or 0."""
    if games.dtype != GAMES_DTYPE or games.ndim != 1:
        return f"games rows of type {games.dtype}, not {GAMES_DTYPE}"
    ids = np.unique(np.asarray(meta["game"]))
    if len(games) != len(ids) or not (np.asarray(games["game"]) == ids).all():
        return f"{len(games)} games rows for the {len(ids)} games of the shard"
    bad = ~np.isin(np.asarray(games["winner"]), (0, BLACK, WHITE))
    if bad.any():
        return f"row {int(np.argmax(bad))}: winner {int(games['winner'][np.argmax(bad)])} is not 0, {BLACK} or {WHITE}"
    return ""


def _check_splits(splits: dict[str, tuple[int, int]], rows: int) -> str:
    for split, (start, stop) in splits.items():
        if split not in SPLITS or not 0 <= start <= stop <= rows:
            return f"split {split!r} rows {start}..{stop} are not inside its {rows} rows"
    return ""


def unpack_rows(packed: np.ndarray, planes: int, size: int = 19) -> np.ndarray:
    """(n, packed_bytes) -> uint8 (n, planes, size, size): the inverse of the packing (numpy; for tests and tools)."""
    bits = np.unpackbits(packed, axis=1, count=planes * size * size)
    return bits.reshape(len(packed), planes, size, size)


def pack_planes(planes: np.ndarray) -> np.ndarray:
    """(n, planes, size, size) uint8 0/1 -> (n, packed_bytes)."""
    return np.packbits(planes.reshape(len(planes), -1), axis=1)


def iter_split_rows(dataset: Dataset, split: str) -> Iterable[tuple[Shard, int, int]]:
    """(shard, start, stop) for every shard's rows of ``split``, in order."""
    for shard in dataset.shards:
        start, stop = shard.splits.get(split, (0, 0))
        if stop > start:
            yield shard, start, stop
