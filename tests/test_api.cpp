// The documented API facade: config validation names the field, the TYPE_* constants match the game,
// and the API loop (TrainingComponents steps, as in examples/run.cpp) gives bit-identical weights to the
// trainer path of `metta train` (Trainer::run_epoch) for the same config and seed.
#include <gtest/gtest.h>

#include "api/metta_api.h"
#include "engine/config_yaml.h"

using namespace metta;
using namespace metta::api;

namespace {
template <class F>
void expect_config_error(F f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const engine::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Api, ConfigValidationNamesTheField) {
  EXPECT_NO_THROW(create_default_trainer_config());
  TrainerConfig c = create_default_trainer_config(1, 1000, 1024, 256);
  c.minibatch_size = 300;
  expect_config_error([&] { c.validate(); }, "trainer.minibatch_size: got 300, expected a divisor of batch_size (1024)");
  c = create_default_trainer_config(1, 1000, 1024, 256);
  c.optimizer.type = "sgd";
  expect_config_error([&] { c.validate(); }, "trainer.optimizer.type: got 'sgd', expected 'adam' or 'muon'");
  c = create_default_trainer_config(1, 1000, 1024, 256);
  c.ppo.gamma = 1.5;
  expect_config_error([&] { c.validate(); }, "trainer.ppo.gamma: got 1.5");
  c = create_default_trainer_config(1, 1000, 1024, 256);
  c.evaluate_interval = 10;
  expect_config_error([&] { c.validate(); }, "trainer.evaluate_interval");
  expect_config_error([] { Environment e("simple", 0); }, "env.num_envs: got 0");
  TrainerConfig d;
  EXPECT_DOUBLE_EQ(d.ppo.gamma, 0.977);
  EXPECT_DOUBLE_EQ(d.ppo.ent_coef, 0.0021);
  EXPECT_EQ(d.batch_size, 524288);
  EXPECT_DOUBLE_EQ(calculate_anneal_beta(5, 1000, 100, 1.0, 0.6), 0.8);
}

TEST(Api, TypeConstantsMatchTheGame) {
  const engine::CompiledEnv c = engine::compile_env(engine::default_env_config());
  EXPECT_EQ(c.type_names[TYPE_WALL], "wall");
  EXPECT_EQ(c.type_names[TYPE_MINE_RED], "mine_red");
  EXPECT_EQ(c.type_names[TYPE_GENERATOR_RED], "generator_red");
  EXPECT_EQ(c.type_names[TYPE_ALTAR], "altar");
  EXPECT_EQ(c.type_names[TYPE_BLOCK], "block");
  EXPECT_EQ(c.type_names[TYPE_AGENT], "agent");
}

TEST(Api, ApiLoopAndTrainerPathGiveIdenticalWeights) {
  TrainerConfig cfg = create_default_trainer_config(1, 3000, 1024, 256);
  cfg.bptt_horizon = 8;
  cfg.threads = 2;
  cfg.seed = 4;
  Environment env("hearts_room", 2);
  Agent agent(env, AgentConfig{"small"}, "cpu", cfg.seed);
  TrainingComponents training = TrainingComponents::create(env, agent, cfg);
  for (int e = 0; e < 2; ++e) {
    training.reset_for_rollout();
    while (!training.is_ready_for_training()) training.agent_step += training.rollout_step().first;
    training.reset_training_state();
    const Advantages adv = training.compute_advantages();
    const double beta = calculate_anneal_beta(training.epoch(), cfg.total_timesteps, cfg.batch_size, 0.0, 0.6);
    for (std::int64_t i : training.experience.iterate_minibatches())
      training.optimize_step(training.train_minibatch(training.sample_minibatch(adv, i, training.experience.num_minibatches, beta), adv));
  }
  training.finish_epoch();
  EXPECT_EQ(training.epoch(), 2);

  train::Trainer direct(to_train_settings(cfg, env, "small"), env.config());
  direct.run_epoch();
  direct.run_epoch();
  const float* a = training.trainer().policy().params();
  const float* b = direct.policy().params();
  EXPECT_TRUE(std::vector<float>(a, a + direct.policy().num_params()) ==
              std::vector<float>(b, b + direct.policy().num_params()));
  EXPECT_EQ(training.agent_step, direct.agent_step());
}
