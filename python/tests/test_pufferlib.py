# PufferLib 3 (pufferlib-core) with metta_cpp.envs.MettaGridPufferEnv: the native backend hands PufferLib our
# views, the Serial backend's shared buffers get each step's results, and PufferLib's own PPO trains on
# the env (pufferlib_ppo.py, in a process of its own) to beat a random policy measured in the same run.
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pufferlib = pytest.importorskip(
    "pufferlib", reason="pufferlib-core is not installed in this venv (scripts/python-venv.sh installs it with torch)")
import pufferlib.vector  # noqa: E402

from metta_cpp import VecEnv, envs  # noqa: E402


def test_the_native_backend_uses_our_buffers_and_returns_infos_as_a_list():
    env = pufferlib.vector.make(envs.MettaGridPufferEnv, backend=pufferlib.PufferEnv,
                                env_kwargs=dict(env="hearts_room", num_envs=8, seed=1))
    addresses = env.vecenv._core.buffer_addresses()
    for name in ("observations", "rewards", "terminals", "truncations", "masks", "actions"):
        assert getattr(env, name).ctypes.data == addresses[name], name
    assert env.num_agents == 32 and env.agents_per_batch == 32
    assert env.observation_space.shape == (32, 200, 3) and env.action_space.shape == (32, 2)
    env.async_reset(1)
    infos_seen = []
    for _ in range(202):
        env.send(np.zeros((32, 2), np.int32))
        o, r, d, t, ta, infos, ids, mask = env.recv()
        assert o is env.observations and isinstance(infos, list) and mask.all()
        infos_seen += infos
    assert infos_seen and infos_seen[0]["episodes"] == 8
    env.close()


def test_the_serial_backend_gets_each_steps_results_in_its_buffers():
    vec = pufferlib.vector.make(envs.MettaGridPufferEnv, backend=pufferlib.vector.Serial, num_envs=2, seed=5,
                                env_kwargs=dict(env="hearts_room", num_envs=1))
    direct = [VecEnv("hearts_room", num_envs=1, seed=5 + i) for i in range(2)]
    vec.async_reset(5)
    o, *_ = vec.recv()
    np.testing.assert_array_equal(o, np.concatenate([d.reset(seed=s)[0] for d, s in zip(direct, (5, 6))]))
    rng = np.random.default_rng(0)
    for t in range(30):
        actions = np.stack([rng.integers(0, 9, 8), rng.integers(0, 10, 8)], 1).astype(np.int32)
        vec.send(actions)
        o, r, *_ = vec.recv()
        want = np.concatenate([d.step(actions[4 * i:4 * i + 4])[0] for i, d in enumerate(direct)])
        np.testing.assert_array_equal(o, want, err_msg=f"step {t}")
    vec.close()


def test_pufferlibs_ppo_trains_on_our_env_and_beats_a_random_policy(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "pufferlib_ppo.py")
    done = subprocess.run([sys.executable, script, str(tmp_path), "300000"], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(result)
    assert result["agent_steps"] >= 300000
    # measured on 200+ episodes each, on the same envs and seeds: random ~0.05, trained ~0.15 at 200k steps
    assert result["trained"] > 1.5 * result["random"] + 0.02, result
