#!/usr/bin/env python3
"""What stepping metta-cpp from Python costs, measured in one run with torch imported (scripts/bench-python.sh).

Interleaved rounds, each timing for --seconds:
  cpp        bench_env (C++, the engine alone): simple, 64 envs, 1 thread and all threads
  vecenv     metta_cpp.VecEnv.step from Python at the same sizes and threads
  puffer     hearts_room, 64 envs, 1 thread: VecEnv.step vs metta_cpp.envs.MettaGridPufferEnv.step; and
             MettaGridPufferEnv on simple (64 envs x 24 agents), the peer's size
  peer       PyPI mettagrid's MettaGridPufferEnv (its default arena, 24 agents per env), 64 envs stepped in
             turn on 1 thread: the package's own PufferLib path (run with --peer-python)
Actions are uniform random valid ones, as bench_env draws them; Python draws a pool of them before the
clock starts (so numpy's generator is not timed), and bench_env's figure is taken less the time of its own
on-device draw (its actions_us counter), so both time the step alone (Python's includes the copy of the
actions into the engine).
Figures are agent-steps per second; the summary gives each round's figures, their median and their best
(on a shared VM, rounds vary by 10-30 % with the neighbours' load; the best is the least disturbed).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

POOL = 64  # distinct action arrays, cycled


def random_actions(env, rng) -> list:
    max_args = np.asarray(env.action_max_args)
    pool = []
    for _ in range(POOL):
        types = rng.integers(0, len(max_args), size=env.num_agents)
        args = (rng.random(env.num_agents) * (max_args[types] + 1)).astype(np.int64)
        pool.append(np.stack([types, args], axis=1).astype(np.int32))
    return pool


def steps_per_second(step, agents: int, seconds: float) -> float:
    for i in range(20):  # warm-up
        step(i)
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(32):
            step(n)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n * agents / elapsed


def vecenv_rate(env_name: str, envs: int, threads, seconds: float) -> float:
    import metta_cpp

    env = metta_cpp.VecEnv(env_name, envs, threads=threads, seed=1)
    env.reset()
    pool = random_actions(env, np.random.default_rng(1))
    rate = steps_per_second(lambda i: env.step(pool[i % POOL]), env.num_agents, seconds)
    env.close()
    return rate


def puffer_rate(env_name: str, envs: int, threads, seconds: float) -> float:
    from metta_cpp.envs import MettaGridPufferEnv

    env = MettaGridPufferEnv(env_name, num_envs=envs, threads=threads, seed=1)
    env.reset(seed=1)
    pool = random_actions(env.vecenv, np.random.default_rng(1))
    rate = steps_per_second(lambda i: env.step(pool[i % POOL]), env.num_agents, seconds)
    env.close()
    return rate


def cpp_rates(bench_env: str, seconds: float) -> dict:
    out = subprocess.run([bench_env, "--benchmark_filter=BM_SimpleCpu(1Thread|AllThreads)/64/",
                          f"--benchmark_min_time={seconds}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    import metta_cpp

    agents = metta_cpp.VecEnv("simple", 1).agents_per_env  # bench_env steps the embedded simple env
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        key = "1" if b["name"].startswith("BM_SimpleCpu1Thread") else "all"
        # less its on-device action draw (the actions_us counter), which Python does before the clock
        step_us = 1e6 * b["envs"] * agents / b["items_per_second"] - b["actions_us"]
        rates[key] = b["envs"] * agents / (step_us * 1e-6)
    return rates


PEER = r"""
import sys, time, numpy as np, torch
from mettagrid.builder.envs import make_arena
from mettagrid.envs.mettagrid_puffer_env import MettaGridPufferEnv
from mettagrid.simulator import Simulator
envs_n, seconds = int(sys.argv[1]), float(sys.argv[2])
envs = [MettaGridPufferEnv(Simulator(), make_arena(num_agents=24), seed=i) for i in range(envs_n)]
for e in envs:
    e.reset(seed=0)
