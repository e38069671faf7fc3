"""The on-disk format of a prepared dataset, and reading it back safely.

A dataset is a directory::

    manifest.json          what the loader reads: feature set, shards, counts, splits
    journal.jsonl          one line per committed shard: what prepare did (for resume)
    shards/shard-NNNNNN.planes.npy   uint8 (rows, packed_bytes): bit-packed planes
    shards/shard-NNNNNN.meta.npy     META_DTYPE (rows,): target move, game, move number, colour

Each shard holds whole games, its rows sorted by split (train, then
validation, then test); the manifest gives each split's row range and each
file's size and CRC-32. Planes are ``np.packbits`` of the (planes, 19, 19)
array flattened in C order (``planes * 361 / 8`` bytes: 2,166 for 48 planes).
A row whose move is ``PASS`` is a position before a pass: kept, but not a
policy target by default.

Shards are written to a temporary name and renamed, so a shard either exists
whole or not at all; opening checks every file's size against the manifest
(truncation) and ``verify()`` checks the CRCs (corruption).
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from gopolicy.errors import GopolicyError
from gopolicy.go.coords import PASS  # noqa: F401  (the stored form of a pass; see coords)

FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")
META_DTYPE = np.dtype([("move", "<i2"), ("game", "<i4"), ("move_number", "<i2"), ("colour", "u1")])


class DatasetError(GopolicyError):
    """A dataset directory that is missing, incomplete, truncated or corrupt."""


def packed_bytes(planes: int, size: int = 19) -> int:
    """Bytes of one position's bit-packed planes."""
    return (planes * size * size + 7) // 8


def write_atomic(path: Path, write) -> None:
    """Calls ``write(file)`` on a temporary file beside ``path``, syncs it, then renames it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, lambda f: f.write(json.dumps(data, indent=1).encode()))


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
        return Shard(entry["name"], planes, meta, {k: tuple(v) for k, v in entry["splits"].items()})

    def rows(self, split: str) -> int:
        """Positions (pass positions included) in a split."""
        return sum(stop - start for shard in self.shards for start, stop in [shard.splits.get(split, (0, 0))])

    def verify(self, progress: bool = False) -> None:
        """Checks every shard file's CRC-32 against the manifest; DatasetError on the first mismatch."""
        from tqdm import tqdm

        for entry in tqdm(self.manifest["shards"], desc="verify", unit="shard", disable=not progress):
            for kind in ("planes", "meta"):
                path = self.path / "shards" / f"{entry['name']}.{kind}.npy"
                if file_crc32(path) != entry[kind]["crc32"]:
                    raise DatasetError(f"{path}: CRC-32 mismatch: the shard is corrupt")


def unpack_rows(packed: np.ndarray, planes: int, size: int = 19) -> np.ndarray:
    """(n, packed_bytes) -> uint8 (n, planes, size, size): the inverse of the packing (numpy; for tests and tools)."""
    bits = np.unpackbits(packed, axis=1, count=planes * size * size)
    return bits.reshape(len(packed), planes, size, size)


def pack_planes(planes: np.ndarray) -> np.ndarray:
    """(n, planes, size, size) uint8 0/1 -> (n, packed_bytes)."""
    return np.packbits(planes.reshape(len(planes), -1), axis=1)


def read_journal(path: Path) -> list[dict]:
    """The committed journal entries; a torn last line (a crash mid-append) is dropped."""
    entries = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                break
    return entries


def append_journal(path: Path, entry: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(entry, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())


def iter_split_rows(dataset: Dataset, split: str) -> Iterable[tuple[Shard, int, int]]:
    """(shard, start, stop) for every shard's rows of ``split``, in order."""
    for shard in dataset.shards:
        start, stop = shard.splits.get(split, (0, 0))
        if stop > start:
            yield shard, start, stop
