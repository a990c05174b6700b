"""metta-cpp from Python: the MettaGrid engine of metta-cpp as batched environments over zero-copy views.

    import metta_cpp
    env = metta_cpp.VecEnv("hearts_room", num_envs=64)   # 256 agents
    obs, infos = env.reset(seed=0)                       # uint8 [256, 200, 3], a view of the engine's memory
    obs, rewards, terminals, truncations, infos = env.step(actions)  # int32 [256, 2]

Adapters for PufferLib, Gymnasium and PettingZoo are in metta_cpp.envs (imported on first use), the
documented Metta API in metta_cpp.api, and metta_cpp.train(*overrides) runs a whole `metta train` job.
"""
from ._core import ConfigError, Error, build_info
from ._train import train
from .vecenv import VecEnv

__all__ = ["VecEnv", "ConfigError", "Error", "build_info", "train", "api", "envs"]
__version__ = build_info()["version"]


def __getattr__(name):
    if name in ("envs", "api"):  # the adapters import their third-party packages only when used
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'metta_cpp' has no attribute '{name}'")
