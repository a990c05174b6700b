"""metta_cpp.api: the documented Metta API (metta.api) name for name, over metta-cpp's C++ facade.

    from metta_cpp.api import Agent, Environment, TrainingComponents, create_default_trainer_config

The loop written with these calls runs the code path of `metta train` (the C++ trainer), so the same
config and seed give the same weights. Configs take keyword arguments and nested dicts, read and write
attributes, and check every change through the C++ field tables that read the YAML configs (one default
and one rule per key): a bad value raises metta_cpp.ConfigError naming the dotted key, the value and what
was expected. Environments, agents and training stay on the device they name ("cpu" or "cuda").
"""
from __future__ import annotations

import copy
import json
import numbers
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import _core
from ._core import ConfigError

_DEFAULTS: Dict[str, Any] = _core.trainer_config_defaults()
_TEACHER_DEFAULTS: Dict[str, Any] = _core.teacher_config_defaults()

globals().update(_core.object_types)  # TYPE_AGENT, TYPE_WALL, ... (the game's object type ids)


# ---- configs ------------------------------------------------------------------------------------------

def _at(tree: Dict[str, Any], path: Tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _plain(value: Any) -> Any:
    """A value as the nested dicts and lists the C++ reader takes (configs become their dicts)."""
    if isinstance(value, _Config):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _merged(defaults: Any, given: Any) -> Any:
    """A group's value: its defaults with the given keys (a new sub-config, as pydantic makes one)."""
    if isinstance(defaults, dict) and isinstance(given, dict):
        out = copy.deepcopy(defaults)
        for k, v in given.items():
            out[k] = _merged(defaults.get(k), v)
        return out
    return given


class _Config:
    """A section of the trainer's config. Its values live in a tree of every trainer key; each change is
    checked by the C++ table (metta_cpp.ConfigError on a bad key or value, and the config stays as it was).
    A sub-config read from a config (config.ppo) is a view: setting its attributes changes the config."""

    _section: Tuple = ()

    def __init__(self, **kwargs: Any):
        tree = copy.deepcopy(_DEFAULTS)
        if self._section == _TEACHER_SECTION:
            tree["kickstart"]["additional_teachers"] = [copy.deepcopy(_TEACHER_DEFAULTS)]
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_path", self._section)
        self.update(**kwargs)

    @classmethod
    def _view(cls, tree: Dict[str, Any], path: Tuple) -> "_Config":
        view = cls.__new__(cls)
        object.__setattr__(view, "_tree", tree)
        object.__setattr__(view, "_path", path)
        return view

    def update(self, **kwargs: Any) -> "_Config":
        """Sets several keys at once (each checked; on an error none is set)."""
        trial = copy.deepcopy(self._tree)
        values = _at(trial, self._path)
        defaults = _at(_DEFAULTS, self._section) if self._section != _TEACHER_SECTION else _TEACHER_DEFAULTS
        for key, value in kwargs.items():
            value = _plain(value)
            if isinstance(value, dict) and isinstance(defaults.get(key), dict):
                value = _merged(defaults[key], value)
            elif isinstance(value, list) and key == "additional_teachers":
                value = [_merged(_TEACHER_DEFAULTS, v) for v in value]
            values[key] = value
        checked = _core.trainer_config_checked(trial)
        self._tree.clear()
        self._tree.update(checked)
        return self

    def to_dict(self) -> Dict[str, Any]:
        """Every key of this section with its value (a copy)."""
        return copy.deepcopy(_at(self._tree, self._path))

    model_dump = to_dict  # pydantic's name

    def __getattr__(self, name: str) -> Any:
        values = _at(self._tree, self._path)
        if name.startswith("_") or name not in values:
            raise AttributeError(f"{type(self).__name__} has no key '{name}' (keys: {', '.join(values)})")
        value = values[name]
        if isinstance(value, dict):
            return _SECTION_CLASSES.get(name, _Config)._view(self._tree, self._path + (name,))
        if isinstance(value, list) and name == "additional_teachers":
            return [TeacherConfig(**v) for v in value]  # copies: assign a list to change them
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self.update(**{name: value})

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Config) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in _at(self._tree, self._path).items())})"


