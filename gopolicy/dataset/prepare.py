"""``gopolicy prepare``: game records -> a sharded, memory-mappable training dataset.

Worker processes parse and replay games and compute their planes; the main
process streams the inputs, removes duplicate games (same setup and move
sequence) across all inputs, assigns each game to a split by a stable hash
of its moves (so re-running, or adding archives later, never moves a game
between splits), and commits whole games in shards (see
:mod:`gopolicy.dataset.format`).

Resumable: each committed shard is journalled with the sources it used up
(kept, skipped or duplicate), so a re-run, after an interruption or with new
archives added, skips what is done and appends the rest. Ctrl-C or SIGTERM
commits the games already computed and stops (a second one stops at once).

One writer at a time: a run holds an exclusive ``flock`` on ``DATASET/prepare.lock``
from before it reads the journal until it ends (the system releases it when the
process dies, however it dies); a second run on the same directory is refused at once
and touches nothing. Every skipped game is listed, with its reason and the move at
fault, in ``DATASET/skipped.tsv`` (:mod:`gopolicy.sgf.skipped`), rewritten from the
journal at the end of each run.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
from tqdm import tqdm

from gopolicy import __version__
from gopolicy.dataset.format import (
    FORMAT_VERSION,
    GAMES_DTYPE,
    META_DTYPE,
    SPLITS,
    DatasetError,
    append_journal,
    pack_planes,
    packed_bytes,
    read_journal,
    write_npy,
)
from gopolicy.errors import RecordError
from gopolicy.features import encode, get_feature_set
from gopolicy.go.coords import move_to_stored
from gopolicy.go.ownership import final_ownership
from gopolicy.sgf.archives import INPUT_REASONS, MAX_RECORD_BYTES, add_max_record_bytes, iter_sgf
from gopolicy.sgf.records import GameRecord, parse_rank, read_game, replay
from gopolicy.sgf.skipped import SkippedGame, write_skipped
from gopolicy.util.files import write_bytes_atomic, write_json_atomic
from gopolicy.util.interrupt import StopRequest
from gopolicy.util.parallel import bounded_map, chunked
from gopolicy.util.progress import progress as progress_bar

BOARD_SIZE = 19
LOCK_NAME = "prepare.lock"
SKIPPED_NAME = "skipped.tsv"


@dataclass(frozen=True)
class Filters:
    """Which games and positions to keep. ``min_rank`` (a :func:`parse_rank` value) applies to
    every rank the record states; games without ranks pass. ``handicap``: 'any', 'no' or
    'only'. ``positions_per_game``: keep only so many positions of each game (None: all),
    drawn by a hash of the game, as a value network wants them (few per game, from many games)."""

    min_rank: Optional[int] = None
    handicap: str = "any"
    min_moves: int = 0
    positions_per_game: Optional[int] = None

    def reject(self, record: GameRecord) -> Optional[str]:
        """The reason to skip ``record``, or None to keep it."""
        if self.min_rank is not None:
            ranks = [parse_rank(r) for r in (record.black_rank, record.white_rank)]
            if any(r is not None and r < self.min_rank for r in ranks):
                return "filtered: rank"
        handicapped = record.handicap > 1 or any(s.after_moves == 0 and s.black for s in record.setups)
        if (self.handicap == "no" and handicapped) or (self.handicap == "only" and not handicapped):
            return "filtered: handicap"
        if len(record.moves) - record.passes < self.min_moves:
            return "filtered: too few moves"
        return None


@dataclass(frozen=True)
class SplitSizes:
    """Fractions of games held out; the rest is training data."""

    validation: float = 0.01
    test: float = 0.02

    def split_of(self, key: bytes) -> str:
        """The split of the game with this key: a stable hash, never a position-level draw."""
        u = int.from_bytes(hashlib.blake2b(key, digest_size=8, person=b"gopolicy-split").digest(), "little") / 2**64
        return "test" if u < self.test else "validation" if u < self.test + self.validation else "train"


def game_key(record: GameRecord) -> bytes:
    """Identity of a game for de-duplication: its setup stones and move sequence."""
    h = hashlib.blake2b(digest_size=12)
    for s in record.setups:
        h.update(repr((s.after_moves, sorted(s.black), sorted(s.white), sorted(s.empty))).encode())
    h.update(np.array([-1 if m is None else c * 1000 + m for c, m in record.moves], np.int32).tobytes())
    return h.digest()


@dataclass
class GameRows:
    """One game's positions, computed by a worker."""

    source: str
    key: bytes
    planes: np.ndarray  # (n, packed_bytes) uint8
    moves: np.ndarray  # (n,) int16, PASS for a pass
    colours: np.ndarray  # (n,) uint8
    move_numbers: np.ndarray  # (n,) int16, from 1: each position's place in the game
    winner: int = 0  # BLACK, WHITE, or 0 (draw, void, no result)
    komi: float = 0.0
    handicap: int = 0
    ownership: Optional[np.ndarray] = None  # int8 (361,): each point's owner at the end, +1 Black, -1 White, 0 neither


