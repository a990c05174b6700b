"""VecEnv: a batch of MettaGrid environments stepped by metta-cpp's engine, seen through persistent views.

Every buffer (observations, rewards, terminals, truncations, masks, actions) is an array over the engine's
own memory, made once when the VecEnv is built: numpy on the CPU, a DLPack array on CUDA (pass it to
torch.from_dlpack). Each step rewrites them in place, so copy what you keep past the next step. Rows are
agents: env e's agents are rows e * agents_per_env ... (e + 1) * agents_per_env - 1. An env whose episode
ended resets at its next step (its actions for that step are ignored): Gymnasium's NEXT_STEP autoreset.
"""
from __future__ import annotations

from typing import Any, Optional

from . import _core


class VecEnv:
    """num_envs environments of one env config or curriculum, stepped together on "cpu" or "cuda".

    env: an embedded env ("simple", "hearts_room", "hearts_solo"), an env YAML path, or a curriculum YAML
    (each env draws its task at every reset; the curriculum hears of the episodes that completed_episodes()
    reads). threads: the CPU's OpenMP threads per step (None: OpenMP's default); none run before the first
    step, so the process may fork after construction. stream: CUDA only, the stream every launch goes to (an
    int cudaStream_t or a torch.cuda.Stream); nanobind does no stream synchronisation, so order your own work
    on it. track_stat_updates: episode stats with the derived entries (.rate, .avg, .first_step, ...).
    env_index: env e is the world of env env_index + e of a batch of this seed (so one env can be any env
    of a bigger batch).
    """

    def __init__(self, env: str = "simple", num_envs: int = 1, device: str = "cpu", seed: int = 0,
                 threads: Optional[int] = None, stream: Any = None, track_stat_updates: bool = False,
                 env_index: int = 0):
        stream_handle = getattr(stream, "cuda_stream", stream) or 0
        self._core = _core.VecEnvCore(str(env), int(num_envs), device, int(seed), threads, int(stream_handle),
                                      bool(track_stat_updates), int(env_index))
        views = self._core.views()
        self.observations = views["observations"]      # uint8 [agents, tokens, 3]: (location, feature, value)
        self.rewards = views["rewards"]                # float32 [agents]
        self.terminals = views["terminals"]            # bool [agents]
        self.truncations = views["truncations"]        # bool [agents]
        self.masks = views["masks"]                    # bool [agents], always true (every agent acts)
        self.actions = views["actions"]                # int32 [agents, 2]: write here and step() with no argument
        self.action_success = views["action_success"]  # bool [agents]: the last action succeeded
        c = self._core
        self.device = c.device
        self.num_envs = c.num_envs
        self.agents_per_env = c.agents_per_env
        self.num_agents = c.total_agents  # all agents of the batch (PufferLib's num_agents)
        self.num_tokens = c.num_tokens
        self.action_names = list(c.action_names)
        self.action_max_args = list(c.action_max_args)
        self.feature_names = [name for name, _ in c.feature_normalizations]
        self.feature_normalizations = dict(c.feature_normalizations)
        self.object_type_names = list(c.object_type_names)
        self.inventory_item_names = list(c.inventory_item_names)
        self.max_steps = c.max_steps
        self._spaces = None
        self._ended = False  # some episode ended at the last step (its stats come with the next one)

    # ---- spaces (gymnasium, imported on first use)
    def _make_spaces(self):
        if self._spaces is None:
            import gymnasium
            import numpy as np

            obs = gymnasium.spaces.Box(0, 255, (self.num_tokens, 3), dtype=np.uint8)
            act = gymnasium.spaces.MultiDiscrete([len(self.action_names), max(self.action_max_args) + 1],
                                                 dtype=np.int32)
            self._spaces = (obs, act)
        return self._spaces

    @property
    def single_observation_space(self):
        """One agent's observation: Box(0, 255, (tokens, 3), uint8)."""
        return self._make_spaces()[0]

    @property
    def single_action_space(self):
        """One agent's action: MultiDiscrete([action types, largest argument + 1]), int32. An argument
        beyond its own action's max_arg is the game's invalid action (counted in the stats, no error)."""
        return self._make_spaces()[1]

    # ---- stepping
    def _live(self):
        if self._core is None:
            raise _core.Error("this VecEnv is closed (close() was called): make a new one")
        return self._core

    def reset(self, seed: Optional[int] = None):
        """Starts a fresh episode in every env; with a seed, the batch starts over as a new one of that
        seed (so equal seeds give equal episodes). Returns (observations, infos)."""
        self._live().reset(seed)
        self._ended = False
        return self.observations, []

    def step(self, actions=None):
        """Steps every env with int32 [agents, 2] actions (numpy or torch, any strides on the CPU; on CUDA
        a contiguous device tensor is read in place), or with the actions view when None. Releases the
        GIL. Returns (observations, rewards, terminals, truncations, infos): the views, and a list holding
        the completed episodes' stats (see completed_episodes) at the step after some ended: an env folds
        its episode's stats in when it resets, at its next step. On CUDA infos stay empty (finding ended
        rows would read the device each step): call completed_episodes() when you want them."""
        core = self._live()
        ended = core.step(actions)  # some episode ended at this step (CPU; False on CUDA)
        infos = []
        # An ended episode's stats are folded in when its env resets, at the step after its flags.
        if self._ended:
            infos.append(core.completed_episodes())
        self._ended = ended
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def completed_episodes(self) -> dict:
        """The episodes completed since the last call: episodes, mean_reward, mean_length, and the means of
        every episode stat per agent ("agent"), per game ("game") and per converter ("converter"); with a
        curriculum, "curriculum": its stats after it heard of these episodes. Clears."""
        return self._live().completed_episodes()

    def state_hash(self, env: int = -1) -> int:
        """FNV-1a over the batch's state (one env when env >= 0): equal hashes, equal worlds."""
        return self._live().state_hash(env)

    @property
    def closed(self) -> bool:
        return self._core is None

    def close(self):
        """Ends the VecEnv: later calls raise metta_cpp.Error. Views you still hold keep the engine's memory
        alive until they go."""
        if self._core is not None:
            self._core.close()
            for name in ("observations", "rewards", "terminals", "truncations", "masks", "actions", "action_success"):
                self.__dict__.pop(name, None)
            self._core = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self._core is None else f"{self.num_envs} envs x {self.agents_per_env} agents on {self.device}"
        return f"metta_cpp.VecEnv({state})"