_TEACHER_SECTION = ("kickstart", "additional_teachers", 0)


class TrainerConfig(_Config):
    """The trainer's whole config (trainer.md): total_timesteps, batch_size, minibatch_size, bptt_horizon,
    update_epochs, ..., and the groups ppo, optimizer, prioritized_experience_replay, kickstart,
    lr_scheduler, initial_policy, simulation; seed, device and threads as the job's top-level keys."""

    _section = ()


class PPOConfig(_Config):
    """trainer.ppo: clip_coef, ent_coef, gamma, gae_lambda, vf_coef, vf_clip_coef, max_grad_norm, ..."""

    _section = ("ppo",)


class OptimizerConfig(_Config):
    """trainer.optimizer: type ("adam" or "muon"), learning_rate, beta1, beta2, eps, weight_decay."""

    _section = ("optimizer",)


class PrioritizedExperienceReplayConfig(_Config):
    """trainer.prioritized_experience_replay: prio_alpha, prio_beta0."""

    _section = ("prioritized_experience_replay",)


class KickstartConfig(_Config):
    """trainer.kickstart: teacher_uri, coefficients, anneal_ratio, kickstart_steps, additional_teachers."""

    _section = ("kickstart",)


class TeacherConfig(_Config):
    """An item of trainer.kickstart.additional_teachers: teacher_uri (required) and its coefficients."""

    _section = _TEACHER_SECTION


class LrSchedulerConfig(_Config):
    """trainer.lr_scheduler: enabled (cosine annealing), anneal_lr, warmup_steps, schedule_type."""

    _section = ("lr_scheduler",)


class InitialPolicyConfig(_Config):
    """trainer.initial_policy: uri, type ("top", "latest", "specific"), range, metric."""

    _section = ("initial_policy",)


class SimulationConfig(_Config):
    """trainer.simulation: num_episodes, eval_seed, replay_dir, suite (in-training evaluation)."""

    _section = ("simulation",)


_SECTION_CLASSES = {
    "ppo": PPOConfig,
    "optimizer": OptimizerConfig,
    "prioritized_experience_replay": PrioritizedExperienceReplayConfig,
    "kickstart": KickstartConfig,
    "lr_scheduler": LrSchedulerConfig,
    "initial_policy": InitialPolicyConfig,
    "simulation": SimulationConfig,
}


def create_default_trainer_config(num_workers: int = 1, total_timesteps: int = 10_000_000_000,
                                  batch_size: int = 524_288, minibatch_size: int = 16_384,
                                  **overrides: Any) -> TrainerConfig:
    """The reference's defaults with these sizes (minibatch_size at most batch_size) and any other keys,
    e.g. ppo={"clip_coef": 0.2}."""
    config = TrainerConfig(**_core.create_default_trainer_config(num_workers, total_timesteps, batch_size,
                                                                minibatch_size))
    return config.update(**overrides)


def calculate_anneal_beta(epoch: int, total_timesteps: int, batch_size: int, prio_alpha: float,
                          prio_beta0: float) -> float:
    """Prioritized replay's importance-sampling exponent for an epoch: prio_beta0 annealed to 1."""
    return _core.calculate_anneal_beta(epoch, total_timesteps, batch_size, prio_alpha, prio_beta0)


# ---- environment and agent ----------------------------------------------------------------------------

