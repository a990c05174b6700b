# metta_cpp.api, the documented Metta API from Python: configs read and checked through the C++ field
# tables, the seed's Quick Start run as written (with metta.api aliased to metta_cpp.api), checkpoints
# readable by Python's safetensors, and the errors of bad input.
import math
import sys

import numpy as np
import pytest

import metta_cpp
from metta_cpp import api

# The seed's Quick Start (seed/metta-api.md), as the documentation prints it.
QUICK_START = '''
import torch
from metta.api import (
    Agent,
    Environment,
    TrainingComponents,
    calculate_anneal_beta,
    create_default_trainer_config,
)

# Create trainer config
trainer_config = create_default_trainer_config(
    num_workers=4,
    total_timesteps=10_000_000,
    batch_size=8192,
)

# Create environment
env = Environment(
    curriculum_path="/env/mettagrid/simple",
    num_workers=trainer_config.num_workers,
    batch_size=trainer_config.batch_size // trainer_config.num_workers,
)

# Create agent
agent = Agent(env, config=agent_config, device="cuda")

# Create training components
training = TrainingComponents.create(
    vecenv=env,
    policy=agent,
    trainer_config=trainer_config,
)

# Training loop with full control
while training.agent_step < trainer_config.total_timesteps:
    # Rollout phase
    training.reset_for_rollout()
    while not training.is_ready_for_training():
        num_steps, info = training.rollout_step()
        training.agent_step += num_steps

    # Training phase
    advantages = training.compute_advantages()
    for epoch in range(trainer_config.update_epochs):
        for minibatch in training.experience.iterate_minibatches():
            loss = training.train_minibatch(minibatch, advantages)
            training.optimize_step(loss)
'''


def test_the_quick_start_runs_as_documented(torch, monkeypatch):
    # The only changes: the agent_config the page leaves to the reader, device="cpu" (no GPU here) and a
    # small budget.
    code = QUICK_START
    for old, new in (('device="cuda"', 'device="cpu"'), ("total_timesteps=10_000_000", "total_timesteps=50_000")):
        assert old in code
        code = code.replace(old, new)
    monkeypatch.setitem(sys.modules, "metta.api", api)
    monkeypatch.setitem(sys.modules, "metta", type(sys)("metta"))
    scope = {"agent_config": {"device": "cpu", "agent": {"hidden_dim": 32, "lstm_layers": 1, "bptt_horizon": 8}}}
    exec(compile(code, "seed Quick Start", "exec"), scope)
    training, agent = scope["training"], scope["agent"]
    assert agent.preset == "api_default:hidden_dim=32:lstm_layers=1"
    assert training.agent_step >= 50_000
    first_batch = training.experience.batch_size
    assert training.epoch == math.ceil(50_000 / first_batch) - 1  # the last train phase is still open
    stats = training.finish_epoch()
    assert training.epoch == math.ceil(50_000 / first_batch)
    assert all(math.isfinite(v) for v in stats["losses"].values())
    initial = api.Agent(scope["env"], config=scope["agent_config"], device="cpu").weights()
    assert not np.array_equal(initial, agent.weights())  # it trained


def test_configs_take_kwargs_nested_dicts_and_attributes():
    c = api.create_default_trainer_config(num_workers=4, total_timesteps=50_000_000, batch_size=524288,
                                          ppo={"clip_coef": 0.2, "ent_coef": 0.01})
    assert (c.num_workers, c.total_timesteps, c.batch_size) == (4, 50_000_000, 524288)
    assert (c.ppo.clip_coef, c.ppo.ent_coef) == (0.2, 0.01)
    assert c.ppo.gamma == api.PPOConfig().gamma  # the other keys keep their defaults
    c2 = api.TrainerConfig(num_workers=4, total_timesteps=50_000_000, batch_size=524288, minibatch_size=16384,
                           ppo=api.PPOConfig(clip_coef=0.2), optimizer=api.OptimizerConfig(learning_rate=3e-4))
    assert c2.optimizer.learning_rate == 3e-4 and c2.ppo.clip_coef == 0.2
    c2.ppo.clip_coef = 0.3  # a sub-config is a view of its config
    assert c2.ppo.clip_coef == 0.3 and c2.to_dict()["ppo"]["clip_coef"] == 0.3
    c2.kickstart = {"teacher_uri": "t.safetensors", "additional_teachers": [api.TeacherConfig(teacher_uri="u")]}
    assert c2.kickstart.additional_teachers[0].teacher_uri == "u"
    assert c2.kickstart.anneal_ratio == api.KickstartConfig().anneal_ratio
    assert c2.model_dump()["kickstart"]["additional_teachers"][0]["value_loss_coef"] == 1.0
    assert api.TrainerConfig(**c2.to_dict()) == c2


