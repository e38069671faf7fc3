"""Cross-check of gopolicy.go.rules against a real referee: GNU Go 3.8 over GTP.

Every game is replayed into both GNU Go and :class:`~gopolicy.go.rules.Game`
(simple ko, no suicide: GNU Go's default rules). After every move the stones
must be the same, a move must be accepted by both or rejected by both, and the
legal points (``is_legal`` point by point on the small hand-made games,
``all_legal`` on the others) must be the same sets for both colours.

Games: the hand-made positions in ``tests/data/rules`` (copies of the shared
GTP harness's testdata: ko, captures, handicap and AB/AW setup, single and
multi-stone suicide), random legal 5x5 and 9x9 games generated here with a
seeded RNG, and real 19x19 games from ``data/sample`` when it is there.
"""
from __future__ import annotations

import os
import queue
import random
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from sgfmill import sgf

from gopolicy.errors import IllegalMoveError
from gopolicy.go.coords import BLACK, WHITE, colour_letter, from_gtp, opponent, point_to_move, to_gtp
from gopolicy.go.rules import Game

GNUGO = "/usr/games/gnugo"
RULES_DATA = Path(__file__).resolve().parents[1] / "data" / "rules"
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "data" / "sample"

pytestmark = pytest.mark.skipif(
    not os.access(GNUGO, os.X_OK), reason=f"GNU Go is not installed at {GNUGO} (apt-get install gnugo)"
)


# -- a minimal GTP client -------------------------------------------------------------------------------


