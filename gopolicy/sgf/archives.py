"""Stream SGF games out of files, directory trees and archives, without unpacking to disk.

Inputs: a ``.sgf`` file (which may hold a collection of several games), a ``.zip``,
``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2`` or ``.tar.xz``/``.txz`` archive,
or a directory (searched recursively, in sorted order, for both). Tar archives are read
in streaming mode, member by member. Archive members that are not ``.sgf`` and other
files are ignored.

Each game comes out as ``(source_name, sgf_bytes)``. ``source_name`` is the path as
given for a plain file, ``ARCHIVE:MEMBER`` inside an archive, with ``#N`` appended
for the N-th game (N >= 2) of a collection, e.g. ``data.tar.gz:kgs6d/KGS2001/x.sgf#2``.

An input that cannot be read (missing, truncated or corrupt archive, unsupported type)
never stops the stream: it is passed to ``on_error`` as one ``RecordError`` naming
the input, and every game read before the damage is still yielded.
"""
from __future__ import annotations

import logging
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

from sgfmill import sgf_grammar

from gopolicy.errors import RecordError

PathLike = Union[str, "os.PathLike[str]"]
ErrorHandler = Callable[[RecordError], None]

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ARCHIVE_REASON = "bad archive"
INPUT_REASON = "bad input"

# What a damaged compressed stream or tar can raise while being read.
_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error, lzma.LZMAError)

log = logging.getLogger(__name__)

# Where a game tree (or a variation) can start, as sgfmill's tokeniser finds it.
_GAME_TREE_START = re.compile(rb"\(\s*;")


def is_sgf_name(name: str) -> bool:
    """True for a file or member name ending in ``.sgf`` (any case)."""
    return name.lower().endswith(".sgf")


def is_archive_name(name: str) -> bool:
    """True for a zip or tar archive name (by suffix, any case)."""
    return name.lower().endswith((*TAR_SUFFIXES, ".zip"))


def split_collection(data: bytes) -> list[bytes]:
    """The games of an SGF collection ``(;...)(;...)``, each as its own bytes.

    One game (the usual case) comes back unchanged. The split follows sgfmill's
    tokeniser; a damaged game ends the split and keeps the rest of the data, so the
    record reader reports it.
    """
    if len(_GAME_TREE_START.findall(data)) <= 1:  # fast path: one game, no variations
        return [data]
    games: list[bytes] = []
    start = _GAME_TREE_START.search(data)
    while start is not None:
        tokens, end = sgf_grammar.tokenise(data, start.start())
        depth = sum(1 if t == b"(" else -1 for kind, t in tokens if kind == "D" and t != b";")
        if depth != 0:  # the tokeniser stopped inside a game: keep all that is left
            games.append(data[start.start():])
            break
        games.append(data[start.start():end])
        start = _GAME_TREE_START.search(data, end)
    return games or [data]


def _numbered(source: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """The games of one SGF file, named ``source``, ``source#2``, ``source#3`` ..."""
    for index, game in enumerate(split_collection(data), start=1):
        yield (source if index == 1 else f"{source}#{index}"), game


def _iter_tar(path: Path, name: str) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path, "r|*") as archive:
        while (member := archive.next()) is not None:
            archive.members.clear()  # stream mode would otherwise keep every header in memory
            if member.isfile() and is_sgf_name(member.name):
                stream = archive.extractfile(member)  # raises ReadError if the data is cut off
                data = stream.read() if stream is not None else b""
                yield from _numbered(f"{name}:{member.name}", data)
        # tarfile ends quietly on a cut-off header; a complete archive ends with a zero block.
        if archive.fileobj.tell() < archive.offset + tarfile.BLOCKSIZE:
            raise tarfile.ReadError("archive is truncated")


def _iter_zip(path: Path, name: str, on_error: ErrorHandler) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not is_sgf_name(info.filename):
                continue
            source = f"{name}:{info.filename}"
            try:
                data = archive.read(info)
            except _READ_ERRORS as error:  # one bad member; the others are still readable
                on_error(RecordError(ARCHIVE_REASON, source, str(error)))
                continue
            yield from _numbered(source, data)


def _iter_directory(path: Path, on_error: ErrorHandler) -> Iterator[tuple[str, bytes]]:
    def report(error: OSError) -> None:
        on_error(RecordError(INPUT_REASON, str(error.filename or path), error.strerror or str(error)))

    for root, dirs, files in os.walk(path, onerror=report):
        dirs.sort()
        for file_name in sorted(files):
            if is_sgf_name(file_name) or is_archive_name(file_name):
                yield from _iter_input(Path(root, file_name), on_error)


def _iter_path(path: Path, on_error: ErrorHandler) -> Iterator[tuple[str, bytes]]:
    """The games of one input; raises what a damaged input raises."""
    name, lower = str(path), path.name.lower()
    if path.is_dir():
        yield from _iter_directory(path, on_error)
    elif lower.endswith(TAR_SUFFIXES):
        yield from _iter_tar(path, name)
    elif lower.endswith(".zip"):
        yield from _iter_zip(path, name, on_error)
    elif is_sgf_name(lower):
        yield from _numbered(name, path.read_bytes())
    elif not path.exists():
        raise FileNotFoundError("No such file or directory")
    else:
        raise ValueError("not an .sgf file, a directory or a zip/tar archive")


def _iter_input(path: Path, on_error: ErrorHandler) -> Iterator[tuple[str, bytes]]:
    """The games of one input; a failure is reported once and ends this input only."""
    try:
        yield from _iter_path(path, on_error)
    except (*_READ_ERRORS, ValueError) as error:
        is_archive = is_archive_name(path.name) and path.is_file()
        detail = getattr(error, "strerror", None) or str(error) or type(error).__name__
        on_error(RecordError(ARCHIVE_REASON if is_archive else INPUT_REASON, str(path), detail))


def warn(error: RecordError) -> None:
    """Default error handler: log a warning and carry on."""
    log.warning("%s", error)


def iter_sgf(inputs: Iterable[PathLike], on_error: Optional[ErrorHandler] = None) -> Iterator[tuple[str, bytes]]:
    """Yields ``(source_name, sgf_bytes)`` for every game in ``inputs``, in order.

    An input that fails part-way is reported once to ``on_error`` (default: a logged
    warning) with reason ``'bad archive'`` (damaged archive) or ``'bad input'``
    (missing, unreadable or unsupported input); the stream goes on with the next input.
    """
    handler = on_error or warn
    for item in inputs:
        yield from _iter_input(Path(item), handler)
