"""
metta-cpp's engine: batched MettaGrid environments over zero-copy views (see metta_cpp)
"""

from typing import Annotated

from numpy.typing import NDArray

from metta_cpp import ConfigError as ConfigError, Error as Error


def build_info() -> dict:
    """
    What this build has: version, backends, CUDA devices (and why none), cuDNN, MPI, OpenMP threads, BLAS, compiler, nanobind.
    """

class VecEnvCore:
    """
    The engine's batch; metta_cpp.VecEnv wraps it (use that). Views from views() alias the engine's memory and keep this object alive.
    """

    def __init__(self, source: str, num_envs: int, device: str = 'cpu', seed: int = 0, threads: int | None = None, stream: int = 0, track_stat_updates: bool = False, env_index: int = 0) -> None: ...

    def views(self) -> dict:
        """
        The buffers as arrays over the engine's memory: observations uint8 [agents, tokens, 3], rewards float32 [agents], terminals, truncations, masks, action_success bool [agents], actions int32 [agents, 2]. Call once and keep them: every step rewrites them in place.
        """

    def reset(self, seed: int | None = None) -> None: ...

    def step(self, actions: Annotated[NDArray, dict(writable=False)] | None = None) -> None:
        """
        Steps every env (releases the GIL). actions: int32 [agents, 2] from numpy or torch (any strides on the CPU; contiguous on the env's GPU, read in place), or None for the actions view as it is.
        """

    def completed_episodes(self) -> dict:
        """
        Episodes completed since the last call (count, mean reward and length, per-key means of the agent, game and converter stats) and, with a curriculum, its stats after it heard of them (clears).
        """

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...

    def buffer_addresses(self) -> dict:
        """
        The engine's own buffer addresses (device pointers on CUDA): the views' data pointers equal them.
        """

    def state_hash(self, env: int = -1) -> int: ...

    @property
    def num_envs(self) -> int: ...

    @property
    def agents_per_env(self) -> int: ...

    @property
    def total_agents(self) -> int: ...

    @property
    def num_tokens(self) -> int: ...

    @property
    def num_tasks(self) -> int: ...

    @property
    def seed(self) -> int: ...

    @property
    def device(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def has_curriculum(self) -> bool: ...

    @property
    def action_names(self) -> list[str]: ...

    @property
    def action_max_args(self) -> list[int]: ...

    @property
    def max_action_arg(self) -> int: ...

    @property
    def object_type_names(self) -> list[str]: ...

    @property
    def inventory_item_names(self) -> list[str]: ...

    @property
    def feature_normalizations(self) -> list[tuple[str, float]]: ...

    @property
    def map_height(self) -> int: ...

    @property
    def map_width(self) -> int: ...

    @property
    def max_steps(self) -> int: ...