def encode_game(data: bytes, source: str, feature_set: str, filters: Filters, ownership: bool = False) -> GameRows:
    """Parses, filters and replays one game into packed planes (and with ``ownership``, the
    owner of every point of its final position, :func:`gopolicy.go.ownership.final_ownership`);
    raises RecordError with the reason to skip it."""
    record = read_game(data, source, size=BOARD_SIZE)
    reason = filters.reject(record)
    if reason:
        raise RecordError(reason, source)
    features = get_feature_set(feature_set)
    key = game_key(record)
    kept = np.arange(len(record.moves))
    if filters.positions_per_game is not None and filters.positions_per_game < len(kept):
        rng = np.random.default_rng(np.frombuffer(key, np.uint32))
        kept = np.sort(rng.choice(len(kept), filters.positions_per_game, replace=False))
    n = len(kept)
    unpacked = np.empty((n, features.planes, BOARD_SIZE, BOARD_SIZE), np.uint8)
    moves = np.empty(n, np.int16)
    colours = np.empty(n, np.uint8)
    row, final = 0, None
    for i, (game, colour, move) in enumerate(replay(record)):
        if row < n and kept[row] == i:
            encode(game, colour, features, out=unpacked[row])
            moves[row], colours[row] = move_to_stored(move), colour
            row += 1
        final = game  # the live game: after the loop, the final position
    owners = None
    if ownership:  # a game without moves has no positions to learn from: its row stays all 0
        owners = final_ownership(final) if final is not None else np.zeros(BOARD_SIZE * BOARD_SIZE, np.int8)
    return GameRows(source, key, pack_planes(unpacked), moves, colours, (kept + 1).astype(np.int16), record.winner, record.komi,
                    min(record.handicap, 255), owners)


def _encode_chunk(args: tuple[list[tuple[str, bytes]], str, Filters]) -> list[GameRows | SkippedGame]:
    """Worker entry point: GameRows, or a SkippedGame for a game to skip."""
    chunk, feature_set, filters, ownership = args
    out: list[GameRows | SkippedGame] = []
    for source, data in chunk:
        try:
            out.append(encode_game(data, source, feature_set, filters, ownership))
        except RecordError as e:
            out.append(SkippedGame.from_error(e))
    return out


