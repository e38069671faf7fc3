"""A gymnasium environment for Go, registered as ``gopolicy/Go-v0``.

``import gopolicy.env`` (or ``gopolicy.rl.env``) registers it, after which ``gymnasium.make("gopolicy/Go-v0", size=9)``
works; ``gymnasium.make("gopolicy.env:gopolicy/Go-v0")`` imports and registers in one go.
(``import gopolicy`` alone does not import gymnasium, and gymnasium 1.x no longer loads
plugin entry points, so one of the two is needed.)

* **Observation**: the feature planes (:func:`gopolicy.features.encode`) of the player to
  move, ``Box(0, 1, (planes, size, size), uint8)``, in the chosen ``feature_set``.
* **Action**: ``Discrete(size * size + 1)``: a flat point ``row * size + col`` (row 0 at the
  bottom), or ``size * size`` for a pass.
* **info["action_mask"]**: int8 (size * size + 1,), 1 where the move is legal (pass always),
  after every reset and step; ``env.action_space.sample(mask=...)`` takes it as it is.
  Also ``to_play`` (1 black, 2 white), ``move_number``; at the end ``score`` (Tromp-Taylor
  area, black minus white minus komi) and ``winner`` (1, 2, or 0 for a draw).
* **Reward**: 0 until the game ends with two passes in a row (``terminated``); then +1 for
  a win, -1 for a loss, 0 for a draw, from the view of the player who just moved
  (self-play) or of the agent (against an opponent).
* **Move cap**: ``max_moves`` moves in all, passes and the opponent's moves included
  (default 2 * size * size), end the episode with ``truncated`` and reward 0; ``info["score"]``
  still says how the board stands.
* **Illegal actions** (occupied, ko, suicide): ``illegal_action="raise"`` raises
  IllegalMoveError and leaves the board as it was; ``"lose"`` ends the game (``terminated``),
  the mover loses (reward -1), ``info["illegal_action"]`` is True and the board is untouched.
  An action outside the action space always raises ValueError.

Two ways to play: **self-play** (no opponent: the colours alternate, each step is the next
player's move) and **against an opponent** that moves by itself right after the agent (and
at reset when the agent is White), so a single-agent RL library can train against it.
``opponent`` is a callable ``(game, colour, mask) -> action`` (``game`` a copy of the
:class:`~gopolicy.go.rules.Game`, ``mask`` as in ``info["action_mask"]``, ``action`` an int or
None for a pass), ``"random"`` (uniform over its candidates, passing when there is none), a
:class:`~gopolicy.nn.policy.PolicyNetwork`, a model file's path, or a :mod:`gopolicy.play.selfplay`
player. Every built-in opponent chooses by the rule the GTP engine plays by
(:mod:`gopolicy.play.candidates`: legal, no repeated position, no own true eye, no stones
thrown away). An opponent with a
``seed(generator)`` method is handed ``env.np_random`` on ``reset(seed=...)`` (and at the
first reset), which makes whole episodes reproducible from the seed.

Render modes: ``"ansi"`` (a text board) and ``"rgb_array"`` (:func:`gopolicy.go.board_image.board_image`).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Optional, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gopolicy.errors import IllegalMoveError
from gopolicy.features import encode, get_feature_set
from gopolicy.go.board_image import board_image
from gopolicy.go.coords import (
    BLACK,
    WHITE,
    Move,
    action_to_move,
    check_size,
    colour_letter,
    colour_title,
    move_to_action,
    parse_colour,
    to_gtp,
)
from gopolicy.go.coords import opponent as other_colour
from gopolicy.go.rules import Game

ENV_ID = "gopolicy/Go-v0"
ILLEGAL_ACTION_MODES = ("raise", "lose")
Opponent = Callable[[Game, int, np.ndarray], Optional[int]]


def action_mask(game: Game, colour: int) -> np.ndarray:
    """int8 (size * size + 1,): 1 where ``colour`` may play now; the last entry, pass, is always 1."""
    return np.append(game.legal_mask(colour), True).astype(np.int8)


class PlayerOpponent:
    """A :mod:`gopolicy.play.selfplay` player (random or policy network) as an environment opponent."""

    def __init__(self, player: Any):
        self.player = player
        self.rng = np.random.default_rng()

    def seed(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, game: Game, colour: int, mask: np.ndarray) -> Optional[int]:
        (move,), _, _ = self.player.choose([game], [colour], self.rng)
        return move


def make_opponent(spec: Any) -> Optional[Opponent]:
    """``opponent=`` in any of its accepted forms -> a callable (None: self-play)."""
    if spec is None:
        return None
    from gopolicy.nn.policy import PolicyNetwork
    from gopolicy.play import selfplay  # imports torch: only when there is an opponent

    if isinstance(spec, str) and spec == "random":
        return PlayerOpponent(selfplay.RandomPlayer())
    if isinstance(spec, PolicyNetwork):
        return PlayerOpponent(selfplay.BatchPlayer.for_network(spec))
    if isinstance(spec, (str, os.PathLike)):
        return PlayerOpponent(selfplay.BatchPlayer.from_file(spec))
    if hasattr(spec, "choose"):
        return PlayerOpponent(spec)
    if callable(spec):
        return spec
    raise TypeError(f"opponent must be None, 'random', a callable, a PolicyNetwork, a model path or a "
                    f"player, got {type(spec).__name__}")


class GoEnv(gym.Env):
    """Go for one agent or for self-play; see the module's docstring for the spaces and rules."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(self, size: int = 19, komi: float = 7.5, feature_set: str = "alphago48",
                 max_moves: Optional[int] = None, illegal_action: str = "raise", opponent: Any = None,
                 agent_colour: Union[int, str] = "black", render_mode: Optional[str] = None):
        self.size = check_size(size)
        self.komi = float(komi)
        self.features = get_feature_set(feature_set)
        self.max_moves = 2 * size * size if max_moves is None else int(max_moves)
        if self.max_moves < 1:
            raise ValueError(f"max_moves must be >= 1, got {max_moves!r}")
        if illegal_action not in ILLEGAL_ACTION_MODES:
            raise ValueError(f"illegal_action must be one of {ILLEGAL_ACTION_MODES}, got {illegal_action!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.illegal_action, self.render_mode = illegal_action, render_mode
        self.opponent = make_opponent(opponent)
        self._agent_colour_option = self._parse_agent_colour(agent_colour)
        self.agent_colour = BLACK if self._agent_colour_option == "random" else self._agent_colour_option
        self.pass_action = move_to_action(None, size)
        self.observation_space = spaces.Box(0, 1, (self.features.planes, size, size), np.uint8)
        self.action_space = spaces.Discrete(size * size + 1)
        self.game = Game(size, self.komi)
        self._episode_over = True
        self._opponent_seeded = False

    @staticmethod
    def _parse_agent_colour(value: Union[int, str]) -> Union[int, str]:
        if value in (BLACK, WHITE) or value == "random":
            return value
        try:
            return parse_colour(value)
        except (ValueError, AttributeError):
            raise ValueError(f"agent_colour must be 'black', 'white' or 'random', got {value!r}") from None

    # -- gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.opponent is not None and hasattr(self.opponent, "seed") and (seed is not None or not self._opponent_seeded):
            self.opponent.seed(self.np_random)
            self._opponent_seeded = True
        if self._agent_colour_option == "random":
            self.agent_colour = BLACK if self.np_random.integers(2) == 0 else WHITE
        self.game = Game(self.size, self.komi)
        self._episode_over = False
        if self.opponent is not None and self.agent_colour == WHITE:
            self._opponent_move()
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._episode_over:
            raise gym.error.ResetNeeded("the episode is over: call reset() before step()")
        move = self._to_move(action)
        mover = self.game.to_move
        viewpoint = mover if self.opponent is None else self.agent_colour
        try:
            self.game.play(mover, move)  # an illegal move raises and leaves the game as it was
        except IllegalMoveError:
            if self.illegal_action == "raise":
                raise
            self._episode_over = True
            return self._observation(), -1.0, True, False, self._info(illegal_action=True, loser=mover)
        if self.opponent is not None and not self._game_stops():
            self._opponent_move()
        terminated = self.game.is_over
        truncated = not terminated and self.game.move_number >= self.max_moves
        self._episode_over = terminated or truncated
        reward = float(self._outcome(viewpoint)) if terminated else 0.0
        return self._observation(), reward, terminated, truncated, self._info()

    def render(self) -> Union[str, np.ndarray, None]:
        if self.render_mode == "ansi":
            return self.board_text()
        if self.render_mode == "rgb_array":
            last = self.game.last_move
            return board_image(self.game.stones(), last[1] if last else None)
        return None

    def action_masks(self) -> np.ndarray:
        """The legal actions as bools (the name sb3-contrib's MaskablePPO looks for)."""
        return action_mask(self.game, self.game.to_move).astype(bool)

    # -- pieces ---------------------------------------------------------------------------
    def board_text(self) -> str:
        """The board (``X`` black, ``O`` white) and a line saying who is to move."""
        last = self.game.last_move
        status = f"move {self.game.move_number}, {colour_title(self.game.to_move)} to play"
        if last is not None:
            status += f", last {colour_letter(last[0]).upper()} {to_gtp(last[1], self.size)}"
        if self.game.is_over:
            status += f", game over: {self.game.result()}"
        return f"{self.game}\n{status}\n"

    def _to_move(self, action: Any) -> Move:
        if not isinstance(action, (int, np.integer)) or isinstance(action, bool) or not 0 <= action <= self.pass_action:
            raise ValueError(f"action must be an int in 0..{self.pass_action} ({self.pass_action} = pass), got {action!r}")
        return action_to_move(int(action), self.size)

    def _game_stops(self) -> bool:
        return self.game.is_over or self.game.move_number >= self.max_moves

    def _opponent_move(self) -> None:
        colour = self.game.to_move
        action = self.opponent(self.game.copy(), colour, action_mask(self.game, colour))
        if action is not None and not (isinstance(action, (int, np.integer)) and 0 <= action <= self.pass_action):
            raise RuntimeError(f"the opponent returned {action!r}, not an action in 0..{self.pass_action} or None")
        move = None if action is None else action_to_move(int(action), self.size)
        if not self.game.is_legal(colour, move):
            raise RuntimeError(f"the opponent chose an illegal move: {colour_letter(colour)} {to_gtp(move, self.size)}")
        self.game.play(colour, move)

    def _outcome(self, viewpoint: int) -> int:
        score = self.game.score()
        return 0 if score == 0 else (1 if (score > 0) == (viewpoint == BLACK) else -1)

    def _observation(self) -> np.ndarray:
        return encode(self.game, self.game.to_move, self.features)

    def _info(self, illegal_action: bool = False, loser: Optional[int] = None) -> dict:
        info = {"action_mask": action_mask(self.game, self.game.to_move), "to_play": self.game.to_move,
                "move_number": self.game.move_number}
        if illegal_action:
            info.update(illegal_action=True, winner=other_colour(loser))
        elif self.game.is_over or self.game.move_number >= self.max_moves:
            score = self.game.score()
            info.update(score=score, winner=BLACK if score > 0 else WHITE if score < 0 else 0)
        return info


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="gopolicy.rl.env:GoEnv")