class Environment:
    """A batch of num_envs MettaGrid environments of an env config or a curriculum, stepped together on
    `device`. curriculum_path: "/env/mettagrid/simple", an embedded env name, an env YAML path or a
    curriculum YAML. num_workers and batch_size are accepted for compatibility (all envs of the batch are
    stepped together)."""

    def __init__(self, curriculum_path: str = "/env/mettagrid/simple", num_envs: int = 64, num_workers: int = 1,
                 batch_size: int = 0, device: str = "cpu", zero_copy: bool = True):
        self._core = _core.EnvironmentCore(str(curriculum_path), int(num_envs), int(num_workers), int(batch_size),
                                           device, bool(zero_copy))

    num_envs = property(lambda self: self._core.num_envs)
    num_agents = property(lambda self: self._core.num_agents, doc="agents per env")
    device = property(lambda self: self._core.device)
    curriculum_path = property(lambda self: self._core.curriculum_path)


_AGENT_KEYS = ("preset", "hidden_dim", "lstm_layers")
_AGENT_IGNORED = ("bptt_horizon", "device")  # set in the trainer config, and by Agent's device argument


class Agent:
    """The LSTM policy, built for an Environment's observations and actions with initial weights from
    `seed`. config: None, or a mapping (a dict, an omegaconf DictConfig) of preset ("api_default",
    "fast", "small"), hidden_dim and lstm_layers, at its top or under "agent"; bptt_horizon and device are
    accepted there and ignored (the trainer config and `device` set them)."""

    def __init__(self, env: Environment, config: Optional[Mapping] = None, device: str = "cpu", seed: int = 1):
        options: Dict[str, Any] = {}
        if config is not None:
            if not isinstance(config, Mapping):
                raise TypeError(f"Agent: config is a {type(config).__name__}, expected a mapping or None")
            section = config.get("agent", config)
            for key, value in (section or {}).items():
                if key in _AGENT_KEYS:
                    options[key] = value
                elif key not in _AGENT_IGNORED:
                    raise ConfigError(f"agent.{key}: got an unknown key, expected one of "
                                      f"{', '.join(_AGENT_KEYS + _AGENT_IGNORED)}")
        self._core = _core.AgentCore(env._core, str(options.get("preset", "api_default")),
                                     int(options.get("hidden_dim", 0) or 0), int(options.get("lstm_layers", 0) or 0),
                                     device, int(seed))
        self._training: Optional[weakref.ref] = None

    preset = property(lambda self: self._core.preset, doc="the agent spec, e.g. 'api_default:hidden_dim=64'")
    device = property(lambda self: self._core.device)
    num_params = property(lambda self: self._core.num_params)

    def weights(self):
        """A float32 copy of the weights, flat in parameters() order (the trained ones while training)."""
        return self._core.weights()

    def set_weights(self, weights) -> None:
        import numpy as np

        self._core.set_weights(np.ascontiguousarray(weights, dtype=np.float32).reshape(-1))

    def parameters(self) -> List[Tuple[str, List[int]]]:
        """(name, shape) of each parameter, in weights() order."""
        return self._core.parameters()


# ---- checkpoints --------------------------------------------------------------------------------------

class PolicyStore:
    """Model files model_{epoch:04d}.safetensors in checkpoint_dir (the newest keep_last are kept)."""

    def __init__(self, checkpoint_dir: str = "./checkpoints", keep_last: int = 5):
        self._core = _core.PolicyStoreCore(str(checkpoint_dir), int(keep_last))

    checkpoint_dir = property(lambda self: self._core.dir)

    def latest(self) -> Optional[str]:
        """The newest model file that loads cleanly, or None."""
        return self._core.latest() or None


@dataclass
class PolicyRecord:
    path: str
    metadata: Dict[str, Any] = field(default_factory=dict)  # agent_step, epoch, generation, agent, user, ...

    def __getattr__(self, name: str) -> Any:  # record.epoch, record.agent_step, ...
        if name != "metadata" and name in self.metadata:
            return self.metadata[name]
        raise AttributeError(name)


# ---- the training loop's components -------------------------------------------------------------------

class _Section:
    def __init__(self, **values: Any):
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class Experience(_Section):
    """The experience buffer's shape: num_minibatches, segments, minibatch_segments, bptt_horizon,
    batch_size."""

    def iterate_minibatches(self) -> range:
        return range(self.num_minibatches)


