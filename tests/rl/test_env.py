"""The gymnasium Go environment: API conformance, rules against an independent replay, modes, rendering."""
from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from gopolicy.errors import IllegalMoveError
from gopolicy.features import encode
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.go.rules import Game
from gopolicy.nn.policy import PolicyNetwork
from gopolicy.rl.env import ENV_ID, GoEnv

torch.set_num_threads(1)


def sign(x: float) -> int:
    return (x > 0) - (x < 0)


@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_gymnasium_env_checker_passes_without_warnings(render_mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(ENV_ID, size=9, render_mode=render_mode).unwrapped)
        check_env(gym.make(ENV_ID, size=5, feature_set="alphago4", opponent="random", agent_colour="white",
                           illegal_action="lose", render_mode=render_mode).unwrapped)


def test_registered_id_makes_the_environment():
    env = gym.make(ENV_ID, size=7, komi=0.5, feature_set="alphago12")
    obs, info = env.reset(seed=0)
    assert env.spec.id == "gopolicy/Go-v0"
    assert obs.shape == (12, 7, 7) and obs.dtype == np.uint8
    assert env.action_space.n == 50 and env.unwrapped.pass_action == 49
    assert info["action_mask"].shape == (50,) and info["action_mask"].all()


def test_import_gopolicy_stays_light_and_the_module_path_form_registers():
    code = ("import sys, gopolicy; assert 'gymnasium' not in sys.modules and 'torch' not in sys.modules; "
            "import gymnasium; env = gymnasium.make('gopolicy.rl.env:gopolicy/Go-v0', size=9); "
            "print(env.reset(seed=1)[0].shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(48, 9, 9)"


def test_random_games_agree_with_an_independent_replay():
    """50 9x9 games, uniformly random over the mask: the mask is the rules' legal mask plus
    pass, rewards are 0 until two passes, then the mover's result by Game.score()."""
    env = GoEnv(size=9, komi=5.5, feature_set="alphago4")
    rng = np.random.default_rng(2024)
    endings = {"terminated": 0, "truncated": 0}
    for episode in range(50):
        obs, info = env.reset(seed=episode)
        replay = Game(9, 5.5)
        while True:
            colour = replay.to_move
            mask = info["action_mask"]
            assert info["to_play"] == colour
            assert mask.dtype == np.int8 and mask[-1] == 1
            assert np.array_equal(mask[:-1].astype(bool), replay.legal_mask(colour))
            assert np.array_equal(obs, encode(replay, colour, "alphago4"))
            if replay.move_number % 16 == 0:  # every point, asked one by one
                assert [bool(m) for m in mask[:-1]] == [replay.is_legal(colour, p) for p in range(81)]
            action = int(rng.choice(np.flatnonzero(mask)))
            obs, reward, terminated, truncated, info = env.step(action)
            replay.play(colour, None if action == 81 else action)
            if not (terminated or truncated):
                assert reward == 0.0
                continue
            if terminated:
                endings["terminated"] += 1
                assert replay.is_over and replay.history[-2][1] is None and replay.history[-1][1] is None
                expected = sign(replay.score()) * (1 if colour == BLACK else -1)
                assert reward == expected and info["score"] == replay.score()
            else:
                endings["truncated"] += 1
                assert not replay.is_over and replay.move_number == 2 * 81 and reward == 0.0
            break
        with pytest.raises(gym.error.ResetNeeded):
            env.step(81)
    assert endings["terminated"] > 10 and endings["truncated"] > 0  # both endings were checked


def test_illegal_action_raise_leaves_the_board_untouched():
    env = GoEnv(size=9, illegal_action="raise")
    env.reset(seed=0)
    env.step(from_gtp("E5", 9))
    before = env.game.stones().copy()
    with pytest.raises(IllegalMoveError, match="occupied"):
        env.step(from_gtp("E5", 9))
    assert np.array_equal(env.game.stones(), before) and env.game.move_number == 1 and env.game.to_move == WHITE
    for bad in (-1, 82, 3.0, "E5", True):
        with pytest.raises(ValueError, match="action must be an int"):
            env.step(bad)
    _, reward, terminated, _, _ = env.step(from_gtp("D4", 9))  # the game goes on
    assert (reward, terminated, env.game.move_number) == (0.0, False, 2)


def test_illegal_action_lose_ends_the_game_against_the_mover():
    env = GoEnv(size=9, illegal_action="lose")
    env.reset(seed=0)
    # black surrounds A1; white playing there is suicide
    for vertex in ("A2", "J9", "B1"):
        env.step(from_gtp(vertex, 9))
    before = env.game.stones().copy()
    obs, reward, terminated, truncated, info = env.step(from_gtp("A1", 9))
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert info["illegal_action"] is True and info["winner"] == BLACK
    assert np.array_equal(env.game.stones(), before) and env.game.move_number == 3
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


def trajectory(env: GoEnv, seed: int, steps: int = 30) -> list:
    obs, info = env.reset(seed=seed)
    out = [obs.tobytes()]
    for _ in range(steps):
        legal = np.flatnonzero(info["action_mask"][:-1])
        obs, reward, terminated, truncated, info = env.step(int(legal[len(legal) // 2]))
        out.append((obs.tobytes(), reward, terminated, truncated))
        if terminated or truncated:
            break
    return out


def test_seeded_episodes_repeat_exactly():
    env = GoEnv(size=9, opponent="random", agent_colour="random")
    first, again = trajectory(env, seed=7), trajectory(GoEnv(size=9, opponent="random", agent_colour="random"), seed=7)
    assert first == again
    assert trajectory(env, seed=8) != first  # the random opponent follows the seed


def test_opponent_moves_after_the_agent_and_first_when_the_agent_is_white():
    seen = []

    def first_legal(game: Game, colour: int, mask: np.ndarray) -> int:
        seen.append((colour, game.move_number))
        game.play(colour, int(np.flatnonzero(mask)[0]))  # a copy: the environment must not notice
        return int(np.flatnonzero(mask)[0])

    env = GoEnv(size=9, opponent=first_legal, agent_colour="white")
    obs, info = env.reset(seed=0)
    assert seen == [(BLACK, 0)] and env.game.move_number == 1 and info["to_play"] == WHITE
    assert env.game.stones()[0, 0] == BLACK  # the opponent's first legal point, A1, once
    assert np.array_equal(obs, encode(env.game, WHITE))
    obs, reward, terminated, truncated, info = env.step(from_gtp("E5", 9))
    assert env.game.move_number == 3 and info["to_play"] == WHITE and seen[-1] == (BLACK, 2)
    # the agent passes twice while the opponent plays on; then both pass: the reward is the agent's
    env = GoEnv(size=5, komi=0.5, opponent=lambda game, colour, mask: None, agent_colour="black")
    env.reset(seed=0)
    env.step(12)  # black C3 then a white pass
    obs, reward, terminated, truncated, info = env.step(25)  # black pass ends it: black owns the board
    assert terminated and reward == 1.0 and info["winner"] == BLACK and info["score"] == 25 - 0.5


def test_a_broken_opponent_is_an_error_not_a_corrupt_board():
    env = GoEnv(size=9, opponent=lambda game, colour, mask: 40)  # E5, again and again
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(RuntimeError, match="illegal move"):
        env.step(1)
    assert env.game.stones()[4, 4] == WHITE and env.game.move_number == 3
    with pytest.raises(TypeError, match="opponent must be"):
        GoEnv(size=9, opponent=3)


def test_policy_network_opponent_plays_legal_moves():
    torch.manual_seed(0)
    net = PolicyNetwork(planes=4, filters=8, layers=3, board_size=9)
    env = GoEnv(size=9, opponent=net, agent_colour="white", max_moves=60)
    obs, info = env.reset(seed=3)
    assert env.game.move_number == 1 and env.game.history[0][1] is not None
    rng = np.random.default_rng(0)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        done = terminated or truncated
    assert env.game.move_number <= 60


def test_render_ansi_and_rgb_array():
    env = GoEnv(size=9, render_mode="ansi")
    env.reset(seed=0)
    env.step(from_gtp("C3", 9))
    text = env.render()
    assert " 3 . . X . . . . . . 3" in text and "last B C3" in text and "White to play" in text
    env = GoEnv(size=9, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(from_gtp("C3", 9))
    env.step(from_gtp("G7", 9))
    image = env.render()
    assert image.shape == (240, 240, 3) and image.dtype == np.uint8

    def pixel(vertex, dy=0, dx=0):
        return image[24 + (8 - (from_gtp(vertex, 9) // 9)) * 24 + dy, 24 + (from_gtp(vertex, 9) % 9) * 24 + dx].astype(int)

    assert pixel("C3", 6, 6).max() < 60  # inside the black stone
    assert pixel("G7", 6, 6).min() > 200  # inside the white stone
    red = pixel("G7")
    assert red[0] > 150 and red[1] < 80  # the last-move marker
    assert tuple(image[5, 5]) == (220, 179, 92)  # wood in the margin
    assert pixel("E5", 6, 6).tolist() == [220, 179, 92] and pixel("E5", 6).tolist() == [40, 30, 20]  # grid line


def test_sync_vector_env_batches_observations_and_masks():
    envs = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="sync", size=9, feature_set="alphago4")
    obs, infos = envs.reset(seed=[1, 2, 3])
    assert obs.shape == (3, 4, 9, 9) and infos["action_mask"].shape == (3, 82)
    obs, rewards, terminated, truncated, infos = envs.step(np.array([0, 40, 81]))
    assert rewards.tolist() == [0.0, 0.0, 0.0] and not terminated.any()
    assert infos["action_mask"][0, 0] == 0 and infos["action_mask"][1, 40] == 0 and infos["action_mask"][2].all()
    envs.close()