@dataclass
class _Pending:
    """Games computed but not yet committed to a shard."""

    games: dict[str, list[GameRows]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    sources: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    skipped_games: list = field(default_factory=list)  # SkippedGame rows
    duplicates: int = 0
    rows: int = 0


class Preparer:
    """The state of one dataset directory while games are being added to it."""

    def __init__(self, out: Path, feature_set: str, filters: Filters, splits: SplitSizes, ownership: bool = False):
        self.out, self.filters, self.splits, self.ownership = out, filters, splits, ownership
        self.feature_set = get_feature_set(feature_set).name
        self.planes = get_feature_set(feature_set).planes
        self.config = {"feature_set": self.feature_set, "filters": asdict(filters), "splits": asdict(splits),
                       "board_size": BOARD_SIZE, **({"ownership": True} if ownership else {})}
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(out / LOCK_NAME)  # before anything is read or removed
            (out / "shards").mkdir(exist_ok=True)
        except OSError as e:
            raise DatasetError(f"{out}: cannot write the dataset there ({e.strerror or e})") from None
        self.journal_path = out / "journal.jsonl"
        self._drop_torn_line()
        self.journal = read_journal(self.journal_path)
        if self.journal and self.journal[0].get("config") != self.config:
            raise DatasetError(f"{out}: prepared with {self.journal[0].get('config')}, not {self.config}; use another --out")
        self.done_sources = {s for entry in self.journal for s in entry["sources"]}
        self.keys = {bytes.fromhex(k) for entry in self.journal for k in entry["keys"]}
        self.next_game = sum(len(entry["keys"]) for entry in self.journal)
        self.sources_given: list[str] = [s for entry in self.journal for s in entry.get("inputs", [])]
        self._remove_orphans()
        self.pending = _Pending()

    def _drop_torn_line(self) -> None:
        """A crash mid-append leaves a last line without its newline: cut it off, or the next
        entry appended would be glued to it and lost with it."""
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            write_bytes_atomic(self.journal_path, data[: data.rfind(b"\n") + 1])

    def _remove_orphans(self) -> None:
        """Shard files that no journal entry commits (a crash between rename and journal) are dropped."""
        committed = {e["shard"]["name"] for e in self.journal if e.get("shard")}
        for path in (self.out / "shards").iterdir():
            if path.name.split(".")[0] not in committed:
                path.unlink()

    def close(self) -> None:
        """Releases the dataset (also done by the system if the process dies)."""
        self._lock.close()

    def add(self, result: GameRows | SkippedGame) -> None:
        p = self.pending
        if isinstance(result, SkippedGame):
            p.sources.append(result.source)
            p.skipped[result.reason] += 1
            p.skipped_games.append(list(result))
            return
        p.sources.append(result.source)
        if result.key in self.keys:
            p.duplicates += 1
            return
        self.keys.add(result.key)
        p.games[self.splits.split_of(result.key)].append(result)
        p.rows += len(result.moves)

    def commit(self, inputs: list[str]) -> None:
        """Writes the pending games as one shard (if any) and journals everything pending."""
        p = self.pending
        if not p.sources:
            return
        entry: dict = {"config": self.config, "inputs": inputs, "sources": p.sources, "skipped": dict(p.skipped),
                       "skipped_games": p.skipped_games, "duplicates": p.duplicates, "keys": [], "games": [], "shard": None}
        if p.rows:
            entry["shard"] = self._write_shard(p, entry)
        append_journal(self.journal_path, entry)
        self.journal.append(entry)
        self.done_sources.update(p.sources)
        self.pending = _Pending()
        self.write_manifest()

    def _write_shard(self, p: _Pending, entry: dict) -> dict:
        name = f"shard-{sum(1 for e in self.journal if e.get('shard')):06d}"
        planes = np.empty((p.rows, packed_bytes(self.planes)), np.uint8)
        meta = np.zeros(p.rows, META_DTYPE)
        games = np.zeros(sum(len(p.games[split]) for split in SPLITS), GAMES_DTYPE)
        owners = np.zeros((len(games), BOARD_SIZE * BOARD_SIZE), np.int8) if self.ownership else None
        row, ranges, index = 0, {}, 0
        for split in SPLITS:
            start = row
            for g in p.games[split]:
                n = len(g.moves)
                planes[row : row + n] = g.planes
                m = meta[row : row + n]
                m["move"], m["colour"], m["game"], m["move_number"] = g.moves, g.colours, self.next_game, g.move_numbers
                entry["keys"].append(g.key.hex())
                entry["games"].append([g.source, split, n])
                games[index] = (self.next_game, g.winner, g.komi, g.handicap)
                if owners is not None:
                    owners[index] = g.ownership
                index += 1
                self.next_game += 1
                row += n
            ranges[split] = [start, row]
        base = self.out / "shards" / name
        shard = {"name": name, "rows": p.rows, "splits": ranges,
                 "planes": write_npy(base.with_name(name + ".planes.npy"), planes),
                 "meta": write_npy(base.with_name(name + ".meta.npy"), meta),
                 "results": write_npy(base.with_name(name + ".games.npy"), games)}
        if owners is not None:
            shard["ownership"] = write_npy(base.with_name(name + ".ownership.npy"), owners)
        return shard

    def write_manifest(self) -> dict:
        shards = [e["shard"] for e in self.journal if e.get("shard")]
        skipped: Counter = Counter()
        for e in self.journal:
            skipped.update(e["skipped"])
        positions = {s: sum(sh["splits"][s][1] - sh["splits"][s][0] for sh in shards) for s in SPLITS}
        games = Counter(split for e in self.journal for _, split, _ in e["games"])
        manifest = {
            "format_version": FORMAT_VERSION,
            "gopolicy_version": __version__,
            **self.config,
            "planes": self.planes,
            "packed_bytes": packed_bytes(self.planes),
            "inputs": sorted(set(self.sources_given)),
            "counts": {
                "games_read": sum(len(e["sources"]) for e in self.journal),
                "games_kept": sum(games.values()),
                "games": {s: games.get(s, 0) for s in SPLITS},
                "positions": positions,
                "duplicates": sum(e["duplicates"] for e in self.journal),
                "skipped": dict(sorted(skipped.items())),
            },
            "shards": shards,
        }
        write_json_atomic(self.out / "manifest.json", manifest)
        return manifest

    def write_skipped(self) -> Path:
        """``skipped.tsv``: every skipped game the journal names (journals older than the list
        count their skipped games without naming them)."""
        path = self.out / SKIPPED_NAME
        write_skipped(path, (game for e in self.journal for game in e.get("skipped_games", [])))
        return path


def _lock(path: Path):
    """An open file holding an exclusive flock on ``path``; DatasetError if another process holds it."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise DatasetError(f"{path.parent}: another gopolicy prepare ({holder or 'a process'}) is writing this dataset; "
                           "wait for it to finish, or use another --out") from None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def prepare(
    inputs: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    *,
    feature_set: str = "alphago48",
    filters: Filters = Filters(),
    splits: SplitSizes = SplitSizes(),
    shard_rows: int = 32768,
    jobs: Optional[int] = None,
    count_first: bool = True,
    progress: bool = True,
    max_record_bytes: int = MAX_RECORD_BYTES,
    ownership: bool = False,
) -> dict:
    """Adds the games of ``inputs`` to the dataset at ``out`` (created if new); returns the
    manifest, with this run's figures under ``"run"`` (``"skipped_list"``: the skipped.tsv path).
    An input that does not exist is refused (DatasetError) before the dataset is touched.
    ``ownership``: also record every game's final ownership (a value network's dense target;
    about 45 ms of CPU a game for the end-of-game judgement), a setting of the dataset."""
    inputs = [str(i) for i in inputs]
    missing = [i for i in inputs if not os.path.lexists(i)]
    if missing:
        raise DatasetError(f"{missing[0]}: no such file or folder")
    prep = Preparer(Path(out), feature_set, filters, splits, ownership)
    try:
        return _run(prep, inputs, filters, shard_rows, jobs, count_first, progress, max_record_bytes)
    finally:
        prep.close()


def _run(prep: Preparer, inputs: list[str], filters: Filters, shard_rows: int, jobs: Optional[int],
         count_first: bool, progress: bool, max_record_bytes: int) -> dict:
    prep.sources_given += inputs
    archive_errors: Counter = Counter()
    seen = set(prep.done_sources)  # also skips a file given twice

    def on_error(error: RecordError) -> None:
        if error.reason in INPUT_REASONS:  # a whole input: not journalled, so a re-run tries it again
            archive_errors[error.reason] += 1
            tqdm.write(f"prepare: skipped input: {error}")
        elif not (error.source in seen or seen.add(error.source)):  # one record (a link, too large): a skipped game
            prep.add(SkippedGame.from_error(error))

    def records(on_error) -> Iterable[tuple[str, bytes]]:
        return iter_sgf(inputs, on_error=on_error, max_record_bytes=max_record_bytes)

    total = sum(1 for s, _ in records(lambda e: None) if s not in prep.done_sources) if count_first else None
    games = ((s, d) for s, d in records(on_error) if not (s in seen or seen.add(s)))
    jobs = jobs or os.cpu_count() or 1
    bar = progress_bar(total=total, unit="game", desc="prepare", enabled=progress, smoothing=0.05)
    start, positions = time.time(), 0
    tasks = ((chunk, prep.feature_set, filters, prep.ownership) for chunk in chunked(games, 16))
    stopped = None
    try:
        with StopRequest() as stop:
            workers = _worker_signals if jobs > 1 else None  # inline (one job), the handlers are the run's
            for chunk in bounded_map(_encode_chunk, tasks, jobs, initializer=workers):
                for result in chunk:
                    kept = prep.pending.rows
                    prep.add(result)
                    positions += prep.pending.rows - kept
                bar.update(len(chunk))
                bar.set_postfix(pos_per_s=f"{positions / max(time.time() - start, 1e-9):,.0f}", refresh=False)
                if prep.pending.rows >= shard_rows:
                    prep.commit(inputs)
                if stop.requested:
                    stopped = stop.signal_name
                    tqdm.write(f"prepare: {stopped}: committing the games computed so far and stopping "
                               "(run the same command again to resume)")
                    break
    except KeyboardInterrupt:
        tqdm.write("prepare: interrupted; committing the games computed so far (re-run the same command to resume)")
        raise
    finally:
        prep.commit(inputs)
        skipped_list = prep.write_skipped()
        bar.close()
    manifest = prep.write_manifest()
    manifest["run"] = {"seconds": round(time.time() - start, 1), "positions": positions,
                       "positions_per_second": round(positions / max(time.time() - start, 1e-9)),
                       "input_errors": dict(archive_errors), "skipped_list": str(skipped_list),
                       "interrupted": stopped is not None}
    return manifest


def _worker_signals() -> None:
    """In a worker: Ctrl-C, which the terminal sends to every process of the job, is for the
    main process, which stops at the next chunk and ends the workers itself (with SIGTERM,
    which :func:`gopolicy.util.parallel.bounded_map` makes sure ends them)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# -- command line --------------------------------------------------------------------