class Losses:
    """losses.last: the statistics of the last finished train phase (losses, episodes, mean reward, sps)."""

    def __init__(self, core):
        self._core = core

    @property
    def last(self) -> Dict[str, Any]:
        return self._core.last_losses


class TrainingComponents:
    """What the documented loop drives: rollout (reset_for_rollout, is_ready_for_training, rollout_step,
    accumulate_stats) and training (reset_training_state, compute_advantages, sample_minibatch,
    train_minibatch, optimize_step), with agent_step (writable), epoch, experience, optimizer, losses,
    kickstarter and timer. train_minibatch also takes a minibatch index (as experience.iterate_minibatches()
    yields them): it samples that minibatch with the epoch's annealed beta. close() ends the training; the
    agent then holds the trained weights."""

    def __init__(self, core, config: TrainerConfig, vecenv: Environment, policy: Agent, policy_store):
        self._core = core
        self._config = config
        self._vecenv, self._policy, self.policy_store = vecenv, policy, policy_store
        self.experience = Experience(**core.experience)
        self.optimizer = _Section(**core.optimizer)
        self.losses = Losses(core)
        self._training_open = False
        self._sampled = 0

    @classmethod
    def create(cls, vecenv: Environment, policy: Agent, trainer_config: TrainerConfig,
               policy_store: Optional[PolicyStore] = None) -> "TrainingComponents":
        config = trainer_config if isinstance(trainer_config, TrainerConfig) else TrainerConfig(**_plain(trainer_config))
        core = _core.TrainingCore(vecenv._core, policy._core, config.to_dict(),
                                  policy_store._core if policy_store is not None else None)
        training = cls(core, config, vecenv, policy, policy_store)
        policy._training = weakref.ref(training)
        return training

    agent_step = property(lambda self: self._core.agent_step,
                          lambda self, v: setattr(self._core, "agent_step", int(v)))
    epoch = property(lambda self: self._core.epoch)
    kickstarter = property(lambda self: _Section(**self._core.kickstarter))
    timer = property(lambda self: _Section(**self._core.timer))
    policy = property(lambda self: self._policy)

    def reset_for_rollout(self) -> None:
        self._core.reset_for_rollout()
        self._training_open = False

    def is_ready_for_training(self) -> bool:
        return self._core.is_ready_for_training()

    def rollout_step(self) -> Tuple[int, List[Dict[str, Any]]]:
        """One step of every env: (agent steps, infos). infos holds one dict of the rollout's completed
        episodes (episodes, mean_reward, mean_length, agent, game, converter) at the step that completes the
        rollout, when episodes ended in it; it is empty at the other steps."""
        steps, episodes = self._core.rollout_step()
        return steps, ([episodes] if episodes["episodes"] > 0 else [])

    def accumulate_stats(self, infos: Iterable[Dict[str, Any]]) -> None:
        """The episodes of this rollout (rollout_step's infos, or a list of them) for the epoch's stats."""
        items = [infos] if isinstance(infos, Mapping) else list(infos)
        total = sum(float(i["episodes"]) for i in items)
        merged: Dict[str, Any] = {"episodes": total}
        if total > 0:
            weight = [float(i["episodes"]) / total for i in items]
            for key in ("mean_reward", "mean_length"):
                merged[key] = sum(w * float(i.get(key, 0.0)) for w, i in zip(weight, items))
            for key in ("agent", "game", "converter"):
                table: Dict[str, float] = {}
                for w, i in zip(weight, items):
                    for k, v in i.get(key, {}).items():
                        table[k] = table.get(k, 0.0) + w * float(v)
                merged[key] = table
        self._core.accumulate_stats(merged)

    def reset_training_state(self) -> None:
        self._core.reset_training_state()
        self._training_open = True
        self._sampled = 0

    def compute_advantages(self):
        if not self._training_open:  # the seed's Quick Start goes straight from the rollout to here
            self.reset_training_state()
        return self._core.compute_advantages()

    def sample_minibatch(self, advantages, index: int, total_minibatches: int, anneal_beta: float,
                         update_epoch: int = 0):
        return self._core.sample_minibatch(advantages, int(index), int(total_minibatches), float(anneal_beta),
                                           int(update_epoch))

    def train_minibatch(self, minibatch, advantages):
        if isinstance(minibatch, numbers.Integral):
            n = self.experience.num_minibatches
            prio = self._config.prioritized_experience_replay
            beta = calculate_anneal_beta(self.epoch, self._config.total_timesteps, self._config.batch_size,
                                         prio.prio_alpha, prio.prio_beta0)
            minibatch = self.sample_minibatch(advantages, int(minibatch), n, beta, self._sampled // n)
            self._sampled += 1
        return self._core.train_minibatch(minibatch, advantages)

    def optimize_step(self, loss, accumulate_steps: int = 1) -> None:
        self._core.optimize_step(loss, int(accumulate_steps))

    def finish_epoch(self) -> Dict[str, Any]:
        """Closes the train phase now (the next reset_for_rollout also does): the epoch's statistics."""
        self._training_open = False
        return self._core.finish_epoch()

    def stats(self) -> Dict[str, float]:
        """The metrics line of the last finished epoch, as metta train logs it (losses/, experience/,
        env_agent/, env_game/, timing_per_epoch/, ...)."""
        return self._core.stats()

    def curriculum_stats(self) -> Dict[str, float]:
        return self._core.curriculum_stats()

    def close(self) -> None:
        """Ends the training: the agent keeps the trained weights; later calls raise metta_cpp.Error."""
        self._core.close()


def _training_of(policy: Any) -> TrainingComponents:
    if isinstance(policy, TrainingComponents):
        return policy
    if isinstance(policy, Agent):
        training = policy._training() if policy._training is not None else None
        if training is not None and not training._core.closed:
            return training
        raise _core.Error("save_checkpoint: this Agent is not being trained; a checkpoint records its "
                          "TrainingComponents' epoch and trainer state (pass the training or a trained agent)")
    raise TypeError(f"save_checkpoint: policy is a {type(policy).__name__}, expected an Agent or TrainingComponents")


def save_checkpoint(policy: Any, policy_store: PolicyStore, epoch: Optional[int] = None,
                    metadata: Optional[Mapping] = None) -> PolicyRecord:
    """Saves the trained weights (and the trainer state beside them) as model_{epoch:04d}.safetensors of the
    current epoch; `epoch`, when given, must be that epoch. metadata values are stored as text (non-strings
    as JSON)."""
    meta = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    path, md = _core.save_checkpoint(_training_of(policy)._core, policy_store._core,
                                     -1 if epoch is None else int(epoch), meta)
    return PolicyRecord(path, md)


def load_checkpoint(policy_store: PolicyStore, path: str, agent: Optional[Agent] = None) -> PolicyRecord:
    """A model file's record; with `agent` (same preset), its weights are loaded into the agent."""
    if agent is None:
        return PolicyRecord(str(path), _core.PolicyStoreCore.read_metadata(str(path)))
    return PolicyRecord(*_core.load_checkpoint(policy_store._core, str(path), agent._core))


__all__ = [
    "Agent", "ConfigError", "Environment", "Experience", "InitialPolicyConfig", "KickstartConfig",
    "LrSchedulerConfig", "OptimizerConfig", "PPOConfig", "PolicyRecord", "PolicyStore",
    "PrioritizedExperienceReplayConfig", "SimulationConfig", "TeacherConfig", "TrainerConfig",
    "TrainingComponents", "calculate_anneal_beta", "create_default_trainer_config", "load_checkpoint",
    "save_checkpoint",
] + sorted(_core.object_types)
