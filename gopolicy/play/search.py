"""PUCT tree search (AlphaGo, Silver et al. 2016, Methods "Searching with policy and value networks").

The tree's edges hold a prior ``P`` (the policy network's probability), a visit count ``N`` and
a total value ``W``; a playout descends by the PUCT rule

    a = argmax  Q(s, a) + c_puct * P(s, a) * sqrt(sum_b N(s, b)) / (1 + N(s, a)),   Q = W / N

until it reaches an edge never expanded, whose position an :class:`Evaluator` scores: priors over
the moves there and a value for the colour to move (the value network's, or the count once
two passes have ended the game; see below). The value is backed up along the
path, each edge counting it from the view of the colour that chose it. The move played is the
root's most visited edge.

Leaves are evaluated in batches (one network pass for ``batch_size`` leaves): while a batch is
being collected, every edge on a pending path carries a *virtual loss* (``VIRTUAL_LOSS``
visits that lost), which steers the next descents elsewhere; it is removed when the batch's
values are backed up. :meth:`Search.advance` keeps the subtree below the move played, so
the tree is reused between moves; :meth:`Search.run` also follows one move played since the
last search (the opponent's reply) down the tree, and starts afresh from any other position.

A search given ``seconds`` starts no batch that would end past them by the estimate of a
batch's duration (the last batch's, or half the estimate before it if that is more; halved
too by a search that ran no batch, so that one slow batch does not stop searching for
long): a time budget holds whenever batches take about as long as the last ones.

Finished games (two passes) are scored as the engine counts them at the end: by area with
komi once the dead stones are removed (every stone counted alive would call a won game lost
wherever dead stones remain). The dead stones are those of the search's root position, judged
once by Monte-Carlo ownership (:func:`gopolicy.go.ownership.dead_stones`, ``TERMINAL_PLAYOUTS``
random games, about 35 ms on 19x19) when the search first meets a finished game, and removed
from every finished game below it where they still stand: judging each finished game on its
own would cost that much for every one of them, and the endgame's trees hold many.

Values lie in [-1, 1] for the colour to move at the node they are reported for; win rates
shown to users are ``(1 + Q) / 2``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, Sequence

import numpy as np

from gopolicy.go.coords import BLACK, Move, action_to_move, move_to_action, opponent
from gopolicy.go.ownership import dead_stones, final_score
from gopolicy.go.rules import Game

C_PUCT = 1.5  # exploration constant (AlphaGo used 5 on its value scale; 1-2 suits priors from a softmax)
VIRTUAL_LOSS = 3  # AlphaGo's n_vl
VALUE_SOURCES = ("head", "score", "mean")  # a network evaluator's leaf values: the value head, the expected area, both
TERMINAL_PLAYOUTS = 64  # random games judging the root's dead stones for finished games (about 35 ms on 19x19)


class Evaluator(Protocol):
    """Scores positions for the search: the networks, or any other judge."""

    def evaluate(self, games: Sequence[Game]) -> tuple[np.ndarray, np.ndarray]:
        """For N games (each with ``game.to_move`` to play): priors (N, size*size + 1) over the
        actions (the last is pass), zero where the search must not go and summing to 1 where it
        may, and values (N,) in [-1, 1] for the colour to move."""
        ...


@dataclass
class Node:
    """A position in the tree: its colour to move and, once expanded, its edges (one per action
    with a non-zero prior)."""

    to_move: int
    actions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    priors: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    visits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))  # W, from to_move's view
    children: dict = field(default_factory=dict)  # edge index -> Node
    expanded: bool = False
    terminal_value: Optional[float] = None  # for to_move, when the game is over here
    value: float = 0.0  # the evaluator's value for to_move when expanded

    def expand(self, priors: np.ndarray, value: float) -> None:
        actions = np.flatnonzero(priors > 0).astype(np.int32)
        self.actions, self.priors = actions, priors[actions].astype(np.float32)
        self.visits = np.zeros(len(actions), np.int32)
        self.values = np.zeros(len(actions), np.float64)
        self.expanded, self.value = True, float(value)

    def select(self, c_puct: float) -> int:
        """The edge index PUCT descends through."""
        total = self.visits.sum()
        q = np.where(self.visits > 0, self.values / np.maximum(self.visits, 1), self.fpu())
        u = c_puct * self.priors * math.sqrt(max(total, 1)) / (1 + self.visits)
        return int(np.argmax(q + u))

    def fpu(self) -> float:
        """The value assumed for edges never visited: the node's own value, a little reduced
        (first-play urgency), so that good-looking visited moves are deepened first."""
        return self.value - 0.2

    @property
    def total_visits(self) -> int:
        return int(self.visits.sum())


@dataclass
class MoveStats:
    """One root move as the search saw it (for analysis commands)."""

    move: Move
    visits: int
    winrate: float  # (1 + Q) / 2 for the colour to move at the root
    prior: float
    lcb: float  # a lower confidence bound of the win rate
    pv: list[Move]


@dataclass
class SearchResult:
    move: Move  # the most visited root move (None: pass)
    visits: int  # playouts in the tree below the root
    winrate: float  # of the root's colour to move, by its best move
    moves: list[MoveStats]  # best first
    playouts: int  # playouts run by this call
    seconds: float


class Search:
    """A reusable search tree for one game; feed it the moves played with :meth:`advance`."""

    def __init__(self, evaluator: Evaluator, *, batch_size: int = 8, c_puct: float = C_PUCT,
                 virtual_loss: int = VIRTUAL_LOSS, clock: Callable[[], float] = time.monotonic):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.evaluator = evaluator
        self.batch_size = batch_size
        self.c_puct = c_puct
        self.virtual_loss = virtual_loss
        self.clock = clock  # seconds, for the time limit (tests give a fake one)
        self.batch_seconds = 0.0  # the estimate of a batch's duration
        self.root: Optional[Node] = None
        self.root_key: Optional[tuple] = None
        self._root_game: Optional[Game] = None  # the position the root is for
        self._dead: Optional[tuple[tuple, list[tuple[int, int]]]] = None  # (a root's key, its dead stones' points and colours)

    # --- the tree across moves ---

    def _root_for(self, game: Game) -> Node:
        key = _position_key(game)
        if self.root is not None and self.root_key != key:
            self._follow(game)
        if self.root is None or self.root_key != key:
            self.root, self.root_key = Node(game.to_move), key
        self._root_game = game.copy(undoable=False)
        return self.root

    def _follow(self, game: Game) -> None:
        """Descends into the subtree of ``game``'s last move when ``game`` is the root's
        position plus that move (the opponent's reply to the move the tree advanced by)."""
        before, last = self._root_game, game.last_move
        if before is None or last is None or game.move_number != before.move_number + 1 or last[0] != before.to_move:
            return
        self.advance(before, last[1])

    def advance(self, game: Game, move: Move) -> None:
        """Keeps the subtree below ``move`` (about to be played in ``game``, the position the
        tree's root is for) as the next root; call it before playing the move."""
        if self.root is None or not self.root.expanded:
            self.reset()
            return
        action = move_to_action(move, game.size)
        index = np.flatnonzero(self.root.actions == action)
        child = self.root.children.get(int(index[0])) if len(index) else None
        self.root, self.root_key, self._root_game = child, None, None
        if child is not None:
            after = game.copy(undoable=False)
            after.play(game.to_move, move)
            self.root_key, self._root_game = _position_key(after), after

    def reset(self) -> None:
        """Forgets the tree."""
        self.root, self.root_key, self._root_game = None, None, None

    # --- searching ---

    def run(self, game: Game, playouts: Optional[int] = None, seconds: Optional[float] = None,
            stop=None) -> SearchResult:
        """Searches from ``game`` (``game.to_move`` to play) for ``playouts`` more playouts or
        ``seconds`` of wall time, whichever ends first (at least one batch); ``stop()``, when
        given, is polled between batches and ends the search when true. A batch that would end
        past ``seconds`` by the estimate of its duration is not started."""
        if playouts is None and seconds is None:
            raise ValueError("give playouts, seconds or both")
        start = self.clock()
        root = self._root_for(game)
        if not root.expanded:
            priors, values = self.evaluator.evaluate([game])
            root.expand(priors[0], values[0])
        done = 0
        while True:
            if playouts is not None and done >= playouts:
                break
            if seconds is not None and self.clock() - start + self.batch_seconds > seconds:
                if not done:
                    self.batch_seconds /= 2
                break
            if done and stop is not None and stop():
                break
            want = self.batch_size if playouts is None else min(self.batch_size, playouts - done)
            began = self.clock()
            ran = self._playout_batch(game, root, want)
            self.batch_seconds = max(self.clock() - began, self.batch_seconds / 2)
            done += ran
            if not ran:
                break
        return self._result(game, root, done, self.clock() - start)

    def _playout_batch(self, game: Game, root: Node, count: int) -> int:
        """Runs up to ``count`` playouts, evaluating their new leaves in one batch; returns how many ran."""
        pending: list[tuple[list[tuple[Node, int]], Node, Game]] = []
        ran = 0
        for _ in range(count):
            path, leaf, position = self._descend(game, root)
            if not path:  # the root has nothing to play
                break
            ran += 1
            if leaf.terminal_value is not None:  # the game is over there: its value is known
                self._backup(path, leaf.terminal_value, leaf.to_move)
                continue
            for node, edge in path:  # virtual loss until the batch is evaluated
                node.visits[edge] += self.virtual_loss
                node.values[edge] -= self.virtual_loss
            pending.append((path, leaf, position))
        if pending:
            priors, values = self.evaluator.evaluate([p for _, _, p in pending])
            for (path, leaf, _), prior, value in zip(pending, priors, values):
                for node, edge in path:
                    node.visits[edge] -= self.virtual_loss
                    node.values[edge] += self.virtual_loss
                if not leaf.expanded:
                    leaf.expand(prior, value)
                self._backup(path, leaf.value, leaf.to_move)
        return ran

    def _descend(self, game: Game, root: Node) -> tuple[list[tuple[Node, int]], Node, Game]:
        """Follows PUCT from the root to a node not yet expanded (or a finished game), playing
        the moves on a copy of ``game``."""
        position = game.copy(undoable=False)
        node, path = root, []
        while node.expanded and len(node.actions) and node.terminal_value is None:
            edge = node.select(self.c_puct)
            move = action_to_move(int(node.actions[edge]), game.size)
            position.play(node.to_move, move)
            path.append((node, edge))
            child = node.children.get(edge)
            if child is None:
                child = node.children[edge] = Node(opponent(node.to_move))
                if position.is_over:
                    child.terminal_value = self._final_value(game, position, child.to_move)
                return path, child, position
            node = child
        if node.expanded and not len(node.actions) and node.terminal_value is None:
            node.terminal_value = node.value  # nothing to play: the evaluator's word stands
        return path, node, position

    def _final_value(self, root_game: Game, game: Game, colour: int) -> float:
        """+1 / -1 / 0 for ``colour`` in a finished ``game`` below ``root_game``: the count with
        the root's dead stones removed where they still stand."""
        key = _position_key(root_game)
        if self._dead is None or self._dead[0] != key:
            stones = root_game.stones().reshape(-1)
            self._dead = (key, [(p, int(stones[p])) for p in dead_stones(root_game, TERMINAL_PLAYOUTS)])
        now = game.stones().reshape(-1)
        score = final_score(game, dead=[p for p, c in self._dead[1] if now[p] == c])  # positive: Black ahead
        return float(np.sign(score if colour == BLACK else -score))

    @staticmethod
    def _backup(path: list[tuple[Node, int]], value: float, colour: int) -> None:
        """Adds one visit of ``value`` (for ``colour``) to every edge of ``path``, each from its
        chooser's view."""
        for node, edge in path:
            node.visits[edge] += 1
            node.values[edge] += value if node.to_move == colour else -value

    # --- what the search found ---

    def _result(self, game: Game, root: Node, playouts: int, seconds: float) -> SearchResult:
        moves = self.root_moves(game, root)
        if not moves:
            return SearchResult(None, 0, (1 + root.value) / 2, [], playouts, seconds)
        return SearchResult(moves[0].move, root.total_visits, moves[0].winrate, moves, playouts, seconds)

    def root_moves(self, game: Game, root: Optional[Node] = None) -> list[MoveStats]:
        """The root's moves, most visited first (ties by win rate, then by prior), with their statistics."""
        root = root or self.root
        if root is None or not root.expanded:
            return []
        q = np.where(root.visits > 0, root.values / np.maximum(root.visits, 1), -2.0)
        order = np.lexsort((-root.priors, -q, -root.visits))
        stats = []
        for edge in order:
            n = int(root.visits[edge])
            q = root.values[edge] / n if n else root.fpu()
            winrate = (1 + q) / 2
            lcb = winrate - 1.96 * math.sqrt(max(winrate * (1 - winrate), 1e-4) / n) if n else -1.0
            stats.append(MoveStats(action_to_move(int(root.actions[edge]), game.size), n, winrate,
                                   float(root.priors[edge]), lcb, self._pv(game, root, int(edge))))
        return stats

    @staticmethod
    def _pv(game: Game, root: Node, edge: int, limit: int = 20) -> list[Move]:
        """The principal variation through ``edge``: the most visited line below it."""
        line, node = [], root
        while node is not None and len(line) < limit:
            line.append(action_to_move(int(node.actions[edge]), game.size))
            node = node.children.get(edge)
            if node is None or not node.expanded or not node.total_visits:
                break
            edge = int(np.argmax(node.visits))
        return line


def _position_key(game: Game) -> tuple:
    """What identifies a position for the tree: the stones, the colour to move, the passes before it."""
    return game.size, game.board.hash, game.to_move, game.passes
