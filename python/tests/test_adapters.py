# The adapters, checked by the third-party clients' own checkers: PettingZoo's parallel_api_test and
# parallel_seed_test, Gymnasium's check_env, and Gymnasium's SyncVectorEnv as the reference behaviour of
# MettaGridVectorEnv through several autoresets.
import numpy as np
import pytest

from metta_cpp import envs

gymnasium = pytest.importorskip("gymnasium")


def test_pettingzoo_parallel_api_test_passes():
    from pettingzoo.test import parallel_api_test

    parallel_api_test(envs.MettaGridPettingZooEnv("hearts_room"), num_cycles=250)


def test_pettingzoo_parallel_seed_test_passes():
    from pettingzoo.test import parallel_seed_test

    parallel_seed_test(lambda: envs.MettaGridPettingZooEnv("hearts_room"), num_cycles=50)


def test_pettingzoo_agents_leave_when_the_episode_ends():
    env = envs.MettaGridPettingZooEnv("hearts_solo")
    obs, infos = env.reset(seed=3)
    assert env.agents == ["agent_0"] and obs["agent_0"].shape == (200, 3)
    for t in range(100):
        obs, rewards, terms, truncs, infos = env.step({"agent_0": env.action_space("agent_0").sample()})
    assert truncs["agent_0"] and env.agents == []
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({})
    env.reset()
    with pytest.raises(ValueError, match="unknown agent 'agent_9'"):
        env.step({"agent_9": np.zeros(2, np.int32)})


def test_gymnasium_check_env_passes_on_the_one_agent_env():
    from gymnasium.utils.env_checker import check_env

    check_env(envs.MettaGridGymEnv("hearts_solo"), skip_render_check=True)


def test_the_gym_env_refuses_a_config_of_several_agents():
    with pytest.raises(ValueError, match="'hearts_room' has 4 agents, expected a one-agent config"):
        envs.MettaGridGymEnv("hearts_room")


def test_vector_env_steps_as_gymnasiums_sync_vector_env_through_autoresets():
    n = 4
    native = envs.MettaGridVectorEnv("hearts_solo", num_envs=n)
    assert native.metadata["autoreset_mode"] == gymnasium.vector.AutoresetMode.NEXT_STEP
    reference = gymnasium.vector.SyncVectorEnv([lambda i=i: envs.MettaGridGymEnv("hearts_solo", env_index=i)
                                                for i in range(n)],
                                               autoreset_mode=gymnasium.vector.AutoresetMode.NEXT_STEP)
    assert native.single_observation_space == reference.single_observation_space
    assert native.single_action_space == reference.single_action_space
    obs_a, _ = native.reset(seed=9)
    obs_b, _ = reference.reset(seed=[9] * n)
    np.testing.assert_array_equal(obs_a, obs_b)
    rng = np.random.default_rng(0)
    resets = 0
    for t in range(260):  # 100-step episodes: two autoresets per row
        actions = np.stack([rng.integers(0, 9, n), rng.integers(0, 10, n)], axis=1).astype(np.int32)
        a = native.step(actions)
        b = reference.step(actions)
        for got, want, name in zip(a[:4], b[:4], ("observations", "rewards", "terminations", "truncations")):
            np.testing.assert_array_equal(got, want, err_msg=f"step {t}: {name}")
        resets += int(a[3].sum())
    assert resets == 2 * n
    native.close()
    reference.close()


def test_vector_env_reports_completed_episodes_in_gymnasium_info_form():
    env = envs.MettaGridVectorEnv("hearts_solo", num_envs=2)
    env.reset(seed=0)
    found = None
    for t in range(101):
        _, _, _, _, infos = env.step(np.zeros((2, 2), np.int32))
        if infos:
            found = infos
    assert found is not None and found["_completed_episodes"].any()
    assert found["completed_episodes"][found["_completed_episodes"]][0]["episodes"] == 2
