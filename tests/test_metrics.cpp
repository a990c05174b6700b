// What a training run shows (issue 26 item 1, trainer.md §16): the experience/ terms kernel against a
// plain loop, the metric families of train/epoch_metrics.h in a run's metrics.jsonl and TensorBoard
// file (read back), the game's statistics mapped to env_agent/ and env_game/ (with and without their
// derived entries), and the same line from the documented API's TrainingComponents::stats().
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "api/metta_api.h"
#include "engine/config_yaml.h"
#include "engine/stats_keys.h"
#include "kernels/experience.h"
#include "kernels/memory.h"
#include "train/epoch_metrics.h"
#include "train/logging/tensorboard.h"
#include "train/run.h"

using namespace metta;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

api::TrainerConfig short_config() {
  api::TrainerConfig cfg = api::create_default_trainer_config(1, 3 * 2048, 2048, 512);
  cfg.bptt_horizon = 16;
  cfg.threads = 2;
  cfg.seed = 3;
  cfg.checkpoint_interval = 2;
  cfg.evaluate_interval = cfg.wandb_checkpoint_interval = 1000;
  cfg.simulation.num_episodes = 1;
  cfg.verbose = false;
  return cfg;
}

const std::string kShaped = std::string(METTA_SOURCE_DIR) + "/tests/data/hearts_room_shaped.yaml";

train::RunSpec run_spec(const std::string& name, bool derived) {
  train::RunSpec spec;
  spec.run = name;
  spec.run_dir = (std::filesystem::temp_directory_path() / ("metta_metrics_" + name + "_" + std::to_string(::getpid())))
                     .string();
  std::filesystem::remove_all(spec.run_dir);
  spec.env = kShaped;  // 120-step episodes: every epoch (128 steps per agent) completes some
  spec.agent = "small";
  spec.num_envs = 4;
  spec.derived_env_stats = derived;
  spec.trainer = short_config();
  spec.resolved["run"] = name;
  return spec;
}

nlohmann::json last_jsonl_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return nlohmann::json::parse(last);
}

}  // namespace

// The kernel's rows are the buffer's cells as the plain loop reads them, bit for bit (the same float
// operations in the same order per cell).
TEST(ExperienceStatTerms, MatchAPlainLoop) {
  const kernels::Context ctx = kernels::Context::cpu(2);
  const std::int64_t S = 37;
  const int H = 5;
  const std::size_t n = static_cast<std::size_t>(S * H);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> logp(n), values(n), rewards(n), ratio(n);
  std::vector<std::uint8_t> term(n), trunc(n);
  std::vector<std::int32_t> actions(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    logp[i] = u(rng);
    values[i] = u(rng);
    rewards[i] = u(rng);
    ratio[i] = 1 + u(rng) / 4;
    term[i] = rng() % 7 == 0;
    trunc[i] = rng() % 11 == 0;
    actions[2 * i] = static_cast<std::int32_t>(rng() % 9);
    actions[2 * i + 1] = static_cast<std::int32_t>(rng() % 4);
  }
  const kernels::ExperienceView x{S, H, 0, 0, nullptr, actions.data(), logp.data(), values.data(), rewards.data(),
                                  term.data(), trunc.data(), ratio.data(), nullptr, nullptr};
  std::vector<float> terms(kernels::kExperienceTerms * n, -1.0f);
  kernels::experience_stat_terms(ctx, x, terms.data());
  for (std::size_t i = 0; i < n; ++i) {
    const float a0 = static_cast<float>(actions[2 * i]), a1 = static_cast<float>(actions[2 * i + 1]);
    const float want[kernels::kExperienceTerms] = {rewards[i], values[i], logp[i], static_cast<float>(term[i]),
                                                   static_cast<float>(trunc[i]), ratio[i], a0 + a1, a0 * a0 + a1 * a1};
    for (int k = 0; k < kernels::kExperienceTerms; ++k) ASSERT_EQ(terms[k * n + i], want[k]) << "term " << k << " cell " << i;
  }
}

TEST(EpochMetrics, ProgressStatIsTheMostRewardedItem) {
  EXPECT_EQ(train::progress_stat_of(engine::env_config_from("hearts_room")), "heart.gained");
  EXPECT_EQ(train::progress_stat_of(engine::env_config_from(kShaped)), "heart.gained");  // 1 over ore 0.1, battery 0.8
  engine::EnvConfig none = engine::env_config_from("hearts_room");
  for (engine::GroupConfig& g : none.groups) g.props.rewards.clear();
  EXPECT_EQ(train::progress_stat_of(none), "");
}

