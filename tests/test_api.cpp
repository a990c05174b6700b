// The documented API facade: config validation names the field, the TYPE_* constants match the game,
// and the API loop (TrainingComponents steps, as in examples/run.cpp) gives bit-identical weights to the
// trainer path of `metta train` (Trainer::run_epoch) for the same config and seed.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "api/metta_api.h"
#include "train/run.h"
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

// The documented API loop (as examples/run.cpp writes it) for a number of epochs.
void train_epochs(TrainingComponents& training, const TrainerConfig& cfg, int epochs) {
  for (int e = 0; e < epochs; ++e) {
    training.reset_for_rollout();
    while (!training.is_ready_for_training()) training.agent_step += training.rollout_step().first;
    training.reset_training_state();
    const Advantages adv = training.compute_advantages();
    const double beta = calculate_anneal_beta(training.epoch(), cfg.total_timesteps, cfg.batch_size, 0.0, 0.6);
    for (std::int64_t i : training.experience.iterate_minibatches())
      training.optimize_step(training.train_minibatch(training.sample_minibatch(adv, i, training.experience.num_minibatches, beta), adv));
  }
  training.finish_epoch();
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

TEST(Api, AgentConfigLikeTheSeed) {
  // the seed's Agent(env, {"agent": {"hidden_dim": 512, "lstm_layers": 1}}, device)
  Environment env("hearts_room", 2);
  AgentConfig config;
  config.hidden_dim = 128;
  config.lstm_layers = 2;
  EXPECT_EQ(config.spec(), "api_default:hidden_dim=128:lstm_layers=2");
  Agent agent(env, config, "cpu");
  EXPECT_EQ(agent.preset(), "api_default:hidden_dim=128:lstm_layers=2");
  EXPECT_EQ(agent.table().at("lstm.weight_hh_l1").count, 4 * 128 * 128);
  Agent plain(env);
  EXPECT_EQ(plain.preset(), "api_default");
  EXPECT_EQ(plain.num_params(), 6364514);
  AgentConfig bad;
  bad.hidden_dim = -1;
  try {
    bad.spec();
    ADD_FAILURE() << "no error";
  } catch (const engine::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("agent.hidden_dim: got -1"), std::string::npos) << e.what();
  }
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
  train_epochs(training, cfg, 2);
  EXPECT_EQ(training.epoch(), 2);

  train::Trainer direct(cfg, env.config(), env.num_envs(), "small");
  direct.run_epoch();
  direct.run_epoch();
  const float* a = training.trainer().policy().params();
  const float* b = direct.policy().params();
  EXPECT_TRUE(std::vector<float>(a, a + direct.policy().num_params()) ==
              std::vector<float>(b, b + direct.policy().num_params()));
  EXPECT_EQ(training.agent_step, direct.agent_step());
}

