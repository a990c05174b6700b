# metta_cpp.VecEnv: zero-copy views of the engine's buffers, stepping, seeds, curricula, and bad input.
import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import metta_cpp

VIEWS = ("observations", "rewards", "terminals", "truncations", "masks", "actions")


def random_actions(env, rng):
    a = np.empty((env.num_agents, 2), dtype=np.int32)
    a[:, 0] = rng.integers(0, len(env.action_names), env.num_agents)
    a[:, 1] = rng.integers(0, max(env.action_max_args) + 1, env.num_agents)
    return a


def run(env, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        env.step(random_actions(env, rng))
    return env.state_hash()


def test_views_are_the_engines_buffers_and_stay_the_same_objects():
    env = metta_cpp.VecEnv("hearts_room", num_envs=3, seed=2)
    addresses = env._core.buffer_addresses()
    views = {name: getattr(env, name) for name in VIEWS}
    for name, view in views.items():
        assert view.ctypes.data == addresses[name], name
    assert env.observations.shape == (12, 200, 3) and env.observations.dtype == np.uint8
    assert env.rewards.dtype == np.float32 and env.terminals.dtype == np.bool_ and env.actions.dtype == np.int32
    obs, _ = env.reset(seed=4)
    assert obs is views["observations"]
    out = env.step(np.zeros((12, 2), np.int32))
    for got, name in zip(out[:4], VIEWS):
        assert got is views[name]
    for name in VIEWS:
        assert getattr(env, name) is views[name]
        assert getattr(env, name).ctypes.data == env._core.buffer_addresses()[name]
    assert env.masks.all()


def test_torch_from_numpy_shares_the_memory(torch):
    env = metta_cpp.VecEnv("simple", num_envs=1)
    t = torch.from_numpy(env.observations)
    assert t.data_ptr() == env._core.buffer_addresses()["observations"]
    env.step(np.zeros((env.num_agents, 2), np.int32))
    assert torch.equal(t, torch.from_numpy(env.observations.copy()))


def test_a_step_changes_what_the_views_show():
    env = metta_cpp.VecEnv("hearts_solo", num_envs=2, seed=1)
    first = env.observations.copy()
    rng = np.random.default_rng(0)
    changed = False
    for _ in range(20):
        env.step(random_actions(env, rng))
        changed |= not np.array_equal(first, env.observations)
    assert changed


def test_same_seed_same_worlds_and_threads_do_not_matter():
    a = run(metta_cpp.VecEnv("simple", num_envs=4, seed=7, threads=1), 60)
    b = run(metta_cpp.VecEnv("simple", num_envs=4, seed=7, threads=2), 60)
    c = run(metta_cpp.VecEnv("simple", num_envs=4, seed=8, threads=2), 60)
    assert a == b and a != c


def test_reset_with_a_seed_starts_over_as_a_new_batch_of_that_seed():
    fresh = metta_cpp.VecEnv("hearts_room", num_envs=2, seed=5)
    reused = metta_cpp.VecEnv("hearts_room", num_envs=2, seed=1)
    run(reused, 230)
    reused.reset(seed=5)
    assert reused.state_hash() == fresh.state_hash()
    assert np.array_equal(reused.observations, fresh.observations)
    assert run(reused, 50, seed=3) == run(fresh, 50, seed=3)


def test_strided_actions_step_as_contiguous_ones_and_the_actions_view_needs_no_argument():
    rng = np.random.default_rng(1)
    envs = [metta_cpp.VecEnv("hearts_room", num_envs=2, seed=3) for _ in range(3)]
    for _ in range(30):
        a = random_actions(envs[0], rng)
        envs[0].step(a)
        envs[1].step(np.asfortranarray(a))  # column-major: strides (1, agents)
        assert not np.asfortranarray(a).flags.c_contiguous
        envs[2].actions[:] = a
        envs[2].step()
    assert envs[0].state_hash() == envs[1].state_hash() == envs[2].state_hash()


def test_torch_actions_are_accepted(torch):
    rng = np.random.default_rng(2)
    a, b = (metta_cpp.VecEnv("hearts_room", num_envs=1, seed=3) for _ in range(2))
    for _ in range(10):
        acts = random_actions(a, rng)
        a.step(acts)
        b.step(torch.from_numpy(acts.T.copy()).T)  # a transposed, non-contiguous tensor, as PuffeRL sends
    assert a.state_hash() == b.state_hash()


def test_completed_episodes_come_the_step_after_the_flags():
    env = metta_cpp.VecEnv("hearts_solo", num_envs=3, seed=0)
    rng = np.random.default_rng(0)
    reports, flagged_at = [], None
    for t in range(env.max_steps + 2):
        _, _, terminals, truncations, infos = env.step(random_actions(env, rng))
        if (terminals | truncations).any() and flagged_at is None:
            flagged_at = t
        reports += [(t, i) for i in infos]
    assert flagged_at == env.max_steps - 1
    assert [t for t, _ in reports] == [flagged_at + 1]
    info = reports[0][1]
    assert info["episodes"] == 3 and info["mean_length"] == env.max_steps
    assert "action.move.success" in info["agent"] or "action.move.failed" in info["agent"]
    assert env.completed_episodes()["episodes"] == 0  # read and cleared


def test_a_curriculum_hears_of_the_episodes_read(tmp_path):
    cur = tmp_path / "two_rooms.yaml"
    cur.write_text("_target_: metta.mettagrid.curriculum.random.RandomCurriculum\n"
                   "tasks:\n  hearts_room: 1\n  hearts_solo_4.yaml: 1\n")
    (tmp_path / "hearts_solo_4.yaml").write_text(open(os.path.join(os.path.dirname(__file__), "..", "..", "configs",
                                                                   "env", "mettagrid", "hearts_room.yaml")).read()
                                                 .replace("max_steps: 200", "max_steps: 50"))
    env = metta_cpp.VecEnv(str(cur), num_envs=4, seed=0)
    assert env._core.num_tasks == 2 and env._core.has_curriculum
    rng = np.random.default_rng(0)
    infos = []
    for _ in range(60):
        infos += env.step(random_actions(env, rng))[4]
    assert infos and "curriculum" in infos[0]
    assert any(k.startswith("env_curriculum_task_probs/") or "task" in k for k in infos[0]["curriculum"])


def test_views_outlive_their_env_and_a_closed_env_says_so():
    env = metta_cpp.VecEnv("simple", num_envs=2)
    obs, rewards = env.observations, env.rewards
    expected = obs.copy()
    env.close()
    assert env.closed and not hasattr(env, "observations")
    with pytest.raises(metta_cpp.Error, match="closed"):
        env.step()
    with pytest.raises(metta_cpp.Error, match="closed"):
        env.reset()
    del env
    gc.collect()
    assert np.array_equal(obs, expected) and rewards.shape == (48,)  # still the engine's memory, alive


def test_bad_actions_name_what_was_expected():
    env = metta_cpp.VecEnv("hearts_room", num_envs=2)
    with pytest.raises(TypeError, match=r"got dtype int64, expected int32 \[8, 2\]"):
        env.step(np.zeros((8, 2), np.int64))
    with pytest.raises(TypeError, match=r"got dtype float32"):
        env.step(np.zeros((8, 2), np.float32))
    with pytest.raises(ValueError, match=r"got shape \(8,\), expected \(8, 2\)"):
        env.step(np.zeros(8, np.int32))
    with pytest.raises(ValueError, match=r"got shape \(4, 2\), expected \(8, 2\)"):
        env.step(np.zeros((4, 2), np.int32))
    bad = np.zeros((8, 2), np.int32)
    bad[5] = (len(env.action_names), 0)
    with pytest.raises(ValueError, match=r"actions\[5\] = \(9, 0\): expected an action type in \[0, 8\]"):
        env.step(bad)
    bad[5] = (1, -1)
    with pytest.raises(ValueError, match=r"argument in \[0, 9\]"):
        env.step(bad)
    with pytest.raises(TypeError):
        env.step([[0, 0]] * 8)  # not an array


def test_cuda_actions_on_a_cpu_env_are_refused(torch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch here")
    env = metta_cpp.VecEnv("hearts_room", num_envs=1)
    with pytest.raises(TypeError, match="got an array on cuda, expected one on the CPU"):
        env.step(torch.zeros((4, 2), dtype=torch.int32, device="cuda"))


def test_bad_construction_names_the_argument():
    with pytest.raises(metta_cpp.ConfigError, match="did you mean 'hearts_room'") as e:
        metta_cpp.VecEnv("hearts_rom")
    assert isinstance(e.value, ValueError)
    with pytest.raises(metta_cpp.ConfigError, match="env.num_envs: got 0"):
        metta_cpp.VecEnv("simple", num_envs=0)
    with pytest.raises(ValueError, match="threads: got 0, expected None"):
        metta_cpp.VecEnv("simple", threads=0)
    with pytest.raises(ValueError, match="device: got 'tpu', expected 'cpu' or 'cuda'"):
        metta_cpp.VecEnv("simple", device="tpu")
    if not metta_cpp.build_info()["cuda_devices"]:
        with pytest.raises(ValueError, match="device='cuda': "):
            metta_cpp.VecEnv("simple", device="cuda")


def test_a_bad_yaml_file_is_a_config_error_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("game:\n  num_agents: 2\n  max_steps: -3\n")
    with pytest.raises(metta_cpp.ConfigError, match=r"bad.yaml"):
        metta_cpp.VecEnv(str(bad))


def test_the_process_may_fork_after_construction():
    # In a fresh interpreter (this one has run parallel steps already): the child steps with 2 threads,
    # which hangs if the constructor had started libgomp's pool before the fork.
    script = """
import os, signal, sys
import numpy as np
import metta_cpp
env = metta_cpp.VecEnv("simple", num_envs=4, threads=2)
pid = os.fork()
if pid == 0:
    signal.alarm(60)
    for t in range(5):
        env.step(np.zeros((env.num_agents, 2), np.int32))
    os._exit(0)
_, status = os.waitpid(pid, 0)
sys.exit(0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 3)
"""
    done = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert done.returncode == 0


def test_build_info_names_backends_and_versions():
    info = metta_cpp.build_info()
    assert info["version"] == metta_cpp.__version__
    assert "cpu" in info["backends"] and info["nanobind"].startswith("3.")
    assert info["cuda_compiled"] == ("cuda" in info["backends"])
    assert info["openmp_max_threads"] >= 1