rng = np.random.default_rng(1)
pool = [rng.integers(0, envs[0].single_action_space.n, size=envs[0].num_agents, dtype=np.int32) for _ in range(64)]
def step(i):
    for e in envs:
        e.step(pool[i % 64])
for i in range(5):
    step(i)
n, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    step(n)
    n += 1
print(n * envs_n * envs[0].num_agents / (time.perf_counter() - start))
"""


def peer_rate(python: str, pythonpath: str, envs: int, seconds: float) -> float:
    env = dict(os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS="1")
    out = subprocess.run([python, "-c", PEER, str(envs), str(seconds)], check=True, capture_output=True, text=True,
                         env=env).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench-env", required=True, help="the build's bin/bench_env")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="'all threads' (bench_env uses every core)")
    p.add_argument("--peer-python", default="", help="a Python with PyPI mettagrid ('' = no peer)")
    p.add_argument("--peer-pythonpath", default="", help="PYTHONPATH for it (where its torch and pufferlib are)")
    a = p.parse_args()

    import torch  # noqa: F401  (as a training script would have it)

    rows: dict = {}

    def record(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)
        print(f"  {key:<36} {value:>12,.0f} agent-steps/s", flush=True)

    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds}", flush=True)
        cpp = cpp_rates(a.bench_env, a.seconds)
        record("cpp bench_env simple 64 envs 1 thread", cpp["1"])
        record("python VecEnv simple 64 envs 1 thread", vecenv_rate("simple", 64, 1, a.seconds))
        record("cpp bench_env simple 64 envs all threads", cpp["all"])
        record(f"python VecEnv simple 64 envs {a.threads} threads", vecenv_rate("simple", 64, a.threads, a.seconds))
        record("python VecEnv hearts_room 64 envs", vecenv_rate("hearts_room", 64, 1, a.seconds))
        record("python MettaGridPufferEnv hearts_room 64", puffer_rate("hearts_room", 64, 1, a.seconds))
        record("python MettaGridPufferEnv simple 64x24", puffer_rate("simple", 64, 1, a.seconds))
        if a.peer_python:
            record("peer mettagrid MettaGridPufferEnv 64x24", peer_rate(a.peer_python, a.peer_pythonpath, 64, a.seconds))

    med = {k: statistics.median(v) for k, v in rows.items()}
    best = {k: max(v) for k, v in rows.items()}
    keys = list(med)

    def overhead(stat: dict, ref: str, ours: str) -> str:
        return f"{100.0 * (stat[ref] / stat[ours] - 1.0):+5.1f} %"

    print("\n== summary: agent-steps/s, median and best of the interleaved rounds ==")
    for k in keys:
        print(f"{k:<40} median {med[k]:>11,.0f}  best {best[k]:>11,.0f}   rounds: "
              f"{', '.join(f'{v:,.0f}' for v in rows[k])}")
    print("time per step, median / best:")
    print(f"  VecEnv.step over bench_env, 1 thread:        {overhead(med, keys[0], keys[1])} / "
          f"{overhead(best, keys[0], keys[1])}   (goal <= +3 %)")
    print(f"  VecEnv.step over bench_env, {a.threads} threads:       {overhead(med, keys[2], keys[3])} / "
          f"{overhead(best, keys[2], keys[3])}")
    print(f"  MettaGridPufferEnv over VecEnv, hearts_room: {overhead(med, keys[4], keys[5])} / "
          f"{overhead(best, keys[4], keys[5])}   (goal <= +10 %)")
    if a.peer_python:
        print(f"MettaGridPufferEnv, ours / PyPI mettagrid's: {med[keys[6]] / med[keys[7]]:.1f}x median, "
              f"{best[keys[6]] / best[keys[7]]:.1f}x best   (goal >= 10x; 64 envs x 24 agents on 1 thread each: "
              "our simple, its default arena)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