def add_arguments(parser) -> None:
    from gopolicy.features import FEATURE_SETS
    from gopolicy.util.args import add_progress, existing_path, fraction, non_negative_int, positive_int

    parser.add_argument("inputs", nargs="*", type=existing_path, metavar="ARCHIVE",
                        help="SGF files, folders, .zip or .tar(.gz/.bz2/.xz) archives (none with --verify)")
    parser.add_argument("--out", required=True, help="dataset directory (created, or extended with new games)")
    parser.add_argument("--features", default="alphago48", choices=sorted(FEATURE_SETS), help="feature set (default: alphago48)")
    parser.add_argument("--min-rank", help="skip games where a stated rank is below this, e.g. 6d")
    parser.add_argument("--handicap", choices=("any", "no", "only"), default="any", help="keep handicap games? (default: any)")
    parser.add_argument("--min-moves", type=non_negative_int, default=0, help="skip games with fewer non-pass moves")
    parser.add_argument("--positions-per-game", type=positive_int, metavar="N",
                        help="keep N positions of each game, drawn by a hash of the game (a value network's data: "
                             "few positions from many games); default: all")
    parser.add_argument("--ownership", action="store_true",
                        help="also record who owns each point at the end of every game (by the engine's judgement of "
                             "the final position: about 45 ms a game), for a value network's ownership target")
    parser.add_argument("--validation", type=fraction, default=0.01, help="fraction of games held out for validation (0.01)")
    parser.add_argument("--test", type=fraction, default=0.02, help="fraction of games held out for testing (0.02)")
    parser.add_argument("--shard-rows", type=positive_int, default=32768, help="positions per shard (about 70 MB at 48 planes)")
    parser.add_argument("--jobs", type=non_negative_int, default=0, help="worker processes (default 0: all cores)")
    parser.add_argument("--no-count", action="store_true", help="skip counting the games first (no ETA)")
    parser.add_argument("--verify", action="store_true", help="only check every shard's size and CRC-32, then report")
    add_max_record_bytes(parser)
    add_progress(parser)
    parser.set_defaults(usage_error=parser.error)  # for the checks that need several options: run() makes them