// The game's statistics as the engine averaged them, under env_agent/ and env_game/; base keys only
// when asked; the progress stat at 0 before anyone gains it.
TEST(EpochMetrics, EpisodeStatisticsBecomeEnvKeys) {
  train::TrainerConfig cfg = short_config();
  train::Trainer t(cfg, engine::env_config_from("hearts_room"), 2, "small");
  train::EpochStats st;
  st.rollout_seconds = 0.25;
  st.train_seconds = 0.75;
  engine::CompletedEpisodes done;
  done.episodes = 2;
  done.mean_length = 150;
  done.agent = {{"ore_red.gained", 1.5}, {"ore_red.gained.rate", 0.01}, {"action.move.success", 40}};
  done.game = {{"tokens_written", 900}, {"tokens_written.avg", 3}};
  train::EpochMetrics all({true, "heart.gained"});
  const auto m = all.line(t, st, done, 1.0);
  EXPECT_EQ(m.at("env_agent/ore_red.gained"), 1.5);
  EXPECT_EQ(m.at("env_agent/ore_red.gained.rate"), 0.01);
  EXPECT_EQ(m.at("env_agent/action.move.success"), 40);
  EXPECT_EQ(m.at("env_agent/heart.gained"), 0);  // charted from the first epoch
  EXPECT_EQ(m.at("env_game/tokens_written"), 900);
  EXPECT_EQ(m.at("env_game/tokens_written.avg"), 3);
  EXPECT_EQ(m.at("experience/ep_lengths"), 150);
  EXPECT_DOUBLE_EQ(m.at("timing_per_epoch/frac/rollout"), 0.25);
  EXPECT_DOUBLE_EQ(m.at("timing_per_epoch/msec/train"), 750);
  EXPECT_DOUBLE_EQ(m.at("timing_per_epoch/sps"), static_cast<double>(t.batch_size()));
  // cumulative over the epochs this object saw
  st.rollout_seconds = 0.75;
  st.train_seconds = 0.25;
  const auto m2 = all.line(t, st, done, 2.0);
  EXPECT_DOUBLE_EQ(m2.at("timing_cumulative/frac/rollout"), 0.5);
  EXPECT_DOUBLE_EQ(m2.at("timing_cumulative/msec/rollout"), 1000);
  EXPECT_DOUBLE_EQ(m2.at("timing_cumulative/sps"), static_cast<double>(t.batch_size()));

  train::EpochMetrics base({false, ""});
  const auto b = base.line(t, st, done, 1.0);
  EXPECT_EQ(b.count("env_agent/ore_red.gained"), 1u);
  EXPECT_EQ(b.count("env_game/tokens_written"), 1u);
  EXPECT_EQ(b.count("env_agent/heart.gained"), 0u);  // no progress stat asked for, none gained
  for (const auto& [k, v] : b) {
    if (starts_with(k, "env_")) {
      EXPECT_FALSE(engine::is_derived_stat_key(k)) << k;
    }
  }
}

