# The VecEnv on a GPU: DLPack views that alias the engine's device memory, CUDA actions read in place, a
# caller's stream, and the same bits as the CPU backend for the same seed and actions. Skips without a
# CUDA build or device, or without torch built for CUDA. scripts/gpu-check.sh's `python` phase runs this
# file directly (`python3 python/tests/test_cuda.py`, no pytest needed there).
import sys

import numpy as np

import metta_cpp

try:
    import pytest
except ImportError:  # run by gpu-check.sh as a plain script
    pytest = None


def skip_reason():
    info = metta_cpp.build_info()
    if not info["cuda_devices"]:
        return f"no CUDA device for metta_cpp: {info['cuda_unavailable_reason']}"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "torch has no CUDA device here"
    return ""


if pytest is not None and skip_reason():
    pytestmark = pytest.mark.skip(reason=skip_reason())


def random_actions(env, steps, seed=1):
    rng = np.random.default_rng(seed)
    max_args = np.asarray(env.action_max_args)
    out = []
    for _ in range(steps):
        types = rng.integers(0, len(max_args), size=env.num_agents)
        args = (rng.random(env.num_agents) * (max_args[types] + 1)).astype(np.int64)
        out.append(np.stack([types, args], axis=1).astype(np.int32))
    return out


def test_dlpack_views_alias_device_memory():
    import torch

    env = metta_cpp.VecEnv("hearts_room", num_envs=4, device="cuda")
    addresses = env._core.buffer_addresses()
    for name in ("observations", "rewards", "terminals", "truncations", "actions"):
        t = torch.from_dlpack(getattr(env, name))
        assert t.is_cuda and t.data_ptr() == addresses[name], name
    obs = torch.from_dlpack(env.observations)
    env.reset(seed=0)
    env.step(torch.zeros((env.num_agents, 2), dtype=torch.int32, device="cuda"))
    torch.cuda.synchronize()
    assert torch.from_dlpack(env.observations).data_ptr() == obs.data_ptr()  # the same memory after a step


def test_cuda_steps_equal_cpu_steps_bit_for_bit():
    import torch

    cpu = metta_cpp.VecEnv("simple", num_envs=8, device="cpu", seed=3)
    gpu = metta_cpp.VecEnv("simple", num_envs=8, device="cuda", seed=3)
    cpu.reset(seed=3)
    gpu.reset(seed=3)
    stream = torch.cuda.Stream()
    for t, actions in enumerate(random_actions(cpu, 300)):
        cpu.step(actions)
        gpu.step(torch.from_numpy(actions).cuda())  # read in place from torch's memory
        torch.cuda.synchronize()
        for name in ("observations", "rewards", "terminals", "truncations"):
            a = getattr(cpu, name)
            b = torch.from_dlpack(getattr(gpu, name)).cpu().numpy()
            assert np.array_equal(a, b), f"step {t}: {name} differs"
    assert cpu.state_hash() == gpu.state_hash()
    on_stream = metta_cpp.VecEnv("simple", num_envs=8, device="cuda", seed=3, stream=stream)
    on_stream.reset(seed=3)
    with torch.cuda.stream(stream):
        for actions in random_actions(cpu, 300):
            on_stream.step(torch.from_numpy(actions).cuda())
    stream.synchronize()
    assert on_stream.state_hash() == gpu.state_hash()


def test_bad_cuda_actions_are_refused():
    import torch

    env = metta_cpp.VecEnv("hearts_room", num_envs=1, device="cuda")
    strided = torch.zeros((env.num_agents, 4), dtype=torch.int32, device="cuda")[:, ::2]
    try:
        env.step(strided)
    except ValueError as e:
        assert "must be contiguous" in str(e)
    else:
        raise AssertionError("a strided CUDA array was accepted")


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print(f"test_cuda: SKIPPED: {reason}")
        sys.exit(0)
    failed = 0
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
                print(f"test_cuda: {name}: PASS")
            except Exception as e:  # report every test, then fail
                failed += 1
                print(f"test_cuda: {name}: FAIL: {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)
