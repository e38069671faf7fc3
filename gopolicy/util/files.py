"""Atomic files: a reader sees the old file or the complete new one, never half of either.

Every file a gopolicy command writes for later use (shards, manifests, model files,
checkpoints, run state, results) goes through :func:`write_atomic`: the contents go to a
unique temporary file beside the target, are flushed and fsynced, then renamed over it.
A crash or kill -9 at any moment leaves at most a stray ``.*.tmp`` file, never a torn one.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

PathLike = Union[str, "os.PathLike[str]"]


def write_atomic(path: PathLike, write: Callable[[BinaryIO], Any]) -> None:
    """Calls ``write(file)`` on a fresh temporary file beside ``path``, syncs it and renames
    it into place; on any failure (interrupts included) the temporary file is removed."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: PathLike, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def write_json_atomic(path: PathLike, data: Any) -> None:
    """``data`` as indented JSON, atomically."""
    write_bytes_atomic(path, (json.dumps(data, indent=1) + "\n").encode())


def append_jsonl(path: PathLike, record: dict) -> None:
    """Appends one JSON object as a line and syncs it (metrics and journals: a torn last line
    from a crash is the only possible damage, and readers skip it)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: PathLike) -> list[dict]:
    """The JSON objects of a JSONL file, skipping a torn (unparsable) line; [] if it is absent."""
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return records
