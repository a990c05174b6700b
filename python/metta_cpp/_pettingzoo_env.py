"""MettaGridPettingZooEnv: one env of metta-cpp's engine as a pettingzoo.ParallelEnv.

Agents are "agent_0" ... in the config's order; each leaves `agents` when its episode ends (all agents of
an env end together, at max_steps or when the game ends). There is no autoreset: call reset() to start
again. Observations are copies (a dict of arrays that outlives the next step, as PettingZoo expects). An
agent without an action in step() takes noop (action 0, argument 0).
"""
import numpy as np
from pettingzoo import ParallelEnv

from .vecenv import VecEnv


class MettaGridPettingZooEnv(ParallelEnv):
    metadata = {"name": "metta_cpp_mettagrid", "render_modes": []}

    def __init__(self, env="hearts_room", seed=0, render_mode=None, **vecenv_kwargs):
        self.vecenv = VecEnv(env, num_envs=1, seed=seed, **vecenv_kwargs)
        self.possible_agents = [f"agent_{i}" for i in range(self.vecenv.num_agents)]
        self.agents = []
        self._row = {a: i for i, a in enumerate(self.possible_agents)}
        self._obs_space = self.vecenv.single_observation_space
        self._act_space = self.vecenv.single_action_space
        self.render_mode = render_mode
        self._actions = np.zeros((self.vecenv.num_agents, 2), dtype=np.int32)

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._obs_space.seed(seed)
            self._act_space.seed(seed)
        obs, _ = self.vecenv.reset(seed)
        self.agents = list(self.possible_agents)
        return {a: obs[self._row[a]].copy() for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        if not self.agents:
            raise RuntimeError("MettaGridPettingZooEnv.step: every agent is done; call reset()")
        self._actions[:] = 0
        for agent, action in actions.items():
            if agent not in self._row:
                raise ValueError(f"step: unknown agent '{agent}', expected one of {self.possible_agents}")
            self._actions[self._row[agent]] = action
        obs, rewards, terminals, truncations, episodes = self.vecenv.step(self._actions)
        live = self.agents
        out = ({a: obs[self._row[a]].copy() for a in live}, {a: float(rewards[self._row[a]]) for a in live},
               {a: bool(terminals[self._row[a]]) for a in live}, {a: bool(truncations[self._row[a]]) for a in live},
               {a: ({"completed_episodes": episodes[0]} if episodes else {}) for a in live})
        self.agents = [a for a in live if not (out[2][a] or out[3][a])]
        return out

    def close(self):
        self.vecenv.close()
