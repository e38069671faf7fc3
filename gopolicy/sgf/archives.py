"""Stream SGF games out of files, directory trees and archives, without unpacking to disk.

Inputs: a ``.sgf`` file (which may hold a collection of several games), a ``.zip``,
``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2`` or ``.tar.xz``/``.txz`` archive,
or a directory (searched recursively, in sorted order, for both). Tar archives are read
in streaming mode, member by member. Archive members that are not ``.sgf`` and other
files are ignored.

Only regular files (and regular archive members) are read, and none bigger than
``max_record_bytes`` (default ``MAX_RECORD_BYTES``; the biggest real record is tens of
KB): reading stops at the limit, so memory stays flat whatever an archive holds. A
``.sgf`` that is something else (a symbolic or hard link, a fifo, a device, a folder)
or too big is skipped: passed to ``on_error`` as a ``RecordError`` naming it, with
reason ``'not a regular file'`` or ``'record too large'``, like a bad game.

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
import stat
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
INPUT_REASONS = (ARCHIVE_REASON, INPUT_REASON)  # a whole input (or its rest), not one game
NOT_REGULAR_REASON = "not a regular file"
TOO_LARGE_REASON = "record too large"
MAX_RECORD_BYTES = 4 << 20  # default limit per file or member (the biggest real records: tens of KB)

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


class _Reader:
    """What every input of one :func:`iter_sgf` call shares: the error handler and the size limit."""

    def __init__(self, on_error: ErrorHandler, max_bytes: int):
        self.on_error, self.max_bytes = on_error, max_bytes

    def skip(self, reason: str, source: str, detail: str) -> None:
        self.on_error(RecordError(reason, source, detail))

    def too_large(self, source: str, size: int, known: bool = True) -> bool:
        """Reports and returns True when ``size`` bytes is over the limit (``known``: the real
        size, not just as much as was read)."""
        if size <= self.max_bytes:
            return False
        size_text = f"{size:,} bytes" if known else "more"
        self.skip(TOO_LARGE_REASON, source, f"{size_text}, over the limit of {self.max_bytes:,} (--max-record-bytes)")
        return True

    def games(self, source: str, stream, size: int) -> Iterator[tuple[str, bytes]]:
        """The games of one record read from ``stream``, at most the limit (the stated ``size``
        may lie: at most ``max_bytes + 1`` bytes are ever read)."""
        if self.too_large(source, size):
            return
        data = stream.read(self.max_bytes + 1)
        if not self.too_large(source, len(data), known=False):
            yield from _numbered(source, data)

    def tar(self, path: Path, name: str) -> Iterator[tuple[str, bytes]]:
        with tarfile.open(path, "r|*") as archive:
            while (member := archive.next()) is not None:
                archive.members.clear()  # stream mode would otherwise keep every header in memory
                if not is_sgf_name(member.name.rstrip("/")):
                    continue
                source = f"{name}:{member.name}"
                if not member.isfile():
                    self.skip(NOT_REGULAR_REASON, source, _TAR_KINDS.get(member.type, f"tar type {member.type!r}"))
                    continue
                if self.too_large(source, member.size):  # its data is skipped unread
                    continue
                stream = archive.extractfile(member)  # raises ReadError if the data is cut off
                yield from self.games(source, stream, member.size)
            # tarfile ends quietly on a cut-off header; a complete archive ends with a zero block.
            if archive.fileobj.tell() < archive.offset + tarfile.BLOCKSIZE:
                raise tarfile.ReadError("archive is truncated")

    def zip(self, path: Path, name: str) -> Iterator[tuple[str, bytes]]:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not is_sgf_name(info.filename):
                    continue
                source = f"{name}:{info.filename}"
                mode = info.external_attr >> 16  # the Unix mode, where the zip tool stored one with its type
                if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                    self.skip(NOT_REGULAR_REASON, source, _file_kind(mode))
                    continue
                try:
                    with archive.open(info) as stream:
                        games = list(self.games(source, stream, info.file_size))
                except (*_READ_ERRORS, RuntimeError, NotImplementedError) as error:  # one bad (or encrypted) member
                    self.on_error(RecordError(ARCHIVE_REASON, source, str(error)))
                    continue
                yield from games

    def file(self, path: Path) -> Iterator[tuple[str, bytes]]:
        """A plain ``.sgf`` file: read only if it is (or links to) a regular file."""
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            self.skip(NOT_REGULAR_REASON, str(path), _file_kind(info.st_mode))
            return
        with open(path, "rb") as stream:
            yield from self.games(str(path), stream, info.st_size)

    def directory(self, path: Path) -> Iterator[tuple[str, bytes]]:
        def report(error: OSError) -> None:
            self.on_error(RecordError(INPUT_REASON, str(error.filename or path), error.strerror or str(error)))

        for root, dirs, files in os.walk(path, onerror=report):
            dirs.sort()
            for file_name in sorted(files):
                if is_sgf_name(file_name) or is_archive_name(file_name):
                    yield from self.input(Path(root, file_name))
            for dir_name in [d for d in dirs if is_sgf_name(d)]:  # a folder called x.sgf is no record
                self.skip(NOT_REGULAR_REASON, str(Path(root, dir_name)), "a folder")

    def path(self, path: Path) -> Iterator[tuple[str, bytes]]:
        """The games of one input; raises what a damaged input raises."""
        name, lower = str(path), path.name.lower()
        if path.is_dir():
            yield from self.directory(path)
        elif is_sgf_name(lower):
            yield from self.file(path)
        elif not path.exists():
            raise FileNotFoundError("No such file or directory")
        elif not path.is_file():  # a fifo called x.tar.gz would block the reader
            raise ValueError(f"not a regular file ({_file_kind(path.stat().st_mode)})")
        elif lower.endswith(TAR_SUFFIXES):
            yield from self.tar(path, name)
        elif lower.endswith(".zip"):
            yield from self.zip(path, name)
        else:
            raise ValueError("not an .sgf file, a directory or a zip/tar archive")

    def input(self, path: Path) -> Iterator[tuple[str, bytes]]:
        """The games of one input; a failure is reported once and ends this input only."""
        try:
            yield from self.path(path)
        except (*_READ_ERRORS, ValueError) as error:
            is_archive = is_archive_name(path.name) and path.is_file()
            detail = getattr(error, "strerror", None) or str(error) or type(error).__name__
            self.on_error(RecordError(ARCHIVE_REASON if is_archive else INPUT_REASON, str(path), detail))


_TAR_KINDS = {tarfile.SYMTYPE: "a symbolic link", tarfile.LNKTYPE: "a hard link", tarfile.FIFOTYPE: "a fifo",
              tarfile.DIRTYPE: "a folder", tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device"}


def _file_kind(mode: int) -> str:
    """What a non-regular file is, in words, from its mode."""
    for test, kind in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a fifo"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return f"mode {mode:o}"


def add_max_record_bytes(parser) -> None:
    """The ``--max-record-bytes`` option of every command that reads records (stats, prepare)."""
    from gopolicy.util.args import positive_int

    parser.add_argument("--max-record-bytes", type=positive_int, default=MAX_RECORD_BYTES, metavar="N",
                        help=f"skip any file or archive member bigger than N bytes (default {MAX_RECORD_BYTES:,}; "
                             "real records are tens of KB)")


def warn(error: RecordError) -> None:
    """Default error handler: log a warning and carry on."""
    log.warning("%s", error)


def iter_sgf(inputs: Iterable[PathLike], on_error: Optional[ErrorHandler] = None,
             max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[tuple[str, bytes]]:
    """Yields ``(source_name, sgf_bytes)`` for every game in ``inputs``, in order.

    An input that fails part-way is reported once to ``on_error`` (default: a logged
    warning) with reason ``'bad archive'`` (damaged archive) or ``'bad input'``
    (missing, unreadable or unsupported input); the stream goes on with the next input.
    A file or member that is not a regular file, or bigger than ``max_record_bytes``, is
    reported with reason ``'not a regular file'`` or ``'record too large'`` and skipped.
    """
    reader = _Reader(on_error or warn, max_record_bytes)
    for item in inputs:
        yield from reader.input(Path(item))
