"""PufferLib's own PPO (pufferlib.pufferl.PuffeRL, its Default policy in its LSTMWrapper) trains on
metta_cpp.envs.MettaGridPufferEnv over hearts_room. Prints one JSON line: the mean episode reward per agent
of a random policy and of the trained policy, both measured here on the same env and seeds, and checks
that the env's buffers were ours. Run in its own process by test_pufferlib.py: importing pufferlib.pufferl
turns RuntimeWarnings into errors and installs a SIGINT handler.

Usage: python pufferlib_ppo.py DATA_DIR [TOTAL_TIMESTEPS]
"""
import json
import sys

import numpy as np
import pufferlib
import pufferlib.models
import pufferlib.pufferl
import pufferlib.vector
import torch

from metta_cpp import envs

DATA_DIR = sys.argv[1]
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 400_000
torch.manual_seed(0)
torch.set_num_threads(2)

vecenv = pufferlib.vector.make(envs.MettaGridPufferEnv, backend=pufferlib.PufferEnv,
                               env_kwargs=dict(env="hearts_room", num_envs=32, seed=0, threads=1))
ours = vecenv.vecenv._core.buffer_addresses()
assert vecenv.observations.ctypes.data == ours["observations"], "PufferLib's observations are not our view"
assert vecenv.rewards.ctypes.data == ours["rewards"] and vecenv.terminals.ctypes.data == ours["terminals"]

hidden = 128
policy = pufferlib.models.LSTMWrapper(vecenv, pufferlib.models.Default(vecenv, hidden_size=hidden), hidden, hidden)
config = dict(
    env="metta_cpp_hearts_room", seed=0, torch_deterministic=True, device="cpu", cpu_offload=False,
    total_timesteps=STEPS, batch_size=8192, bptt_horizon=32, minibatch_size=2048, max_minibatch_size=2048,
    update_epochs=2, learning_rate=3e-3, anneal_lr=True, gamma=0.99, gae_lambda=0.9, clip_coef=0.2,
    vf_coef=2.0, vf_clip_coef=0.2, ent_coef=0.01, max_grad_norm=1.5, adam_beta1=0.9, adam_beta2=0.999,
    adam_eps=1e-8, optimizer="adam", precision="float32", compile=False, compile_mode="default",
    compile_fullgraph=False, use_rnn=True, prio_alpha=0.0, prio_beta0=1.0, vtrace_rho_clip=1.0,
    vtrace_c_clip=1.0, checkpoint_interval=10_000, data_dir=DATA_DIR)
trainer = pufferlib.pufferl.PuffeRL(config, vecenv, policy)
while trainer.global_step < STEPS:
    trainer.evaluate()
    trainer.train()
training_reward = float(np.mean(trainer.last_stats.get("mean_reward", [np.nan]))) if trainer.last_stats else None
trainer.close()


def mean_episode_reward(act, episodes_wanted=200, seed=123):
    """Mean episode reward per agent on 32 fresh hearts_room envs, over the episodes finished."""
    env = envs.MettaGridPufferEnv(env="hearts_room", num_envs=32, seed=seed)
    obs, _ = env.reset()
    state = {"lstm_h": torch.zeros(env.num_agents, hidden), "lstm_c": torch.zeros(env.num_agents, hidden)}
    episodes, reward_sum = 0.0, 0.0
    while episodes < episodes_wanted:
        _, _, _, _, infos = env.step(act(obs, state))
        for i in infos:
            episodes += i["episodes"]
            reward_sum += i["episodes"] * i["mean_reward"]
    env.close()
    return reward_sum / episodes


rng = np.random.default_rng(0)
nvec = vecenv.single_action_space.nvec


def random_policy(obs, state):
    return np.stack([rng.integers(0, nvec[0], len(obs)), rng.integers(0, nvec[1], len(obs))], 1).astype(np.int32)


def trained_policy(obs, state):
    with torch.no_grad():
        logits, _ = policy.forward_eval(torch.as_tensor(obs), state)
        action, _, _ = pufferlib.pytorch.sample_logits(logits)
    return action.numpy().astype(np.int32)


print(json.dumps({"random": mean_episode_reward(random_policy), "trained": mean_episode_reward(trained_policy),
                  "agent_steps": int(trainer.global_step), "training_mean_reward": training_reward}))
