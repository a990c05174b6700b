#!/usr/bin/env python3
"""Throughput of the PyPI `mettagrid` package on its own default arena, one core.

Used by scripts/peer-bench.sh to put a peer figure next to `metta sim`.

Builds `mettagrid.builder.envs.make_arena(num_agents=24)`, the package's
default arena, and steps it with uniformly random valid actions for a fixed
wall-clock time. Two figures are printed:

  peer_agent_steps_per_s       stepping through `Simulation.step()`, the public
                               step path that the package's own Gym/PettingZoo/
                               PufferLib wrappers go through (C++ step plus its
                               per-step Python bookkeeping)
  peer_core_agent_steps_per_s  calling the C++ core's step() directly, with no
                               Python bookkeeping: an upper bound for the package

Agent-steps = env steps x num_agents. Episode ends are handled by starting a
new simulation (the package's reset), and that time is counted.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version

import numpy as np
from mettagrid.builder.envs import make_arena
from mettagrid.simulator import Simulator
from mettagrid.simulator.simulator import Buffers

NUM_AGENTS = 24
# Distinct action rows kept in memory; cycled through so sampling costs nothing in the timed loop.
ACTION_BATCH_STEPS = 16384
# Steps between clock reads, so perf_counter() is not a visible part of the loop.
CHUNK = 64


def make_buffers(num_agents: int, obs_shape: tuple[int, ...]) -> Buffers:
    # Caller-owned buffers (as the package's PufferLib wrapper uses) stay valid across resets,
    # so the loop below never has to look them up again after a new simulation starts.
    return Buffers(
        observations=np.zeros((num_agents, *obs_shape), dtype=np.uint8),
        terminals=np.zeros(num_agents, dtype=np.bool_),
        truncations=np.zeros(num_agents, dtype=np.bool_),
        rewards=np.zeros(num_agents, dtype=np.float32),
        masks=np.ones(num_agents, dtype=np.bool_),
        actions=np.zeros(num_agents, dtype=np.int32),
        teacher_actions=np.zeros(num_agents, dtype=np.int32),
    )


class Runner:
    """One env of the default arena plus the bookkeeping for resets."""

    def __init__(self, seed: int, max_steps: int):
        self.cfg = make_arena(num_agents=NUM_AGENTS)
        if max_steps > 0:
            self.cfg.game.max_steps = max_steps
        self.simulator = Simulator()
        self.seed = seed
        self.episodes = 0
        # A throwaway simulation tells us the observation shape needed to size the buffers.
        probe = self.simulator.new_simulation(self.cfg, seed=seed)
        self.obs_shape = tuple(probe.observation_shape)
        self.num_agents = probe.num_agents
        self.action_names = list(probe.action_names)
        self.map_w, self.map_h = probe.map_width, probe.map_height
        probe.close()
        self.buffers = make_buffers(self.num_agents, self.obs_shape)
        self.sim = self.simulator.new_simulation(self.cfg, seed=seed, buffers=self.buffers)

    def reset(self) -> None:
        # A fresh simulation with a new seed is how the package starts the next episode.
        self.sim.close()
        self.episodes += 1
        self.sim = self.simulator.new_simulation(self.cfg, seed=self.seed + self.episodes, buffers=self.buffers)

    def run(self, actions: np.ndarray, seconds: float, core: bool, start_row: int = 0) -> tuple[int, float, int]:
        """Step for `seconds`; returns (env_steps, elapsed_s, next action row)."""
        act_buf = self.buffers.actions
        rows = actions.shape[0]
        row = start_row
        steps = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while True:
            for _ in range(CHUNK):
                act_buf[:] = actions[row]
                row = row + 1 if row + 1 < rows else 0
                if core:
                    c_sim = self.sim._c_sim
                    c_sim.step()
                    # Same end-of-episode test Simulation.is_done() applies.
                    if c_sim.truncations().all() or c_sim.terminals().all():
                        self.reset()
                else:
                    self.sim.step()
                    if self.sim.is_done():
                        self.reset()
            steps += CHUNK
            now = time.perf_counter()
            if now >= deadline:
                return steps, now - t0, row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="timed seconds per measured path")
    ap.add_argument("--warmup", type=float, default=1.0, help="untimed seconds before each measurement")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="episode length; 0 keeps the arena's default")
    ap.add_argument("--no-core", action="store_true", help="skip the direct C++ core measurement")
    args = ap.parse_args()

    runner = Runner(args.seed, args.max_steps)
    n_actions = len(runner.action_names)

    # Uniform over every valid discrete action index, generated once up front.
    rng = np.random.default_rng(args.seed)
    actions = rng.integers(0, n_actions, size=(ACTION_BATCH_STEPS, runner.num_agents), dtype=np.int32)

    print(
        f"peer: mettagrid {version('mettagrid')} make_arena(num_agents={NUM_AGENTS}) "
        f"label={runner.cfg.label!r}: {runner.num_agents} agents, map {runner.map_w}x{runner.map_h}, "
        f"obs {runner.obs_shape} uint8 tokens ({runner.cfg.game.obs.width}x{runner.cfg.game.obs.height} window), "
        f"{n_actions} actions {runner.action_names}, max_steps={runner.cfg.game.max_steps}, 1 env, random actions"
    )
    sys.stdout.flush()

    results = {}
    paths = [("sim", False)] + ([] if args.no_core else [("core", True)])
    row = 0
    for name, core in paths:
        _, _, row = runner.run(actions, args.warmup, core, row)
        eps_before = runner.episodes
        steps, elapsed, row = runner.run(actions, args.seconds, core, row)
        agent_sps = steps * runner.num_agents / elapsed
        results[name] = agent_sps
        print(
            f"peer[{name}]: {steps} env steps in {elapsed:.3f}s, "
            f"{runner.episodes - eps_before} resets, {agent_sps:,.0f} agent-steps/s"
        )

    print(f"peer_agent_steps_per_s={results['sim']:.1f}")
    if "core" in results:
        print(f"peer_core_agent_steps_per_s={results['core']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
