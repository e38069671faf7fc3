"""GTP's time commands (``time_settings``, ``kgs-time_settings``, ``time_left``) and the time a
move may take, which the move commands hand to the player."""
from __future__ import annotations

from typing import Optional

from gopolicy.gtp.protocol import GtpError, Handler, colour_arg, number_arg, require_args

MOVES_LEFT = 40  # main time is spread over this many moves


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
    """The clock: the time settings and what the controller last said is left."""

    def __init__(self):
        self.settings: Optional[tuple[float, float, int]] = None  # main time, byo-yomi time, byo-yomi stones
        self.left: dict[int, tuple[float, int]] = {}  # colour -> (seconds, stones) from time_left

    def commands(self) -> dict[str, Handler]:
        return {"time_settings": self.time_settings, "kgs-time_settings": self.kgs_time_settings,
                "time_left": self.time_left}

    def time_settings(self, args: list[str]) -> str:
        require_args(args, 3)
        self.settings = (_seconds(args[0]), _seconds(args[1]), _stones(args[2]))
        self.left.clear()
        return ""

    def kgs_time_settings(self, args: list[str]) -> str:
        require_args(args, 1)
        kind = args[0].lower()
        if kind == "none":
            settings = None
        elif kind == "absolute":
            require_args(args, 2)
            settings = (_seconds(args[1]), 0.0, 0)
        elif kind in ("byoyomi", "canadian"):
            require_args(args, 4)
            period, stones = _seconds(args[2]), _stones(args[3])
            settings = (_seconds(args[1]), period, stones if kind == "canadian" else 1)
        else:
            raise GtpError("syntax error")
        self.settings = settings
        self.left.clear()
        return ""

    def time_left(self, args: list[str]) -> str:
        require_args(args, 3)
        self.left[colour_arg(args[0])] = (number_arg(args[1], float), _stones(args[2]))
        return ""

    def clock(self, colour: int) -> Optional[float]:
        """Seconds this move may take at most, from the time settings and time_left; None if untimed."""
        if colour in self.left:
            left, stones = self.left[colour]
            return max(left, 0.0) / stones if stones else max(left, 0.0) / MOVES_LEFT
        if self.settings:
            main, byo, stones = self.settings
            return main / MOVES_LEFT if main > 0 else (byo / max(stones, 1) if byo > 0 else None)
        return None
