"""Gymnasium adapters: MettaGridVectorEnv (a gymnasium.vector.VectorEnv, one row per agent of the batch) and
MettaGridGymEnv (a gymnasium.Env over one env of a one-agent config).

The vector env hands out the VecEnv's views (valid until the next step) and autoresets as the engine does,
in Gymnasium's NEXT_STEP mode: after a row's episode ends, its next action is ignored and the step returns
the new episode's first observation, reward 0 and both flags false. The single env returns copies, as
Gymnasium's checker needs. Completed episodes' stats come in infos["completed_episodes"] (masked by
infos["_completed_episodes"]: the rows whose episode ended) at the step after the flags, when the envs
fold them in. Row i of MettaGridVectorEnv(env, n, seed=s) is the world of
MettaGridGymEnv(env, env_index=i) reset with seed s.
"""
import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .vecenv import VecEnv


class MettaGridVectorEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, env="hearts_room", num_envs=1, seed=0, threads=None, **vecenv_kwargs):
        self.vecenv = VecEnv(env, num_envs=num_envs, seed=seed, threads=threads, **vecenv_kwargs)
        self.num_envs = self.vecenv.num_agents  # one row per agent
        self.single_observation_space = self.vecenv.single_observation_space
        self.single_action_space = self.vecenv.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self._ended = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed=None, options=None):
        if isinstance(seed, (list, tuple)):
            raise ValueError("MettaGridVectorEnv.reset: one seed for the whole batch (its rows are one engine batch)")
        if seed is not None:
            self._np_random, _ = gymnasium.utils.seeding.np_random(seed)
        obs, _ = self.vecenv.reset(seed)
        self._ended = np.zeros(self.num_envs, dtype=bool)
        return obs, {}

    def step(self, actions):
        obs, rewards, terminals, truncations, episodes = self.vecenv.step(np.asarray(actions, dtype=np.int32))
        infos = {}
        if episodes:  # the rows that ended at the last step, whose envs folded their stats in now
            done = self._ended
            infos["completed_episodes"] = np.array([episodes[0] if d else None for d in done], dtype=object)
            infos["_completed_episodes"] = done
        self._ended = terminals | truncations
        return obs, rewards, terminals, truncations, infos

    def close_extras(self, **kwargs):
        self.vecenv.close()


class MettaGridGymEnv(gymnasium.Env):
    """A one-agent env config ("hearts_solo") as a gymnasium.Env; env_index picks which env of a batch of
    the same seed it is (its randomness is that env's)."""

    metadata = {"render_modes": []}

    def __init__(self, env="hearts_solo", seed=0, env_index=0, **vecenv_kwargs):
        self.vecenv = VecEnv(env, num_envs=1, seed=seed, env_index=env_index, **vecenv_kwargs)
        if self.vecenv.num_agents != 1:
            raise ValueError(f"MettaGridGymEnv: '{env}' has {self.vecenv.num_agents} agents, expected a one-agent "
                             "config (use MettaGridPettingZooEnv or MettaGridVectorEnv for several)")
        self.observation_space = self.vecenv.single_observation_space
        self.action_space = self.vecenv.single_action_space
        self._actions = np.zeros((1, 2), dtype=np.int32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs, _ = self.vecenv.reset(seed)
        return obs[0].copy(), {}

    def step(self, action):
        self._actions[0] = action
        obs, rewards, terminals, truncations, episodes = self.vecenv.step(self._actions)
        info = {"completed_episodes": episodes[0]} if episodes else {}
        return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0]), info

    def close(self):
        self.vecenv.close()
