"""
metta-cpp's engine: batched MettaGrid environments over zero-copy views (see metta_cpp)
"""

from collections.abc import Mapping, Sequence
from typing import Annotated

import numpy
from numpy.typing import NDArray

from metta_cpp import ConfigError as ConfigError, Error as Error


def trainer_config_defaults() -> dict:
    """
    Every trainer key with its default (the field table's), as a nested dict.
    """

def teacher_config_defaults() -> dict:
    """
    The keys of an item of kickstart.additional_teachers with their defaults.
    """

def trainer_config_checked(config: dict) -> dict:
    """
    Reads a nested dict of trainer keys through the field table and validates it (ConfigError naming the field); returns every key as the trainer will use it.
    """

def create_default_trainer_config(num_workers: int = 1, total_timesteps: int = 10000000000, batch_size: int = 524288, minibatch_size: int = 16384) -> dict: ...

def calculate_anneal_beta(epoch: int, total_timesteps: int, batch_size: int, prio_alpha: float, prio_beta0: float) -> float:
    """The prioritized-replay beta of an epoch (trainer.md §7)."""

object_types: dict = ...

class EnvironmentCore:
    """api::Environment (use metta_cpp.api.Environment)."""

    def __init__(self, curriculum_path: str = '/env/mettagrid/simple', num_envs: int = 64, num_workers: int = 1, batch_size: int = 0, device: str = 'cpu', zero_copy: bool = True) -> None: ...

    @property
    def num_envs(self) -> int: ...

    @property
    def num_agents(self) -> int: ...

    @property
    def device(self) -> str: ...

    @property
    def curriculum_path(self) -> str: ...

    @property
    def num_tasks(self) -> int: ...

class AgentCore:
    """api::Agent (use metta_cpp.api.Agent)."""

    def __init__(self, env: EnvironmentCore, preset: str = 'api_default', hidden_dim: int = 0, lstm_layers: int = 0, device: str = 'cpu', seed: int = 1) -> None: ...

    @property
    def preset(self) -> str: ...

    @property
    def device(self) -> str: ...

    @property
    def num_params(self) -> int: ...

    def weights(self) -> Annotated[NDArray[numpy.float32], dict(shape=(None,))]:
        """
        A copy of the current weights, flat in parameter order (the trained ones while training).
        """

    def set_weights(self, weights: Annotated[NDArray[numpy.float32], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> None: ...

    def parameters(self) -> list[tuple[str, list[int]]]:
        """(name, shape) of each parameter, in the order of weights()."""

class PolicyStoreCore:
    """checkpoint::PolicyStore (use metta_cpp.api.PolicyStore)."""

    def __init__(self, checkpoint_dir: str, keep_last: int = 5) -> None: ...

    @property
    def dir(self) -> str: ...

    def latest(self) -> str: ...

    @staticmethod
    def read_metadata(path: str) -> dict: ...

class Advantages:
    """The advantages of the last rollout (on the training device)."""

class Loss:
    """A minibatch's loss statistics (on the training device)."""

class Minibatch:
    """A sampled minibatch (rows and weights on the training device)."""

    @property
    def segments(self) -> int: ...

class TrainingCore:
    """api::TrainingComponents (use metta_cpp.api.TrainingComponents)."""

    def __init__(self, vecenv: EnvironmentCore, policy: AgentCore, trainer_config: dict, policy_store: PolicyStoreCore | None) -> None: ...

    @property
    def agent_step(self) -> int: ...

    @agent_step.setter
    def agent_step(self, arg: int, /) -> None: ...

    @property
    def epoch(self) -> int: ...

    @property
    def experience(self) -> dict: ...

    @property
    def optimizer(self) -> dict: ...

    @property
    def kickstarter(self) -> dict: ...

    @property
    def timer(self) -> dict: ...

    @property
    def last_losses(self) -> dict: ...

    def reset_for_rollout(self) -> None: ...

    def is_ready_for_training(self) -> bool: ...

    def rollout_step(self) -> tuple[int, dict]: ...

    def accumulate_stats(self, infos: dict) -> None: ...

    def reset_training_state(self) -> None: ...

    def compute_advantages(self) -> Advantages: ...

    def sample_minibatch(self, advantages: Advantages, index: int, total_minibatches: int, anneal_beta: float, update_epoch: int = 0) -> Minibatch: ...

    def train_minibatch(self, minibatch: Minibatch, advantages: Advantages) -> Loss: ...

    def optimize_step(self, loss: Loss, accumulate_steps: int = 1) -> None: ...

    def finish_epoch(self) -> dict: ...

    def stats(self) -> dict[str, float]: ...

    def curriculum_stats(self) -> dict[str, float]: ...

    def load_curriculum_state(self, state: str) -> None: ...

    def config_json(self) -> str: ...

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...

def save_checkpoint(training: TrainingCore, policy_store: PolicyStoreCore, epoch: int = -1, metadata: Mapping[str, str] = {}) -> tuple[str, dict]: ...

def load_checkpoint(policy_store: PolicyStoreCore, path: str, agent: AgentCore) -> tuple[str, dict]: ...

class TrainRunCore:
    """train::Run of a metta train job (use metta_cpp.train)."""

    def __init__(self, config: str, overrides: Sequence[str]) -> None: ...

    def finished(self) -> bool: ...

    def run_epoch(self, stop_requested: bool = False) -> dict: ...

    def last_metrics(self) -> dict[str, float]: ...

    def take_lines(self) -> list[str]:
        """The progress lines written since the last call."""

    def close(self) -> str:
        """Saves the last epoch; 'done', 'out_of_time' or 'interrupted'."""

    @property
    def run_dir(self) -> str: ...

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

    def step(self, actions: Annotated[NDArray, dict(writable=False)] | None = None) -> bool:
        """
        Steps every env (releases the GIL). actions: int32 [agents, 2] from numpy or torch (any strides on the CPU; contiguous on the env's GPU, read in place), or None for the actions view as it is. Returns whether some episode ended at this step (always False on CUDA).
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
