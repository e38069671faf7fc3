"""GTP's time commands (``time_settings``, ``kgs-time_settings``, ``time_left``) and the clock:
the seconds a move may take, which the move commands hand to the player.

A move's budget is a share of what is left, less a safety margin for the controller's and
the network's latency, so that the engine never loses on time:

* in main time: ``MOVES_LEFT``-th of the main time left (``time_left``'s word, or the main
  time less what this engine's moves took), plus the share of one byo-yomi period per stone
  when there is byo-yomi (running over the main time only starts the byo-yomi);
* in Canadian byo-yomi: the period's time left divided by the stones left to play in it;
* in Japanese byo-yomi (``kgs-time_settings byoyomi``): the period's time left, which each
  move may spend in full (at most one period);

then ``SAFETY_FRACTION`` of that, less ``SAFETY_SECONDS``, and never below 0 (the player
falls back to the raw policy's single network pass when too little is left to search).
GTP's conventions: ``time_settings M B 0`` with B > 0 means no time limit, ``time_left C T 0``
means T seconds of main time left, ``time_left C T S`` with S > 0 means T seconds for S
stones of byo-yomi.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from gopolicy.gtp.protocol import GtpError, Handler, colour_arg, number_arg, require_args

MOVES_LEFT = 40  # main time is spread over this many moves
SAFETY_FRACTION = 0.8  # of a move's share of the clock
SAFETY_SECONDS = 0.5  # for latency: the controller's, the network's, the engine's own overhead


@dataclass(frozen=True)
class TimeSettings:
    """``main`` seconds, then byo-yomi periods of ``period`` seconds for ``stones`` stones each
    (``japanese``: one move per period, any number of periods)."""

    main: float
    period: float = 0.0
    stones: int = 0
    japanese: bool = False


def move_budget(settings: Optional[TimeSettings], left: Optional[tuple[float, int]], used: float = 0.0) -> Optional[float]:
    """Seconds a move may take (the module's docstring): ``left`` is ``time_left``'s (seconds,
    stones), None when the controller sent none, then ``used`` is the time this engine's moves
    took since the settings; None when there is no time limit."""
    if settings is None or settings.stones == 0 and settings.period > 0:
        return None
    per_stone = settings.period / max(settings.stones, 1) if settings.period > 0 else 0.0
    if left is not None and left[1] > 0:  # in byo-yomi
        seconds, stones = left
        share = min(seconds, settings.period) if settings.japanese else seconds / stones
    else:
        main = left[0] if left is not None else settings.main - used
        if main > 0:
            share = main / MOVES_LEFT + per_stone
        else:  # main time is over (or never was): byo-yomi from the start of a period
            share = per_stone
    return max(0.0, SAFETY_FRACTION * share - SAFETY_SECONDS)


def _seconds(text: str) -> float:
    seconds = number_arg(text, float)
    if seconds < 0:
        raise GtpError("syntax error")
    return seconds


def _stones(text: str) -> int:
    stones = number_arg(text)
    if stones < 0:
        raise GtpError("syntax error")
    return stones


class TimeCommands:
    """The clock: the time settings, what the controller last said is left, and the time the
    engine's own moves took (which counts when the controller sends no ``time_left``)."""

    def __init__(self):
        self.settings: Optional[TimeSettings] = None
        self.left: dict[int, tuple[float, int]] = {}  # colour -> (seconds, stones) from time_left
        self.used: dict[int, float] = {}  # colour -> seconds its moves took since the settings or time_left

    def commands(self) -> dict[str, Handler]:
        return {"time_settings": self.time_settings, "kgs-time_settings": self.kgs_time_settings,
                "time_left": self.time_left}

    def _set(self, settings: Optional[TimeSettings]) -> None:
        self.settings = settings
        self.left.clear()
        self.used.clear()

    def time_settings(self, args: list[str]) -> str:
        require_args(args, 3)
        self._set(TimeSettings(_seconds(args[0]), _seconds(args[1]), _stones(args[2])))
        return ""

    def kgs_time_settings(self, args: list[str]) -> str:
        require_args(args, 1)
        kind = args[0].lower()
        if kind == "none":
            settings = None
        elif kind == "absolute":
            require_args(args, 2)
            settings = TimeSettings(_seconds(args[1]))
        elif kind == "canadian":
            require_args(args, 4)
            settings = TimeSettings(_seconds(args[1]), _seconds(args[2]), max(_stones(args[3]), 1))
        elif kind == "byoyomi":
            require_args(args, 4)
            periods = _stones(args[3])
            period = _seconds(args[2]) if periods else 0.0
            settings = TimeSettings(_seconds(args[1]), period, 1 if periods else 0, japanese=True)
        else:
            raise GtpError("syntax error")
        self._set(settings)
        return ""

    def time_left(self, args: list[str]) -> str:
        require_args(args, 3)
        colour, seconds, stones = colour_arg(args[0]), number_arg(args[1], float), _stones(args[2])
        self.left[colour] = (max(seconds, 0.0), stones)
        self.used[colour] = 0.0
        return ""

    def clock(self, colour: int) -> Optional[float]:
        """Seconds this move may take at most; None if untimed."""
        left, used = self.left.get(colour), self.used.get(colour, 0.0)
        if left is not None and used and not (left[1] and self.settings and self.settings.japanese):
            left = (max(left[0] - used, 0.0), left[1])  # moves since time_left (a Japanese period starts afresh)
        return move_budget(self.settings, left, used)

    def charge(self, colour: int, seconds: float) -> None:
        """Records the time a move of ``colour``'s took (for when no ``time_left`` follows)."""
        self.used[colour] = self.used.get(colour, 0.0) + seconds