@pytest.mark.parametrize("make, message", [
    (lambda: api.PPOConfig(clip_coef=20), "trainer.ppo.clip_coef: got 20, expected a number in [0, 10]"),
    (lambda: api.PPOConfig(clip_coef="wide"), "trainer.ppo.clip_coef: got 'wide', expected a number"),
    (lambda: api.TrainerConfig(ppo={"clip_cof": 0.2}), "(did you mean 'clip_coef'?)"),
    (lambda: api.OptimizerConfig(type="sgd"), "trainer.optimizer.type: got 'sgd', expected 'adam' or 'muon'"),
    (lambda: api.TrainerConfig(batch_size=100, minibatch_size=200), "trainer.minibatch_size: got 200"),
    (lambda: api.TrainerConfig(device="tpu"), "trainer.device: got 'tpu', expected 'cpu' or 'cuda'"),
    (lambda: api.TrainerConfig(seed="x"), "trainer.seed: got 'x', expected an integer"),
    (lambda: api.TeacherConfig(), "teacher_uri: got ''"),
])
def test_bad_config_values_name_the_field(make, message):
    with pytest.raises(metta_cpp.ConfigError) as e:
        make()
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_a_refused_change_leaves_the_config_as_it_was():
    c = api.TrainerConfig()
    with pytest.raises(metta_cpp.ConfigError):
        c.update(bptt_horizon=32, ppo={"gamma": 2.0})
    assert c == api.TrainerConfig()
    with pytest.raises(AttributeError, match="no key 'clip_cof'"):
        c.ppo.clip_cof


def test_checkpoints_open_with_safetensors_and_load_back(tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy")
    env = api.Environment("hearts_room", num_envs=8)
    agent = api.Agent(env, {"preset": "small"})
    config = api.create_default_trainer_config(total_timesteps=8192, batch_size=4096, minibatch_size=1024)
    store = api.PolicyStore(str(tmp_path))
    training = api.TrainingComponents.create(vecenv=env, policy=agent, trainer_config=config, policy_store=store)
    with pytest.raises(metta_cpp.Error, match="not being trained"):
        api.save_checkpoint(policy=api.Agent(env, {"preset": "small"}), policy_store=store)
    while training.agent_step < config.total_timesteps:
        training.reset_for_rollout()
        infos = []
        while not training.is_ready_for_training():
            n, info = training.rollout_step()
            training.agent_step += n
            infos.extend(info)
        training.accumulate_stats(infos)
        training.reset_training_state()
        advantages = training.compute_advantages()
        beta = api.calculate_anneal_beta(training.epoch, config.total_timesteps, config.batch_size,
                                         config.prioritized_experience_replay.prio_alpha,
                                         config.prioritized_experience_replay.prio_beta0)
        for i in training.experience.iterate_minibatches():
            mb = training.sample_minibatch(advantages, i, training.experience.num_minibatches, beta)
            training.optimize_step(training.train_minibatch(mb, advantages))
        training.finish_epoch()
    assert "losses/policy_loss" in training.stats()
    record = api.save_checkpoint(policy=agent, policy_store=store, epoch=training.epoch, metadata={"score": 0.95})
    assert record.epoch == training.epoch and record.metadata["user"]["score"] == "0.95"
    tensors = safetensors.load_file(record.path)
    flat = np.concatenate([tensors[name].reshape(-1) for name, _ in agent.parameters()])
    assert np.array_equal(flat, agent.weights())
    other = api.Agent(env, {"preset": "small"}, seed=7)
    assert not np.array_equal(other.weights(), agent.weights())
    loaded = api.load_checkpoint(store, record.path, other)
    assert np.array_equal(other.weights(), agent.weights()) and loaded.agent_step == training.agent_step
    assert api.load_checkpoint(store, record.path).epoch == training.epoch
    training.close()
    with pytest.raises(metta_cpp.Error, match="after close"):
        training.rollout_step()
    assert np.array_equal(agent.weights(), flat)  # the agent keeps the trained weights


def test_bad_api_input_raises():
    env = api.Environment("hearts_room", num_envs=2)
    with pytest.raises(metta_cpp.ConfigError, match="agent.width: got an unknown key"):
        api.Agent(env, {"agent": {"width": 3}})
    with pytest.raises(metta_cpp.ConfigError, match="env.num_envs: got 0"):
        api.Environment("hearts_room", num_envs=0)
    with pytest.raises(metta_cpp.ConfigError, match="env.device: got 'gpu'"):
        api.Environment("hearts_room", device="gpu")
    with pytest.raises(metta_cpp.ConfigError, match="the same device for all three"):
        api.TrainingComponents.create(vecenv=env, policy=api.Agent(env, {"preset": "small"}),
                                      trainer_config=api.TrainerConfig(device="cuda"))
    with pytest.raises(metta_cpp.Error):
        api.load_checkpoint(api.PolicyStore("/nonexistent"), "/nonexistent/model_0001.safetensors")


def test_object_type_constants():
    assert (api.TYPE_AGENT, api.TYPE_WALL, api.TYPE_ALTAR) == (0, 1, 8)
    assert all(name in api.__all__ for name in ("TYPE_MINE_RED", "TYPE_GENERATOR_RED", "TYPE_BLOCK"))