// A short run: every family of trainer.md §16 in metrics.jsonl and, read back, in the TensorBoard file,
// with the game's statistics the episodes produced.
TEST(EpochMetrics, RunLogsEveryFamilyToMetricsJsonlAndTensorBoard) {
  const train::RunSpec spec = run_spec("all", true);
  train::Run run(spec);
  while (!run.finished()) run.run_epoch();
  run.close();
  const nlohmann::json line = last_jsonl_line(spec.run_dir + "/metrics.jsonl");
  for (const char* key :
       {"env_agent/heart.gained", "env_agent/action.move.success", "env_agent/action.move.success.rate",
        "env_game/tokens_written", "experience/rewards", "experience/values", "experience/logprobs", "experience/dones",
        "experience/truncateds", "experience/ratio", "experience/ep_lengths", "experience/actions_mean",
        "experience/actions_std", "parameters/epoch_steps", "parameters/num_minibatches",
        "parameters/latest_saved_policy_epoch", "parameters/learning_rate", "timing_per_epoch/msec/rollout",
        "timing_per_epoch/frac/train", "timing_per_epoch/msec/train.backward", "timing_per_epoch/sps",
        "timing_cumulative/frac/rollout", "timing_cumulative/sps", "trainer_memory/experience_mb",
        "trainer_memory/device_live_mb", "model/total_parameters", "metric/train_time", "losses/policy_loss"})
    ASSERT_TRUE(line.contains(key)) << key << " missing from metrics.jsonl";
  for (auto it = line.begin(); it != line.end(); ++it) EXPECT_TRUE(std::isfinite(it->get<double>())) << it.key();
  EXPECT_GT(line["env_agent/action.move.success"].get<double>(), 0);  // random agents do move
  EXPECT_GT(line["env/episodes"].get<double>(), 0);
  EXPECT_GT(line["experience/ep_lengths"].get<double>(), 0);
  EXPECT_LE(line["experience/ep_lengths"].get<double>(), 120);
  EXPECT_EQ(line["model/total_parameters"].get<double>(), static_cast<double>(run.trainer().policy().num_params()));
  EXPECT_EQ(line["parameters/latest_saved_policy_epoch"].get<double>(), 2);  // saved every 2 epochs, line of epoch 3
  EXPECT_EQ(line["parameters/epoch_steps"].get<double>(), 2048);
  EXPECT_GT(line["trainer_memory/experience_mb"].get<double>(), 0);
  EXPECT_NEAR(line["timing_per_epoch/frac/rollout"].get<double>() + line["timing_per_epoch/frac/train"].get<double>(),
              1.0, 1e-9);
  // no terminals in this env, every episode end is a truncation of each of its 4 agents: the buffer's
  // truncation flags count the rollout's episodes (within the envs' ends at the buffer's edges)
  EXPECT_EQ(line["experience/dones"].get<double>(), 0);
  const double ends = line["experience/truncateds"].get<double>() * 2048 / 4;
  EXPECT_NEAR(ends, line["env/episodes"].get<double>(), spec.num_envs) << "truncations in the buffer vs episodes";
  const double mean_action = line["experience/actions_mean"].get<double>();
  EXPECT_GT(mean_action, 0);
  EXPECT_GT(line["experience/actions_std"].get<double>(), 0);

  std::string events;
  for (const auto& e : std::filesystem::directory_iterator(spec.run_dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events = e.path().string();
  ASSERT_FALSE(events.empty());
  const std::vector<logging::ScalarEvent> read = logging::read_event_file(events);
  ASSERT_GE(read.size(), 2u);
  const logging::ScalarEvent& last = read.back();
  EXPECT_EQ(last.step, 3 * 2048);
  for (const char* key : {"env_agent/heart.gained", "env_agent/action.move.success", "experience/ratio",
                          "timing_per_epoch/msec/rollout", "trainer_memory/experience_mb", "model/total_parameters"}) {
    ASSERT_EQ(last.values.count(key), 1u) << key << " missing from the TensorBoard file";
    EXPECT_FLOAT_EQ(last.values.at(key), static_cast<float>(line[key].get<double>())) << key;
  }
  EXPECT_EQ(last.values.size(), line.size());  // the same line in both
  std::filesystem::remove_all(spec.run_dir);
}

TEST(EpochMetrics, BaseEnvStatsLeaveTheDerivedEntriesOut) {
  const train::RunSpec spec = run_spec("base", false);
  train::Run run(spec);
  while (!run.finished()) run.run_epoch();
  run.close();
  const nlohmann::json line = last_jsonl_line(spec.run_dir + "/metrics.jsonl");
  EXPECT_TRUE(line.contains("env_agent/action.move.success"));
  for (auto it = line.begin(); it != line.end(); ++it) {
    if (starts_with(it.key(), "env_agent/") || starts_with(it.key(), "env_game/")) {
      EXPECT_FALSE(engine::is_derived_stat_key(it.key())) << it.key();
    }
  }
  std::filesystem::remove_all(spec.run_dir);
}

// The documented API loop gets the same line: TrainingComponents::stats() after an epoch whose episodes
// went to accumulate_stats.
TEST(EpochMetrics, TheApiLoopHasTheSameFamilies) {
  api::TrainerConfig cfg = short_config();
  cfg.total_timesteps = 2048;
  api::Environment env(kShaped, 4);
  api::Agent agent(env, api::AgentConfig{"small"}, "cpu", cfg.seed);
  api::TrainingComponents training = api::TrainingComponents::create(env, agent, cfg);
  EXPECT_TRUE(training.stats().empty());
  training.reset_for_rollout();
  engine::CompletedEpisodes infos;
  while (!training.is_ready_for_training()) {
    auto [n, info] = training.rollout_step();
    training.agent_step += n;
    if (info.episodes > 0) infos = info;
  }
  training.accumulate_stats(infos);
  training.reset_training_state();
  const api::Advantages adv = training.compute_advantages();
  for (std::int64_t i : training.experience.iterate_minibatches())
    training.optimize_step(training.train_minibatch(training.sample_minibatch(adv, i, training.experience.num_minibatches, 1.0), adv));
  training.finish_epoch();
  const auto& s = training.stats();
  ASSERT_GT(infos.episodes, 0);
  EXPECT_EQ(s.at("env/episodes"), infos.episodes);
  EXPECT_EQ(s.at("env_agent/action.move.success"), infos.agent.at("action.move.success"));
  EXPECT_EQ(s.count("env_agent/heart.gained"), 1u);
  EXPECT_EQ(s.at("experience/ep_lengths"), infos.mean_length);
  EXPECT_EQ(s.at("model/total_parameters"), static_cast<double>(training.trainer().policy().num_params()));
  EXPECT_GT(s.at("timing_per_epoch/msec/train"), 0);
  EXPECT_EQ(s.at("metric/epoch"), 1);
}
