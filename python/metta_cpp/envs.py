"""Adapters under the names mettagrid gives them, each importing its third-party package on first use:

- MettaGridPufferEnv: a pufferlib.PufferEnv whose buffers are the VecEnv's views (PufferLib 3).
- MettaGridVectorEnv: a gymnasium.vector.VectorEnv, one row per agent, autoreset mode NEXT_STEP.
- MettaGridPettingZooEnv: a pettingzoo.ParallelEnv over one env, agents leaving as their episode ends.
- MettaGridGymEnv: a gymnasium.Env for one-agent configs ("hearts_solo").
"""
import importlib

_WHERE = {
    "MettaGridPufferEnv": "._puffer_env",
    "PufferMettaGridEnv": "._puffer_env",
    "MettaGridVectorEnv": "._gymnasium_env",
    "MettaGridGymEnv": "._gymnasium_env",
    "MettaGridPettingZooEnv": "._pettingzoo_env",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        module = importlib.import_module(_WHERE[name], __package__)
        return getattr(module, name)
    raise AttributeError(f"module 'metta_cpp.envs' has no attribute '{name}'")
