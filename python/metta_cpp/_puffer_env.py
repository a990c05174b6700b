"""MettaGridPufferEnv: metta-cpp's batch as a native PufferLib 3 env (pufferlib.PufferEnv).

Built with buf=None (pufferlib.vector.make(..., backend=pufferlib.PufferEnv)), its observations, rewards,
terminals, truncations, masks and actions are the VecEnv's views of the engine's memory: nothing is copied
per step. Given PufferLib's shared buffers (the Serial and Multiprocessing backends), it copies each step's
results into them instead.
"""
import numpy as np
import pufferlib

from .vecenv import VecEnv


class MettaGridPufferEnv(pufferlib.PufferEnv):
    def __init__(self, env="hearts_room", num_envs=1, device="cpu", seed=0, threads=None, buf=None,
                 render_mode=None, **vecenv_kwargs):
        self.vecenv = VecEnv(env, num_envs=num_envs, device=device, seed=seed, threads=threads, **vecenv_kwargs)
        if self.vecenv.device != "cpu":
            raise ValueError("MettaGridPufferEnv: PufferLib's buffers are numpy arrays on the host; use device='cpu' "
                             "(or metta_cpp.VecEnv with torch.from_dlpack on CUDA)")
        self.single_observation_space = self.vecenv.single_observation_space
        self.single_action_space = self.vecenv.single_action_space
        self.num_agents = self.vecenv.num_agents
        self.render_mode = render_mode
        super().__init__(buf)
        self._copies = buf is not None
        if not self._copies:
            v = self.vecenv
            self.observations, self.rewards = v.observations, v.rewards
            self.terminals, self.truncations, self.masks, self.actions = v.terminals, v.truncations, v.masks, v.actions
        # PufferLib 3.0.0 spells it agent_per_batch; PuffeRL reads agents_per_batch with its LSTM
        self.agents_per_batch = self.num_agents

    def _publish(self):
        if self._copies:
            v = self.vecenv
            np.copyto(self.observations, v.observations)
            np.copyto(self.rewards, v.rewards)
            np.copyto(self.terminals, v.terminals)
            np.copyto(self.truncations, v.truncations)

    def reset(self, seed=None):
        self.vecenv.reset(seed)
        self._publish()
        return self.observations, []

    def step(self, actions):
        _, _, _, _, infos = self.vecenv.step(np.asarray(actions, dtype=np.int32).reshape(self.num_agents, 2))
        self._publish()
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def close(self):
        self.vecenv.close()


PufferMettaGridEnv = MettaGridPufferEnv  # the name mettagrid exports too