class GnuGo:
    """GNU Go in GTP mode; one response per command, read by a thread so a hang cannot block the suite."""

    TIMEOUT = 30.0

    def __init__(self):
        self.proc = subprocess.Popen(
            [GNUGO, "--mode", "gtp", "--level", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\r\n"))
        self.lines.put(None)

    def send(self, command: str) -> tuple[bool, str]:
        """(success, response text without the '=' / '?')."""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        response = []
        while True:
            line = self.lines.get(timeout=self.TIMEOUT)
            if line is None:
                raise RuntimeError(f"GNU Go exited after {command!r}")
            if line == "":
                if response:
                    break
                continue
            response.append(line)
        head = response[0]
        assert head[:1] in ("=", "?"), f"not a GTP response to {command!r}: {response!r}"
        return head[0] == "=", "\n".join([head[1:].strip(), *response[1:]]).strip()

    def command(self, command: str) -> str:
        ok, text = self.send(command)
        assert ok, f"GNU Go refused {command!r}: {text}"
        return text

    def points(self, text: str, size: int) -> set[int]:
        return {from_gtp(v, size) for v in text.split()}

    def stones(self, size: int) -> tuple[set[int], set[int]]:
        black, white = self.command("list_stones black"), self.command("list_stones white")
        return self.points(black, size), self.points(white, size)

    def all_legal(self, colour: int, size: int) -> set[int]:
        return self.points(self.command(f"all_legal {colour_letter(colour)}"), size)

    def is_legal(self, colour: int, move: int, size: int) -> bool:
        return self.command(f"is_legal {colour_letter(colour)} {to_gtp(move, size)}") == "1"

    def close(self):
        try:
            self.send("quit")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def gnugo():
    engine = GnuGo()
    assert engine.command("protocol_version") == "2"
    yield engine
    engine.close()


# -- games ------------------------------------------------------------------------------------------


@dataclass
class Replay:
    name: str
    size: int
    black: list[int] = field(default_factory=list)  # setup stones (root AB/AW)
    white: list[int] = field(default_factory=list)
    moves: list[tuple[int, int | None]] = field(default_factory=list)


def read_sgf(name: str, data: bytes) -> Replay:
    """Main line of an SGF game with sgfmill (setup stones only in the root, as in these files)."""
    game = sgf.Sgf_game.from_bytes(data)
    size = game.get_size()
    black, white, empty = game.get_root().get_setup_stones()
    assert not empty
    replay = Replay(name, size, [point_to_move(p, size) for p in black], [point_to_move(p, size) for p in white])
    for node in game.get_main_sequence()[1:]:
        assert not node.has_setup_stones(), f"{name}: setup stones after the root"
        colour, point = node.get_move()
        if colour is not None:
            replay.moves.append((BLACK if colour == "b" else WHITE, point_to_move(point, size)))
    return replay


def hand_made_games() -> list[Replay]:
    return [read_sgf(path.name, path.read_bytes()) for path in sorted(RULES_DATA.glob("*.sgf"))]


def sample_games() -> list[Replay]:
    """The first games of each data/sample archive: 7 KGS games (handicap ones among them), 3 Tygem games."""
    games = []
    for archive, count in (("kgs-sample.tar.gz", 7), ("tygem-sample.tar.gz", 3)):
        path = SAMPLE_DATA / archive
        if not path.is_file() or path.stat().st_size == 0:
            continue
        taken = 0
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if taken == count:
                    break
                if member.isfile() and member.name.endswith(".sgf"):
                    games.append(read_sgf(f"{archive}:{member.name}", tar.extractfile(member).read()))
                    taken += 1
    return games


def random_games(size: int, count: int, max_moves: int, seed: int) -> list[Replay]:
    """Random legal games (simple ko, no suicide) from our own rules, with a few passes."""
    rng = random.Random(seed)
    games = []
    for number in range(count):
        game = Game(size)
        replay = Replay(f"random {size}x{size} #{number}", size)
        colour = BLACK
        for _ in range(max_moves):
            legal = np.flatnonzero(game.legal_mask(colour))
            move = None if len(legal) == 0 or rng.random() < 0.03 else int(legal[rng.randrange(len(legal))])
            game.play(colour, move)
            replay.moves.append((colour, move))
            if game.is_over:
                break
            colour = opponent(colour)
        games.append(replay)
    return games


# -- the replay ---------------------------------------------------------------------------------


def our_stones(game: Game) -> tuple[set[int], set[int]]:
    flat = game.stones().ravel()
    return set(np.flatnonzero(flat == BLACK).tolist()), set(np.flatnonzero(flat == WHITE).tolist())


def describe(points, size) -> str:
    return " ".join(sorted(to_gtp(p, size) for p in points)) or "-"


def assert_same_stones(engine: GnuGo, game: Game, where: str) -> None:
    ours, theirs = our_stones(game), engine.stones(game.size)
    for name, mine, referee in zip(("black", "white"), ours, theirs):
        assert mine == referee, (
            f"{where}: {name} stones differ; only in Game: {describe(mine - referee, game.size)}; "
            f"only in GNU Go: {describe(referee - mine, game.size)}\n{game}"
        )


def assert_same_legal_points(engine: GnuGo, game: Game, where: str, point_by_point: bool) -> None:
    size = game.size
    for colour in (BLACK, WHITE):
        mask = game.legal_mask(colour)
        ours = set(np.flatnonzero(mask).tolist())
        if point_by_point:
            empty = np.flatnonzero(game.stones().ravel() == 0).tolist()
            theirs = {p for p in empty if engine.is_legal(colour, p, size)}
            assert ours <= set(empty)
        else:
            theirs = engine.all_legal(colour, size)
        assert ours == theirs, (
            f"{where}: legal points for {colour_letter(colour)} differ; "
            f"only Game allows: {describe(ours - theirs, size)}; "
            f"only GNU Go allows: {describe(theirs - ours, size)}\n{game}"
        )


def replay_into_both(engine: GnuGo, replay: Replay, legal_every: int = 1, point_by_point: bool = False):
    """Replays a game into GNU Go and Game, comparing after every move; returns the moves both rejected
    as (move number, our IllegalMoveError reason)."""
    size = replay.size
    engine.command(f"boardsize {size}")
    engine.command("clear_board")
    game = Game(size)
    game.setup(black=replay.black, white=replay.white)
    for colour, stones in ((BLACK, replay.black), (WHITE, replay.white)):
        for p in stones:  # setup stones as moves, as GUIs send them over GTP
            engine.command(f"play {colour_letter(colour)} {to_gtp(p, size)}")
    assert_same_stones(engine, game, f"{replay.name} after setup")
    rejected = []
    for number, (colour, move) in enumerate(replay.moves, 1):
        where = f"{replay.name} move {number} ({colour_letter(colour)} {to_gtp(move, size)})"
        referee_ok, referee_text = engine.send(f"play {colour_letter(colour)} {to_gtp(move, size)}")
        assert game.is_legal(colour, move) == referee_ok, f"{where}: GNU Go says {referee_text or 'ok'}\n{game}"
        try:
            game.play(colour, move)
        except IllegalMoveError as error:
            assert not referee_ok
            rejected.append((number, error.reason))
            continue
        assert_same_stones(engine, game, where)
        if number % legal_every == 0 or game.board.ko is not None:
            assert_same_legal_points(engine, game, where, point_by_point)
    return game, rejected


# -- tests ------------------------------------------------------------------------------------------


EXPECTED_REJECTIONS = {
    "suicide_9x9.sgf": [(4, "suicide")],  # B A1, single-stone suicide
    "multi_suicide_9x9.sgf": [(6, "suicide")],  # B B1 joins B A1: a two-stone suicide
}


def test_hand_made_games_exist():
    names = {path.name for path in RULES_DATA.glob("*.sgf")}
    assert names == {
        "captures_9x9.sgf",
        "handicap_19x19.sgf",
        "ko_9x9.sgf",
        "multi_suicide_9x9.sgf",
        "setup_white_9x9.sgf",
        "suicide_9x9.sgf",
    }


@pytest.mark.parametrize("replay", hand_made_games(), ids=lambda r: r.name)
def test_hand_made_games_agree_with_gnugo(gnugo, replay):
    game, rejected = replay_into_both(gnugo, replay, point_by_point=replay.size <= 9)
    assert rejected == EXPECTED_REJECTIONS.get(replay.name, [])
    assert game.is_over  # every hand-made game ends with two passes


def test_ko_game_exercised_the_ko_rule(gnugo):
    (replay,) = [r for r in hand_made_games() if r.name == "ko_9x9.sgf"]
    size = replay.size
    barred = 0  # positions where a point is barred by ko, for both programs
    gnugo.command(f"boardsize {size}")
    gnugo.command("clear_board")
    game = Game(size)
    for colour, move in replay.moves:
        gnugo.command(f"play {colour_letter(colour)} {to_gtp(move, size)}")
        game.play(colour, move)
        if game.board.ko is not None:
            point, who = game.board.ko
            assert not gnugo.is_legal(who, point, size) and not game.is_legal(who, point)
            assert gnugo.is_legal(opponent(who), point, size) == game.is_legal(opponent(who), point)
            barred += 1
    assert barred >= 3


def test_ko_conventions_agree_with_gnugo(gnugo):
    """Ko bars only the other colour, for one move; a pass clears it (checked in GNU Go, not assumed).

        A B C D E
      5 . . . . .
      4 . X O . .
      3 X O . O .     black C3 takes the white stone on B3
      2 . X O . .
      1 . . . . .
    """
    size = 5
    gnugo.command(f"boardsize {size}")
    gnugo.command("clear_board")
    game = Game(size)
    setup = "B B4 B A3 B B2 W C4 W D3 W C2 W B3 B C3"
    for colour, vertex in zip(setup.split()[::2], setup.split()[1::2]):
        gnugo.command(f"play {colour} {vertex}")
        game.play(BLACK if colour == "B" else WHITE, from_gtp(vertex, size))
    b3 = from_gtp("B3", size)

    def both_say(colour, point):
        ours, theirs = game.is_legal(colour, point), gnugo.is_legal(colour, point, size)
        assert ours == theirs, (colour_letter(colour), to_gtp(point, size), ours, theirs)
        return ours

    assert not both_say(WHITE, b3)  # the immediate retake
    assert both_say(BLACK, b3)  # black may fill its own ko
    gnugo.command("play w pass")
    game.play(WHITE, None)
    assert both_say(WHITE, b3)  # the pass cleared the ko
    gnugo.command("play b pass")
    game.play(BLACK, None)
    assert both_say(WHITE, b3)
    assert_same_legal_points(gnugo, game, "ko conventions", point_by_point=True)


@pytest.mark.parametrize(
    "size, count, max_moves, seed", [(5, 6, 80, 5), (9, 8, 160, 9)], ids=["5x5", "9x9"]
)
def test_random_games_agree_with_gnugo(gnugo, size, count, max_moves, seed):
    captures = 0
    for replay in random_games(size, count, max_moves, seed):
        game, rejected = replay_into_both(gnugo, replay)
        assert rejected == []
        captures += sum(game.board.captures)
    assert captures > count * 3


def test_random_games_reach_ko_positions():
    """The random games above must contain kos, or the legality comparison proves little about ko."""
    kos = 0
    for replay in random_games(5, 6, 80, 5) + random_games(9, 8, 160, 9):
        game = Game(replay.size)
        for colour, move in replay.moves:
            game.play(colour, move)
            kos += game.board.ko is not None
    assert kos >= 5


def test_real_games_agree_with_gnugo(gnugo):
    games = sample_games()
    if not games:
        pytest.skip("data/sample/*.tar.gz not present")
    assert len(games) == 10
    moves = 0
    for replay in games:
        assert replay.size == 19
        game, rejected = replay_into_both(gnugo, replay, legal_every=10)
        assert rejected == [], replay.name  # the archives hold only legal games
        moves += game.move_number
    assert moves > 1000
