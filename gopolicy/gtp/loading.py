"""Loading the engine's player in the background, so that the GTP engine answers at once:
torch and the models (the policy network, and the value network that makes the engine search)
load in a thread while the first commands (``name``, ``list_commands``, setting up the board)
are answered; the first command that needs the networks waits for them. What was loaded is
logged on stderr."""
from __future__ import annotations

import os
import sys
import threading
from typing import Callable, Optional, Union

import numpy as np

from gopolicy.errors import GopolicyError
from gopolicy.go.coords import BLACK, Move
from gopolicy.go.rules import Game
from gopolicy.gtp.protocol import GtpError
from gopolicy.play.player import EnginePlayer
from gopolicy.play.search import SearchResult


def log(message: str) -> None:
    """Engine messages go to stderr: stdout carries GTP only."""
    print(f"gopolicy gtp: {message}", file=sys.stderr, flush=True)


class BackgroundPlayer:
    """Stands in for the :class:`EnginePlayer` that ``load`` makes in a background thread: the
    engine answers commands meanwhile, and whatever needs the player waits for it. A load
    that fails makes those commands fail with its message."""

    def __init__(self, load: Callable[[], EnginePlayer]):
        self._player: Optional[EnginePlayer] = None
        self._error = "the model is not loaded"
        self._loaded = threading.Event()
        threading.Thread(target=self._load, args=(load,), name="load model", daemon=True).start()

    def _load(self, load: Callable[[], EnginePlayer]) -> None:
        try:
            self._player = load()
        except (GopolicyError, OSError, ValueError) as e:
            self._error = str(e)
            log(self._error)
        except Exception as e:  # whatever happens there, the engine must keep answering
            self._error = f"cannot load the model: {type(e).__name__}: {e}"
            log(self._error)
        finally:
            self._loaded.set()

    @property
    def loading(self) -> bool:
        return not self._loaded.is_set()

    def player(self) -> EnginePlayer:
        """The player, once loaded; GtpError if it could not be."""
        self._loaded.wait()
        if self._player is None:
            raise GtpError(self._error)
        return self._player

    can_play = staticmethod(EnginePlayer.can_play)

    def genmove(self, game: Game, colour: int, seconds: Optional[float] = None, **options) -> Union[Move, str]:
        return self.player().genmove(game, colour, seconds, **options)

    def policy(self, game: Game, colour: int) -> np.ndarray:
        return self.player().policy(game, colour)

    def searches(self, size: int) -> bool:
        return self.player().searches(size)

    def network_ownership(self, game: Game, colour: int) -> Optional[np.ndarray]:
        return self.player().network_ownership(game, colour)

    def ponder(self, game: Game, colour: int, seconds: Optional[float] = None, stop=None, **options) -> SearchResult:
        return self.player().ponder(game, colour, seconds, stop, **options)


def load_player(path: Union[os.PathLike, str], threads: Optional[int] = None, device: str = "auto",
                value_path: Optional[Union[os.PathLike, str]] = None, **options) -> EnginePlayer:
    """Reads a policy model file (and ``value_path``'s value network, if given) and makes their
    player (``device``: a ``--device`` value; ``options``: EnginePlayer's), run once to warm up."""
    import torch

    from gopolicy.nn.modelfile import load_model
    from gopolicy.util.args import resolve_device

    options["device"] = resolve_device(device)
    if threads:
        torch.set_num_threads(threads)
    model, info = load_model(path)
    if value_path is not None:
        options["value"], options["value_info"] = load_model(value_path, kind="value")
    player = EnginePlayer(model, info, **options)
    player.policy(Game(model.board_size), BLACK)  # the first runs set up the kernels: not during a game
    precision = f"{'bf16' if player.bf16 else 'fp32'} on {player.device}, {torch.get_num_threads()} thread(s)"
    log(f"loaded {path}: {info.architecture}, features {info.feature_set}, {precision}")
    if player.search is not None:
        size = player.search.evaluator.size
        player.ponder(Game(size), BLACK, playouts=2 * player.search.batch_size)
        player.search.reset()
        value_info = options["value_info"]
        limits = [f"{player.playouts} playouts"] if player.playouts else []
        limits += [f"{player.seconds:g} s"] if player.seconds else []
        log(f"loaded {value_path}: {value_info.architecture}, features {value_info.feature_set}; "
            f"searching {' or '.join(limits)} a move on {size}x{size} (batches of {player.search.batch_size}), "
            f"the raw policy on other sizes")
    elif value_path is not None:
        log(f"loaded {value_path}, but --playouts 0: the raw policy plays")
    else:
        log("no value network: the raw policy plays (no search)")
    return player
