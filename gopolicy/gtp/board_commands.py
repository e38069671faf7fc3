"""GTP's board and rules commands: board size, komi, handicap, play, undo, and looking at the board.

``final_score`` and ``final_status_list`` judge life and death by Monte-Carlo ownership
(:func:`gopolicy.go.ownership.judge`): the dead stones are removed and the rest counted by area
with komi; living strings whose liberties nobody owns at the end of the playouts are in seki
(``final_status_list seki``; ``alive`` lists every stone that is not dead, seki included, as
GNU Go does).
"""
from __future__ import annotations

from typing import Callable

from gopolicy.errors import IllegalMoveError
from gopolicy.go.coords import BLACK, MAX_SIZE, MIN_SIZE, WHITE, colour_name, to_gtp
from gopolicy.go.ownership import Judgement, judge, without_dead
from gopolicy.gtp.protocol import GtpError, Handler, colour_arg, number_arg, require_args, vertex_arg
from gopolicy.gtp.state import GameState, Placement


def handicap_points(n: int, size: int) -> list[int]:
    """The fixed handicap placement of ``n`` stones (GTP v2 spec, section 4.1.1); GtpError if
    not defined for this size."""
    if size < 7 or not 2 <= n <= (4 if size == 7 or size % 2 == 0 else 9):
        raise GtpError("invalid number of stones")
    edge = 2 if size < 13 else 3
    lo, mid, hi = edge, size // 2, size - 1 - edge
    corners = [(lo, lo), (hi, hi), (hi, lo), (lo, hi)]  # (row, col): D4 Q16 D16 Q4 on 19x19, the spec's order
    sides = [(mid, lo), (mid, hi), (lo, mid), (hi, mid)]
    order = {2: corners[:2], 3: corners[:3], 4: corners, 5: corners + [(mid, mid)], 6: corners + sides[:2],
             7: corners + sides[:2] + [(mid, mid)], 8: corners + sides, 9: corners + sides + [(mid, mid)]}[n]
    return [r * size + c for r, c in order]


def free_handicap_points(n: int, size: int) -> list[int]:
    """``n`` stones spread over the board: the fixed points first, then a lattice, then the rest."""
    try:
        points = handicap_points(min(n, 9), size)
    except GtpError:
        points = []
    spread = [r * size + c for r in range(size) for c in range(size) if r % 2 == c % 2 == size // 2 % 2]
    taken = set(points)
    for p in spread + list(range(size * size)):
        if len(points) >= n:
            break
        if p not in taken:
            points.append(p)
            taken.add(p)
    return points


class BoardCommands:
    """The board commands on ``state``; ``can_play(size)`` says which board sizes the move
    generator accepts (every size the rules support when there is none)."""

    def __init__(self, state: GameState, can_play: Callable[[int], bool] = lambda size: True):
        self.state, self.can_play = state, can_play
        self._judged: tuple | None = None  # (position key, Judgement)

    def commands(self) -> dict[str, Handler]:
        return {"boardsize": self.boardsize, "clear_board": self.clear_board, "komi": self.komi,
                "fixed_handicap": self.fixed_handicap, "place_free_handicap": self.place_free_handicap,
                "set_free_handicap": self.set_free_handicap, "play": self.play, "undo": self.undo,
                "showboard": self.showboard, "list_stones": self.list_stones, "is_legal": self.is_legal,
                "final_score": self.final_score, "final_status_list": self.final_status_list}

    # -- setting up the game ------------------------------------------------------
    def boardsize(self, args: list[str]) -> str:
        require_args(args, 1)
        size = number_arg(args[0])
        if not MIN_SIZE <= size <= MAX_SIZE or not self.can_play(size):
            raise GtpError("unacceptable size")
        self.state.clear(size)
        return ""

    def clear_board(self, args: list[str]) -> str:
        self.state.clear()
        return ""

    def komi(self, args: list[str]) -> str:
        require_args(args, 1)
        self.state.set_komi(number_arg(args[0], float))
        return ""

    def _place_handicap(self, points: list[int]) -> str:
        if self.state.events or self.state.game.stones().any():
            raise GtpError("board not empty")
        if len(set(points)) != len(points) or len(points) < 2:
            raise GtpError("bad vertex list")
        self.state.setup(Placement(black=tuple(points), to_move=WHITE))
        return " ".join(to_gtp(p, self.state.size) for p in points)

    def fixed_handicap(self, args: list[str]) -> str:
        require_args(args, 1)
        return self._place_handicap(handicap_points(number_arg(args[0]), self.state.size))

    def place_free_handicap(self, args: list[str]) -> str:
        require_args(args, 1)
        n, size = number_arg(args[0]), self.state.size
        if not 2 <= n < size * size:
            raise GtpError("invalid number of stones")
        return self._place_handicap(free_handicap_points(n, size))

    def set_free_handicap(self, args: list[str]) -> str:
        points = [vertex_arg(a, self.state.size) for a in args]
        if None in points:
            raise GtpError("bad vertex list")
        self._place_handicap(points)
        return ""

    # -- playing -------------------------------------------------------------------
    def play(self, args: list[str]) -> str:
        require_args(args, 2)
        colour, move = colour_arg(args[0]), vertex_arg(args[1], self.state.size)
        try:
            self.state.play(colour, move)
        except IllegalMoveError:
            raise GtpError("illegal move") from None
        return ""

    def undo(self, args: list[str]) -> str:
        if not self.state.undo():
            raise GtpError("cannot undo")
        return ""

    # -- looking at the board ----------------------------------------------------------
    def showboard(self, args: list[str]) -> str:
        game = self.state.game
        black, white = game.board.captures
        return (f"\n{game}\nkomi {game.komi:g}, captures: {colour_name(BLACK)} {black}, "
                f"{colour_name(WHITE)} {white}")

    def list_stones(self, args: list[str]) -> str:
        require_args(args, 1)
        colour = colour_arg(args[0])
        stones = self.state.game.stones().reshape(-1)
        return " ".join(to_gtp(int(p), self.state.size) for p in (stones == colour).nonzero()[0])

    def is_legal(self, args: list[str]) -> str:
        require_args(args, 2)
        colour, move = colour_arg(args[0]), vertex_arg(args[1], self.state.size)
        return "1" if self.state.game.is_legal(colour, move) else "0"

    def judgement(self) -> Judgement:
        """Life and death in the current position (one estimate per position, reused)."""
        game = self.state.game
        key = (game.size, game.board.hash, game.to_move, game.move_number)
        if self._judged is None or self._judged[0] != key:
            self._judged = (key, judge(game))
        return self._judged[1]

    def final_score(self, args: list[str]) -> str:
        return without_dead(self.state.game, self.judgement().dead).result()

    def final_status_list(self, args: list[str]) -> str:
        require_args(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GtpError("syntax error")
        judged = self.judgement()
        if status == "alive":
            dead = set(judged.dead)
            chosen = [int(p) for p in self.state.game.stones().reshape(-1).nonzero()[0] if int(p) not in dead]
        else:
            chosen = judged.dead if status == "dead" else judged.seki
        return " ".join(to_gtp(p, self.state.size) for p in chosen)