// One training run written three ways trains the same weights: train::Run (what `metta train` runs),
// the documented API loop with its explicit steps, and Trainer::run_epoch (bench_train's). Prioritized
// replay with alpha > 0 makes beta matter, and two update passes; with a curriculum, Run and the API
// loop feed it the same episodes.
TEST(Api, RunApiLoopAndRunEpochTrainTheSameWeights) {
  auto weights = [](const train::Trainer& t) {
    const float* p = const_cast<train::Trainer&>(t).policy().params();
    return std::vector<float>(p, p + const_cast<train::Trainer&>(t).policy().num_params());
  };
  for (const std::string& env_path :
       {std::string("hearts_room"), std::string(METTA_SOURCE_DIR) + "/tests/data/curriculum_hearts.yaml"}) {
    TrainerConfig cfg = create_default_trainer_config(1, 3 * 1024, 1024, 256);
    cfg.bptt_horizon = 8;
    cfg.update_epochs = 2;
    cfg.threads = 2;
    cfg.seed = 5;
    cfg.prioritized_experience_replay.prio_alpha = 0.5;
    cfg.checkpoint_interval = cfg.evaluate_interval = cfg.wandb_checkpoint_interval = 1000;
    cfg.simulation.num_episodes = 1;
    cfg.verbose = false;

    train::RunSpec spec;
    spec.run = "pin";
    spec.run_dir = (std::filesystem::temp_directory_path() / ("metta_run_pin_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(spec.run_dir);
    spec.env = env_path;
    spec.agent = "small";
    spec.num_envs = 2;
    spec.trainer = cfg;
    spec.resolved["run"] = "pin";
    train::Run run(spec);
    while (!run.finished()) run.run_epoch();
    EXPECT_EQ(run.close(), train::RunEnd::kDone);
    EXPECT_EQ(run.trainer().epoch(), 3);
    EXPECT_TRUE(std::filesystem::exists(spec.run_dir + "/checkpoints/model_0003.safetensors"));
    EXPECT_EQ(run.last_metrics().count("losses/policy_loss"), 1u);

    Environment env(env_path, 2);
    Agent agent(env, AgentConfig{"small"}, "cpu", cfg.seed);
    TrainingComponents training = TrainingComponents::create(env, agent, cfg);
    while (training.agent_step < cfg.total_timesteps) {
      training.reset_for_rollout();
      while (!training.is_ready_for_training()) training.agent_step += training.rollout_step().first;
      training.reset_training_state();
      const Advantages adv = training.compute_advantages();
      const double beta = calculate_anneal_beta(training.epoch(), cfg.total_timesteps, training.experience.batch_size,
                                                cfg.prioritized_experience_replay.prio_alpha,
                                                cfg.prioritized_experience_replay.prio_beta0);
      for (int e = 0; e < cfg.update_epochs; ++e)
        for (std::int64_t i : training.experience.iterate_minibatches())
          training.optimize_step(
              training.train_minibatch(training.sample_minibatch(adv, i, training.experience.num_minibatches, beta, e), adv));
    }
    training.finish_epoch();
    EXPECT_TRUE(weights(training.trainer()) == weights(run.trainer())) << env_path;

    if (!env.curriculum()) {
      train::Trainer direct(cfg, env.config(), 2, "small");
      for (int e = 0; e < 3; ++e) direct.run_epoch();
      EXPECT_TRUE(weights(direct) == weights(run.trainer()));
    }
    std::filesystem::remove_all(spec.run_dir);
  }
}

TEST(Api, InitialPolicyAndKickstartTeacherComeFromCheckpoints) {
  namespace fs = std::filesystem;
  const std::string dir = (fs::temp_directory_path() / "metta_api_initial_policy").string();
  fs::remove_all(dir);
  TrainerConfig cfg = create_default_trainer_config(1, 3000, 1024, 256);
  cfg.bptt_horizon = 8;
  cfg.threads = 2;
  Environment env("hearts_room", 2);
  Agent first(env, AgentConfig{"small"}, "cpu", 1);
  PolicyStore store(dir);
  TrainingComponents a = TrainingComponents::create(env, first, cfg, &store);
  train_epochs(a, cfg, 1);
  const PolicyRecord saved = save_checkpoint(a, store, a.epoch());
  EXPECT_EQ(saved.metadata.generation, 0);
  EXPECT_GT(saved.metadata.train_time, 0.0);

  // a new run starting from the folder's newest model: its weights, generation + 1
  TrainerConfig from = cfg;
  from.initial_policy.uri = "file://" + dir;
  from.initial_policy.type = "latest";
  Agent second(env, AgentConfig{"small"}, "cpu", 2);
  EXPECT_NE(second.weights(), first.weights());
  TrainingComponents b = TrainingComponents::create(env, second, from, nullptr);
  EXPECT_EQ(second.weights(), first.weights());
  EXPECT_EQ(b.trainer().generation(), 1);
  const std::string dir2 = dir + "/next";
  PolicyStore store2(dir2);
  const PolicyRecord next = save_checkpoint(b, store2, b.epoch());
  EXPECT_EQ(next.metadata.generation, 1);
  EXPECT_EQ(next.metadata.initial_uri, saved.path);

  // a teacher of another preset distils into a fresh agent
  TrainerConfig ks = cfg;
  ks.kickstart.teacher_uri = saved.path;
  Agent student(env, AgentConfig{"fast"}, "cpu", 3);
  TrainingComponents c = TrainingComponents::create(env, student, ks, nullptr);
  EXPECT_TRUE(c.kickstarter.enabled);
  EXPECT_EQ(c.kickstarter.teacher_paths, std::vector<std::string>{saved.path});
  train_epochs(c, ks, 1);
  EXPECT_GT(c.losses.last.ks_action_loss, 0.0f);
  EXPECT_GT(c.losses.last.ks_value_loss, 0.0f);

  // a missing or mismatched file is a clear error, never a fresh start
  TrainerConfig bad = cfg;
  bad.initial_policy.uri = dir + "/model_9999.safetensors";
  Agent third(env, AgentConfig{"small"}, "cpu", 4);
  EXPECT_THROW(TrainingComponents::create(env, third, bad, nullptr), checkpoint::CheckpointError);
  bad.initial_policy.uri = saved.path;
  Agent wrong(env, AgentConfig{"fast"}, "cpu", 4);
  EXPECT_THROW(TrainingComponents::create(env, wrong, bad, nullptr), checkpoint::CheckpointError);
  fs::remove_all(dir);
}

// API traps of issue 10: Agent::weights() follows training (not stale until a save) and keeps the
// trained weights when training ends; the devices of Agent, Environment and TrainerConfig must agree;
// save_checkpoint's epoch may be left out; an unknown URI selection type is an error.
TEST(Api, AgentWeightsFollowTrainingAndDevicesMustAgree) {
  namespace fs = std::filesystem;
  TrainerConfig cfg = create_default_trainer_config(1, 3000, 1024, 256);
  cfg.bptt_horizon = 8;
  cfg.threads = 2;
  Environment env("hearts_room", 2);
  Agent agent(env, AgentConfig{"small"}, "cpu", 1);
  const std::vector<float> initial = agent.weights();
  std::vector<float> trained;
  {
    TrainingComponents training = TrainingComponents::create(env, agent, cfg, nullptr);
    train_epochs(training, cfg, 1);
    trained = agent.weights();  // no save in between
    EXPECT_NE(trained, initial);
    const float* live = training.trainer().policy().params();
    EXPECT_TRUE(trained == std::vector<float>(live, live + training.trainer().policy().num_params()));
    // set_weights reaches the policy being trained
    agent.set_weights(initial);
    EXPECT_EQ(training.trainer().policy().params()[0], initial[0]);
    agent.set_weights(trained);
  }
  EXPECT_EQ(agent.weights(), trained);  // kept after training ends
  expect_config_error([&] { Agent a(env, AgentConfig{"small"}, "gpu"); }, "agent.device: got 'gpu'");
  Agent on_cuda(env, AgentConfig{"small"}, "cuda");
  expect_config_error([&] { TrainingComponents::create(env, on_cuda, cfg, nullptr); },
                      "device: got trainer_config 'cpu', Environment 'cpu', Agent 'cuda', expected the same device");
  const std::string dir = (fs::temp_directory_path() / "metta_api_traps").string();
  fs::remove_all(dir);
  PolicyStore store(dir);
  TrainingComponents again = TrainingComponents::create(env, agent, cfg, &store);
  train_epochs(again, cfg, 1);
  EXPECT_EQ(save_checkpoint(again, store).metadata.epoch, 1);  // the current epoch
  // an agent is trained by one TrainingComponents at a time; replacing them hands it its weights first
  EXPECT_THROW(TrainingComponents::create(env, agent, cfg, nullptr), metta::Error);
  const std::vector<float> before = agent.weights();
  Agent other(env, AgentConfig{"small"}, "cpu", 5);
  again = TrainingComponents::create(env, other, cfg, nullptr);
  EXPECT_EQ(agent.weights(), before);
  TrainingComponents rebound = TrainingComponents::create(env, agent, cfg, nullptr);  // free again
  EXPECT_EQ(&rebound.agent(), &agent);
  EXPECT_THROW(save_checkpoint(again, store, 7), metta::Error);
  EXPECT_THROW(PolicyStore::resolve_uri(dir, "best"), checkpoint::CheckpointError);
  fs::remove_all(dir);
}

// The link between an Agent and the TrainingComponents that train it survives moves, and either may go
// first (valgrind found the destructor of components whose agent was gone writing into freed memory).
TEST(Api, AgentAndTrainingMayEndInEitherOrder) {
  TrainerConfig cfg = create_default_trainer_config(1, 3000, 1024, 256);
  cfg.bptt_horizon = 8;
  Environment env("hearts_room", 2);
  auto first = std::make_unique<Agent>(env, AgentConfig{"small"}, "cpu", 3);
  TrainingComponents training = TrainingComponents::create(env, *first, cfg, nullptr);
  train_epochs(training, cfg, 1);
  Agent moved = std::move(*first);  // the training follows the move
  EXPECT_EQ(&training.agent(), &moved);
  const float* live = training.trainer().policy().params();
  EXPECT_TRUE(moved.weights() == std::vector<float>(live, live + training.trainer().policy().num_params()));
  Agent copy = moved;  // a copy holds the weights and is not trained
  EXPECT_EQ(copy.weights(), moved.weights());
  EXPECT_NO_THROW(TrainingComponents::create(env, copy, cfg, nullptr));
  EXPECT_THROW(TrainingComponents::create(env, moved, cfg, nullptr), metta::Error);
  EXPECT_THROW(moved = copy, metta::Error);  // it is being trained
  first.reset();  // the moved-from shell goes: nothing is attached to it
  {
    auto short_lived = std::make_unique<Agent>(env, AgentConfig{"small"}, "cpu", 4);
    TrainingComponents orphan = TrainingComponents::create(env, *short_lived, cfg, nullptr);
    short_lived.reset();  // the agent goes first
    EXPECT_THROW(orphan.agent(), metta::Error);
    train_epochs(orphan, cfg, 1);  // training goes on without it
  }  // and the components end without touching it
  const std::vector<float> trained = moved.weights();
  training = TrainingComponents::create(env, copy, cfg, nullptr);  // moved's training ends here
  EXPECT_EQ(moved.weights(), trained);
  EXPECT_NO_THROW(moved = copy);  // free again
}