def check_arguments(args) -> None:
    """What argparse cannot check one option at a time: exit 2 with a usage error."""
    if args.verify:
        if args.inputs:
            args.usage_error("--verify checks a dataset: give no ARCHIVE with it")
        return
    if not args.inputs:
        args.usage_error("the following arguments are required: ARCHIVE (all but --verify)")
    if args.validation + args.test >= 1:
        args.usage_error(f"--validation {args.validation} + --test {args.test} leaves no training games: "
                         "their sum must be below 1")


def run(args) -> int:
    import json

    from gopolicy.dataset.format import Dataset
    from gopolicy.sgf.records import parse_rank

    check_arguments(args)
    if args.verify:
        dataset = Dataset(args.out)
        dataset.verify(progress=args.progress)
        print(f"{args.out}: {len(dataset.shards)} shards verified")
        return 0
    min_rank = None
    if args.min_rank:
        min_rank = parse_rank(args.min_rank)
        if min_rank is None:
            args.usage_error(f"argument --min-rank: {args.min_rank!r} is not a rank like 6d, 1p or 3k")
    manifest = prepare(args.inputs, args.out, feature_set=args.features,
                       filters=Filters(min_rank, args.handicap, args.min_moves, args.positions_per_game),
                       splits=SplitSizes(args.validation, args.test), shard_rows=args.shard_rows,
                       jobs=args.jobs or None, count_first=not args.no_count, progress=args.progress,
                       max_record_bytes=args.max_record_bytes, ownership=args.ownership)
    counts, run_info = manifest["counts"], manifest["run"]
    print(json.dumps({"counts": counts, "run": run_info}, indent=1))
    size = sum(s["planes"]["bytes"] + s["meta"]["bytes"] for s in manifest["shards"])
    print(f"{args.out}: {sum(counts['positions'].values()):,} positions in {len(manifest['shards'])} shards, "
          f"{size / 2**30:.2f} GiB; this run: {run_info['positions']:,} positions in {run_info['seconds']} s "
          f"({run_info['positions_per_second']:,}/s)")
    skipped = sum(counts["skipped"].values())
    print(f"{skipped:,} skipped games" + (f", each with its reason, in {run_info['skipped_list']}" if skipped else ""))
    return 0
