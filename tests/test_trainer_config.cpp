// The trainer configs: every validation rule of TrainerConfig and its parts rejects a bad value with an
// error naming the field and the value; the job file composes its config groups (`trainer=reference`,
// groups beside a config file, sibling defaults, `_self_` order) and errors name the file that set the
// bad key, or the command line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <functional>

#include "api/config/compose.h"
#include "api/config/train_job.h"
#include "api/metta_api.h"
#include "engine/config.h"
#include "train/run_dir.h"
#include "train/trainer_config.h"

using namespace metta;
using namespace metta::api;

namespace {
template <class F>
std::string config_error(F f) {
  try {
    f();
  } catch (const engine::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

struct Rule {
  std::function<void(TrainerConfig&)> set;
  std::string fragment;  // "field: got value"
};

// The compiled-in job file with another defaults list.
std::string job_with_defaults(const std::string& defaults_block) {
  std::string job = config::default_train_yaml();
  const auto b = job.find("defaults:\n"), e = job.find("  - _self_\n", b);
  return job.replace(b, e + 11 - b, defaults_block);
}

std::string write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p.string();
}
}  // namespace

TEST(TrainerConfigValidation, EveryRuleNamesTheFieldAndTheValue) {
  const std::vector<Rule> rules = {
      {[](TrainerConfig& c) { c.num_workers = 0; }, "trainer.num_workers: got 0"},
      {[](TrainerConfig& c) { c.total_timesteps = 0; }, "trainer.total_timesteps: got 0"},
      {[](TrainerConfig& c) { c.batch_size = 0; }, "trainer.batch_size: got 0"},
      {[](TrainerConfig& c) { c.minibatch_size = 2048; }, "trainer.minibatch_size: got 2048, expected a count in [1, batch_size] (batch_size is 1024)"},
      {[](TrainerConfig& c) { c.minibatch_size = 0; }, "trainer.minibatch_size: got 0, expected a count in [1, batch_size]"},
      {[](TrainerConfig& c) { c.threads = -3; }, "trainer.threads: got -3"},
      {[](TrainerConfig& c) { c.minibatch_size = 300; }, "trainer.minibatch_size: got 300, expected a divisor of batch_size"},
      {[](TrainerConfig& c) { c.bptt_horizon = 1; }, "trainer.bptt_horizon: got 1"},
      {[](TrainerConfig& c) { c.update_epochs = 0; }, "trainer.update_epochs: got 0"},
      {[](TrainerConfig& c) { c.checkpoint_interval = 0; }, "trainer.checkpoint_interval: got 0"},
      {[](TrainerConfig& c) { c.evaluate_interval = 10; }, "trainer.evaluate_interval: got 10, expected >= checkpoint_interval (50)"},
      {[](TrainerConfig& c) { c.wandb_checkpoint_interval = 5; }, "trainer.wandb_checkpoint_interval: got 5"},
      {[](TrainerConfig& c) { c.device = "tpu"; }, "trainer.device: got 'tpu', expected 'cpu' or 'cuda'"},
      {[](TrainerConfig& c) { c.forward_pass_minibatch_target_size = 0; }, "trainer.forward_pass_minibatch_target_size: got 0"},
      {[](TrainerConfig& c) { c.async_factor = 0; }, "trainer.async_factor: got 0"},
      {[](TrainerConfig& c) { c.cpu_offload = true; }, "trainer.cpu_offload: got true, expected false"},
      {[](TrainerConfig& c) { c.compile_mode = "fast"; }, "trainer.compile_mode: got 'fast'"},
      {[](TrainerConfig& c) { c.profiler_interval_epochs = 0; }, "trainer.profiler_interval_epochs: got 0"},
      {[](TrainerConfig& c) { c.grad_mean_variance_interval = -1; }, "trainer.grad_mean_variance_interval: got -1"},
      {[](TrainerConfig& c) { c.l2_init_weight_update_interval = -2; }, "trainer.l2_init_weight_update_interval: got -2"},
      {[](TrainerConfig& c) { c.target_kl = -0.1; }, "trainer.target_kl: got -0.1"},
      {[](TrainerConfig& c) { c.precision = "fp16"; }, "trainer.precision: got 'fp16', expected 'fp32', 'tf32' or 'bf16'"},
      {[](TrainerConfig& c) { c.first_conv = "sparse"; }, "trainer.first_conv: got 'sparse', expected 'tokens' or 'dense'"},
      {[](TrainerConfig& c) { c.collective_timeout = 0; }, "trainer.collective_timeout: got 0"},
      {[](TrainerConfig& c) { c.lr_scheduler.warmup_steps = -5; }, "trainer.lr_scheduler.warmup_steps: got -5"},
      {[](TrainerConfig& c) { c.initial_policy.type = "best"; }, "trainer.initial_policy.type: got 'best', expected 'top', 'latest' or 'specific'"},
      {[](TrainerConfig& c) { c.initial_policy.range = 0; }, "trainer.initial_policy.range: got 0"},
      {[](TrainerConfig& c) { c.initial_policy.metric = ""; }, "trainer.initial_policy.metric: got ''"},
      {[](TrainerConfig& c) { c.simulation.num_episodes = 0; }, "trainer.simulation.num_episodes: got 0"},
      {[](TrainerConfig& c) { c.ppo.clip_coef = -1; }, "trainer.ppo.clip_coef: got -1"},
      {[](TrainerConfig& c) { c.ppo.vf_clip_coef = -1; }, "trainer.ppo.vf_clip_coef: got -1"},
      {[](TrainerConfig& c) { c.ppo.ent_coef = -1; }, "trainer.ppo.ent_coef: got -1"},
      {[](TrainerConfig& c) { c.ppo.vf_coef = -1; }, "trainer.ppo.vf_coef: got -1"},
      {[](TrainerConfig& c) { c.ppo.gamma = 1.5; }, "trainer.ppo.gamma: got 1.5, expected a number in [0, 1]"},
      {[](TrainerConfig& c) { c.ppo.gae_lambda = -0.5; }, "trainer.ppo.gae_lambda: got -0.5"},
      {[](TrainerConfig& c) { c.ppo.max_grad_norm = 0; }, "trainer.ppo.max_grad_norm: got 0"},
      {[](TrainerConfig& c) { c.ppo.vtrace_rho_clip = 0; }, "trainer.ppo.vtrace_rho_clip: got 0"},
      {[](TrainerConfig& c) { c.ppo.vtrace_c_clip = 0; }, "trainer.ppo.vtrace_c_clip: got 0"},
      {[](TrainerConfig& c) { c.ppo.l2_reg_loss_coef = -1; }, "trainer.ppo.l2_reg_loss_coef: got -1"},
      {[](TrainerConfig& c) { c.ppo.l2_init_loss_coef = -1; }, "trainer.ppo.l2_init_loss_coef: got -1"},
      {[](TrainerConfig& c) { c.optimizer.type = "sgd"; }, "trainer.optimizer.type: got 'sgd', expected 'adam' or 'muon'"},
      {[](TrainerConfig& c) { c.optimizer.learning_rate = 0; }, "trainer.optimizer.learning_rate: got 0"},
      {[](TrainerConfig& c) { c.optimizer.beta1 = 1; }, "trainer.optimizer.beta1: got 1"},
      {[](TrainerConfig& c) { c.optimizer.beta2 = 1; }, "trainer.optimizer.beta2: got 1"},
      {[](TrainerConfig& c) { c.optimizer.eps = -1; }, "trainer.optimizer.eps: got -1"},
      {[](TrainerConfig& c) { c.optimizer.weight_decay = 2; }, "trainer.optimizer.weight_decay: got 2"},
      {[](TrainerConfig& c) { c.prioritized_experience_replay.prio_alpha = -1; },
       "trainer.prioritized_experience_replay.prio_alpha: got -1"},
      {[](TrainerConfig& c) { c.prioritized_experience_replay.prio_beta0 = 2; },
       "trainer.prioritized_experience_replay.prio_beta0: got 2"},
      {[](TrainerConfig& c) { c.kickstart.action_loss_coef = -1; }, "trainer.kickstart.action_loss_coef: got -1"},
      {[](TrainerConfig& c) { c.kickstart.value_loss_coef = -1; }, "trainer.kickstart.value_loss_coef: got -1"},
      {[](TrainerConfig& c) { c.kickstart.anneal_ratio = 1.5; }, "trainer.kickstart.anneal_ratio: got 1.5"},
      {[](TrainerConfig& c) { c.kickstart.kickstart_steps = -1; }, "trainer.kickstart.kickstart_steps: got -1"},
      {[](TrainerConfig& c) { c.kickstart.additional_teachers = {TeacherConfig{"", 1, 1}}; },
       "trainer.kickstart.additional_teachers[0].teacher_uri: got ''"},
      {[](TrainerConfig& c) { c.kickstart.additional_teachers = {TeacherConfig{"t.safetensors", -1, 1}}; },
       "trainer.kickstart.additional_teachers[0].action_loss_coef: got -1"},
      {[](TrainerConfig& c) { c.kickstart.additional_teachers = {TeacherConfig{"t.safetensors", 1, -2}}; },
       "trainer.kickstart.additional_teachers[0].value_loss_coef: got -2"},
  };
  for (const Rule& rule : rules) {
    TrainerConfig c = create_default_trainer_config(1, 10000, 1024, 256);
    EXPECT_NO_THROW(c.validate());
    rule.set(c);
    const std::string err = config_error([&] { c.validate(); });
    EXPECT_NE(err.find(rule.fragment), std::string::npos) << "want: " << rule.fragment << "\ngot:  " << err;
  }
  // Environment's own arguments
  EXPECT_NE(config_error([] { Environment e("simple", 0); }).find("env.num_envs: got 0"), std::string::npos);
  EXPECT_NE(config_error([] { Environment e("simple", 2, 0); }).find("env.num_workers: got 0"), std::string::npos);
  EXPECT_NE(config_error([] { Environment e("simple", 2, 1, -1); }).find("env.batch_size: got -1"), std::string::npos);
  EXPECT_NE(config_error([] { Environment e("simple", 2, 1, 0, "gpu"); }).find("env.device: got 'gpu'"), std::string::npos);
  // the job's own keys
  const std::vector<std::pair<std::string, std::string>> job_rules = {
      {"num_envs=-3", "num_envs: got -3"},
      {"num_envs=0", "num_envs: got 0, expected null (derived) or a count >= 1"},
      {"device=gpu", "device: got 'gpu', expected 'cpu' or 'cuda'"},
      {"agent=fats", "agent: got 'fats', expected 'fast', 'api_default' or 'small'"},
      {"agent=fats", "(did you mean 'fast'?)"},
      {"agent=fast:hidden_dim=0", "agent: got 'fast:hidden_dim=0', expected a valid agent spec"},
      {"agent=fast:width=3", "unknown option 'width', expected hidden_dim=N or lstm_layers=N"},
      {"threads=-1", "threads: got -1"},
      {"max_seconds=-5", "max_seconds: got -5"},
      {"env=hearts_rom", "env: got 'hearts_rom', expected an embedded env"},
      {"trainer.ppo=5", "command line: trainer.ppo: got '5', expected a mapping of its keys"},
      {"existing_run=keep", "existing_run: got 'keep', expected 'refuse', 'archive' or 'overwrite'"},
  };
  for (const auto& [override_text, fragment] : job_rules) {
    const std::string err = config_error([&] { config::load_train_job("", {override_text}); });
    EXPECT_NE(err.find(fragment), std::string::npos) << "want: " << fragment << "\ngot:  " << err;
  }
}

TEST(TrainerConfigValidation, EveryFieldHasTheReferenceDefault) {
  const TrainerConfig d;
  EXPECT_EQ(d.total_timesteps, 10'000'000'000);
  EXPECT_EQ(d.batch_size, 524288);
  EXPECT_EQ(d.minibatch_size, 16384);
  EXPECT_EQ(d.bptt_horizon, 64);
  EXPECT_EQ(d.update_epochs, 1);
  EXPECT_EQ(d.forward_pass_minibatch_target_size, 4096);
  EXPECT_EQ(d.async_factor, 2);
  EXPECT_TRUE(d.zero_copy);
  EXPECT_FALSE(d.cpu_offload);
  EXPECT_FALSE(d.compile);
  EXPECT_EQ(d.compile_mode, "reduce-overhead");
  EXPECT_EQ(d.checkpoint_interval, 50);
  EXPECT_EQ(d.evaluate_interval, 200);
  EXPECT_EQ(d.wandb_checkpoint_interval, 50);
  EXPECT_EQ(d.grad_mean_variance_interval, 0);
  EXPECT_EQ(d.l2_init_weight_update_interval, 0);
  EXPECT_EQ(d.target_kl, 0.0);
  EXPECT_FALSE(d.lr_scheduler.enabled);
  EXPECT_EQ(d.initial_policy.uri, "");
  EXPECT_EQ(d.initial_policy.type, "top");
  EXPECT_EQ(d.initial_policy.metric, "epoch");
  EXPECT_DOUBLE_EQ(d.ppo.clip_coef, 0.1);
  EXPECT_DOUBLE_EQ(d.ppo.ent_coef, 0.0021);
  EXPECT_DOUBLE_EQ(d.ppo.gamma, 0.977);
  EXPECT_DOUBLE_EQ(d.ppo.gae_lambda, 0.916);
  EXPECT_DOUBLE_EQ(d.ppo.vf_coef, 0.44);
  EXPECT_DOUBLE_EQ(d.ppo.vf_clip_coef, 0.1);
  EXPECT_DOUBLE_EQ(d.ppo.max_grad_norm, 0.5);
  EXPECT_DOUBLE_EQ(d.ppo.l2_reg_loss_coef, 0.0);
  EXPECT_DOUBLE_EQ(d.ppo.l2_init_loss_coef, 0.0);
  EXPECT_DOUBLE_EQ(d.optimizer.learning_rate, 0.0004573146765703167);
  EXPECT_DOUBLE_EQ(d.optimizer.eps, 1e-12);
  EXPECT_DOUBLE_EQ(d.prioritized_experience_replay.prio_beta0, 0.6);
  EXPECT_EQ(d.kickstart.teacher_uri, "");
  EXPECT_DOUBLE_EQ(d.kickstart.anneal_ratio, 0.65);
  EXPECT_DOUBLE_EQ(d.kickstart.kickstart_steps, 1e9);
}

TEST(ConfigGroups, GroupOptionSelectsAnotherFile) {
  const config::TrainJob def = config::load_train_job("", {});
  EXPECT_EQ(def.trainer.batch_size, 16384);
  EXPECT_EQ(def.trainer.bptt_horizon, 16);
  const config::TrainJob ref = config::load_train_job("", {"trainer=reference"});
  EXPECT_EQ(ref.trainer.batch_size, 524288);
  EXPECT_EQ(ref.trainer.minibatch_size, 16384);
  EXPECT_EQ(ref.trainer.bptt_horizon, 64);
  EXPECT_DOUBLE_EQ(ref.trainer.optimizer.learning_rate, 0.0004573146765703167);
  EXPECT_FALSE(ref.trainer.train_from_rollout_state);
  EXPECT_EQ(ref.trainer.optimizer.type, "adam");  // from `default`, which reference.yaml builds on
  EXPECT_DOUBLE_EQ(ref.trainer.ppo.gamma, 0.977);
  // overrides apply after the composition, in any order on the command line
  const config::TrainJob both = config::load_train_job("", {"trainer.batch_size=131072", "trainer=reference"});
  EXPECT_EQ(both.trainer.batch_size, 131072);
  EXPECT_EQ(both.resolved["trainer"]["bptt_horizon"].as<int>(), 64);
  EXPECT_FALSE(both.resolved["defaults"].IsDefined());
  const std::string err = config_error([] { config::load_train_job("", {"trainer=refrence"}); });
  EXPECT_NE(err.find("trainer: got 'refrence', expected one of the group's options (default, reference)"),
            std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'reference'"), std::string::npos) << err;
  const std::vector<std::string> opts = config::group_options("trainer", "");
  EXPECT_EQ(opts, (std::vector<std::string>{"default", "reference"}));
}

TEST(ConfigGroups, FilesBesideTheConfigAndErrorsNameTheirFile) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "metta_config_groups_test";
  std::filesystem::remove_all(dir);
  std::string job = config::default_train_yaml();
  const std::string main = write(dir / "job.yaml", job);
  // a group option beside the job file, building on the compiled-in default
  write(dir / "trainer" / "tiny.yaml", "defaults:\n  - default\n  - _self_\nbatch_size: 2048\nminibatch_size: 512\n");
  write(dir / "trainer" / "broken.yaml", "defaults:\n  - default\n  - _self_\n\nbatch_size: many\n");
  write(dir / "trainer" / "typo.yaml", "defaults:\n  - default\n  - _self_\nppo:\n  gama: 0.5\n");
  const config::TrainJob tiny = config::load_train_job(main, {"trainer=tiny"});
  EXPECT_EQ(tiny.trainer.batch_size, 2048);
  EXPECT_EQ(tiny.trainer.minibatch_size, 512);
  EXPECT_EQ(tiny.trainer.bptt_horizon, 16);
  std::string err = config_error([&] { config::load_train_job(main, {"trainer=broken"}); });
  EXPECT_NE(err.find((dir / "trainer" / "broken.yaml").string() + ":5: trainer.batch_size: got 'many', expected an integer"),
            std::string::npos) << err;
  err = config_error([&] { config::load_train_job(main, {"trainer=typo"}); });
  EXPECT_NE(err.find("typo.yaml:5: trainer.ppo.gama: got an unknown key"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'gamma'"), std::string::npos) << err;
  err = config_error([&] { config::load_train_job(main, {"trainer.update_epochs=lots"}); });
  EXPECT_NE(err.find("command line: trainer.update_epochs: got 'lots', expected an integer"), std::string::npos) << err;
  // the options listed come from both places
  EXPECT_EQ(config::group_options("trainer", dir.string()),
            (std::vector<std::string>{"broken", "default", "reference", "tiny", "typo"}));
  // _self_ first: the group file wins over the job file's own keys
  const std::string self_first =
      job_with_defaults("defaults:\n  - _self_\n  - trainer: default\n") + "trainer:\n  batch_size: 4096\n";
  EXPECT_EQ(config::load_train_job(write(dir / "self_first.yaml", self_first), {}).trainer.batch_size, 16384);
  const std::string self_last = job + "trainer:\n  batch_size: 4096\n";
  EXPECT_EQ(config::load_train_job(write(dir / "self_last.yaml", self_last), {}).trainer.batch_size, 4096);
  const std::string self_implicit =
      job_with_defaults("defaults:\n  - trainer: default\n") + "trainer:\n  batch_size: 8192\n";
  EXPECT_EQ(config::load_train_job(write(dir / "self_implicit.yaml", self_implicit), {}).trainer.batch_size, 8192);
  // malformed defaults lists
  const std::string bad = job_with_defaults("defaults:\n  - trainer: default\n  - nonsense\n");
  err = config_error([&] { config::load_train_job(write(dir / "bad.yaml", bad), {}); });
  EXPECT_NE(err.find("bad.yaml:9: defaults: got 'nonsense', expected '_self_' or 'group: option'"), std::string::npos)
      << err;
  const std::string not_list = job_with_defaults("defaults: {trainer: default}\n");
  err = config_error([&] { config::load_train_job(write(dir / "not_list.yaml", not_list), {}); });
  EXPECT_NE(err.find("defaults: got a mapping, expected a list"), std::string::npos) << err;
  write(dir / "trainer" / "loop.yaml", "defaults:\n  - loop\n");
  err = config_error([&] { config::load_train_job(main, {"trainer=loop"}); });
  EXPECT_NE(err.find("nest more than 16 deep"), std::string::npos) << err;
  err = config_error([&] { config::load_train_job(main, {"trainer=../job"}); });
  EXPECT_NE(err.find("is not a group and option name"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

TEST(ConfigGroups, NullValuesAreDerivedAndRecorded) {
  const config::TrainJob job = config::load_train_job("", {"num_envs=null", "trainer.num_workers=2"});
  // hearts_room has 4 agents: 4096 / 4 = 1024 per forward batch, times async_factor 2
  EXPECT_EQ(job.num_envs, 2048);
  EXPECT_EQ(job.resolved["num_envs"].as<long>(), 2048);
  const config::TrainJob auto_workers = config::load_train_job("", {"trainer.num_workers=null"});
  EXPECT_GE(auto_workers.trainer.num_workers, 1);
  EXPECT_EQ(auto_workers.resolved["trainer"]["num_workers"].as<int>(), auto_workers.trainer.num_workers);
  const config::TrainJob ks = config::load_train_job(
      "", {"trainer.kickstart.teacher_uri=/tmp/t.safetensors", "trainer.kickstart.additional_teachers=[]",
           "trainer.simulation.replay_dir=/tmp/replays", "trainer.ppo.l2_init_loss_coef=0.5"});
  EXPECT_EQ(ks.trainer.kickstart.teacher_uri, "/tmp/t.safetensors");
  EXPECT_TRUE(ks.trainer.kickstart.additional_teachers.empty());
  EXPECT_EQ(ks.trainer.simulation.replay_dir, "/tmp/replays");
  EXPECT_DOUBLE_EQ(ks.trainer.ppo.l2_init_loss_coef, 0.5);
  const config::TrainJob many = config::load_train_job(
      "", {"trainer.kickstart.additional_teachers=[{teacher_uri: /a}, {teacher_uri: /b, action_loss_coef: 0.5}]"});
  ASSERT_EQ(many.trainer.kickstart.additional_teachers.size(), 2u);
  EXPECT_EQ(many.trainer.kickstart.additional_teachers[1].teacher_uri, "/b");
  EXPECT_DOUBLE_EQ(many.trainer.kickstart.additional_teachers[1].action_loss_coef, 0.5);
  EXPECT_DOUBLE_EQ(many.trainer.kickstart.additional_teachers[1].value_loss_coef, 1.0);
  std::string err = config_error([] { config::load_train_job("", {"trainer.kickstart.additional_teachers=[a]"}); });
  EXPECT_NE(err.find("trainer.kickstart.additional_teachers[0]: got 'a', expected a mapping"), std::string::npos) << err;
  err = config_error(
      [] { config::load_train_job("", {"trainer.kickstart.additional_teachers=[{teacher_uri: /a, action_coef: 1}]"}); });
  EXPECT_NE(err.find("command line: trainer.kickstart.additional_teachers[0].action_coef: got an unknown key"),
            std::string::npos)
      << err;
}

#include <random>

#include "engine/config_yaml.h"

// Seeded mutation fuzz of the YAML loaders: byte flips, deletions, duplications and inserted YAML
// punctuation in the job file (through composition, overrides and typed reading) and in an env file.
// Every outcome is a loaded config or a ConfigError; nothing else may escape and nothing may crash.
TEST(ConfigFuzz, MutatedYamlFilesOnlyEverGiveConfigErrors) {
  std::mt19937 rng(2026);
  const std::string punct = ":-[]{}#&*!|>'\"%@`,?$ \n\t0123456789";
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "metta_config_fuzz";
  std::filesystem::create_directories(dir);
  auto mutate = [&](std::string s) {
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        case 2: s.insert(at, s.substr(at, 1 + rng() % 16)); break;
        default: s.insert(at, 1, punct[rng() % punct.size()]); break;
      }
    }
    return s;
  };
  std::ifstream env_file(std::string(METTA_SOURCE_DIR) + "/configs/env/mettagrid/hearts_room.yaml");
  const std::string env_text((std::istreambuf_iterator<char>(env_file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(env_text.empty());
  int loaded = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string path = write(dir / "job.yaml", mutate(config::default_train_yaml()));
    try {
      config::load_train_job(path, {});
      ++loaded;
    } catch (const engine::ConfigError&) {
      ++rejected;
    }
  }
  for (int i = 0; i < 300; ++i) {
    try {
      engine::compile_env(engine::parse_env_config(mutate(env_text), "fuzz.yaml"));
      ++loaded;
    } catch (const engine::ConfigError&) {
      ++rejected;
    }
  }
  std::filesystem::remove_all(dir);
  EXPECT_GT(rejected, 100);  // the mutations do reach the validation
  EXPECT_GT(loaded, 10);     // and some are harmless (comments, spacing)
}

// A rule across fields broken in a job file names the file and line that set the field (issue 10).
TEST(TrainerConfigValidation, RulesAcrossFieldsNameTheFileAndLine) {
  const std::string path = (std::filesystem::temp_directory_path() / "metta_job_rules.yaml").string();
  {
    std::ofstream f(path);
    f << config::default_train_yaml() << "trainer:\n  minibatch_size: 300\n";
  }
  const std::string err = config_error([&] { config::load_train_job(path, {}); });
  const std::string want = path + ":";
  EXPECT_EQ(err.rfind(want, 0), 0u) << err;
  EXPECT_NE(err.find(": trainer.minibatch_size: got 300, expected a divisor of batch_size"), std::string::npos) << err;
  std::filesystem::remove(path);
}

// The config tables (engine/config_fields.h): one row per field drives reading, validation, writing and the
// resume rules, so what is written reads back to the same config, the resume-safe keys come from the rows,
// and a saved config of an older spelling (null, absent keys) compares equal to the same settings.
TEST(ConfigTables, WrittenConfigsReadBackToTheSameSettings) {
  TrainerConfig c = create_default_trainer_config(2, 123456, 4096, 512);
  c.ppo.gamma = 0.5;
  c.optimizer.type = "muon";
  c.kickstart.additional_teachers = {TeacherConfig{"t.safetensors", 0.5, 2}};
  c.target_kl = 0.02;
  c.lstm = "native";
  c.simulation.replay_dir = "replays";
  const YAML::Node written = engine::write_fields(c);
  TrainerConfig back;
  engine::read_fields(written, "trainer", nullptr, back);
  EXPECT_EQ(YAML::Dump(engine::write_fields(back)), YAML::Dump(written));
  EXPECT_EQ(written["ppo"]["gamma"].Scalar(), "0.5");
  EXPECT_EQ(engine::write_fields(TrainerConfig{})["ppo"]["gae_lambda"].Scalar(), "0.916");  // shortest, exact
  EXPECT_EQ(engine::shortest_round_trip(0.0004573146765703167), "0.0004573146765703167");
  EXPECT_EQ(back.ppo.gamma, 0.5);
  EXPECT_EQ(back.optimizer.type, "muon");
  ASSERT_EQ(back.kickstart.additional_teachers.size(), 1u);
  EXPECT_EQ(back.kickstart.additional_teachers[0].value_loss_coef, 2.0);
  EXPECT_EQ(back.lstm, "native");
  EXPECT_EQ(back.total_timesteps, 123456);
  // API-only fields are not trainer keys in YAML (the job's top-level seed, device and threads set them)
  EXPECT_FALSE(written["seed"].IsDefined());
  EXPECT_FALSE(written["device"].IsDefined());
  // absent keys keep the one default; an unknown key names the closest listed one
  TrainerConfig partial;
  engine::read_fields(YAML::Load("batch_size: 2048\nppo:\n  gamma: 0.9\n"), "trainer", nullptr, partial);
  EXPECT_EQ(partial.batch_size, 2048);
  EXPECT_EQ(partial.ppo.gamma, 0.9);
  EXPECT_EQ(partial.ppo.gae_lambda, PPOConfig{}.gae_lambda);
  const std::string err = config_error([] {
    TrainerConfig t;
    engine::read_fields(YAML::Load("ppo:\n  gama: 0.9\n"), "trainer", nullptr, t);
  });
  EXPECT_NE(err.find("trainer.ppo.gama: got an unknown key"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'gamma'"), std::string::npos) << err;
}

TEST(ConfigTables, ResumeSafeKeysComeFromTheRows) {
  const std::vector<std::string> keys = config::resume_safe_keys();
  auto has = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
  for (const char* k : {"run", "threads", "max_seconds", "trainer.total_timesteps", "trainer.checkpoint_interval",
                        "trainer.simulation.num_episodes", "trainer.lstm", "trainer.resume_from"})
    EXPECT_TRUE(has(k)) << k;
  for (const char* k : {"seed", "env", "agent", "trainer.batch_size", "trainer.ppo.gamma", "trainer.optimizer.type",
                        "trainer.kickstart.teacher_uri", "trainer.seed"})
    EXPECT_FALSE(has(k)) << k;
}

TEST(ConfigTables, ASavedConfigOfAnOlderSpellingComparesBySettings) {
  const config::TrainJob job = config::load_train_job("", {"trainer.total_timesteps=5000"});
  // as an older version saved it: null for "off", no lstm key, numbers spelt differently
  YAML::Node saved = YAML::Clone(job.resolved);
  saved["trainer"]["target_kl"] = YAML::Node(YAML::NodeType::Null);
  saved["trainer"].remove("lstm");
  saved["trainer"]["optimizer"]["learning_rate"] = "2.0e-3";
  EXPECT_TRUE(train::changed_training_keys(config::normalized_saved_config(saved), job.resolved,
                                           config::resume_safe_keys()).empty());
  // a real change still shows, by its dotted key
  saved["trainer"]["ppo"]["gamma"] = 0.5;
  const std::vector<std::string> changed =
      train::changed_training_keys(config::normalized_saved_config(saved), job.resolved, config::resume_safe_keys());
  ASSERT_EQ(changed.size(), 1u) << changed[0] << "\n" << changed.back();
  EXPECT_NE(changed[0].find("trainer.ppo.gamma: 0.5 -> 0.977"), std::string::npos) << changed[0];
}

TEST(ConfigTables, TheLstmOptionIsOneFieldAndOneRow) {
  EXPECT_EQ(config::load_train_job("", {"trainer.lstm=native"}).trainer.lstm, "native");
  EXPECT_EQ(config::load_train_job("", {}).resolved["trainer"]["lstm"].as<std::string>(), "auto");
  const std::string err = config_error([] { config::load_train_job("", {"trainer.lstm=fast"}); });
  EXPECT_NE(err.find("command line: trainer.lstm: got 'fast', expected 'auto', 'cudnn' or 'native'"),
            std::string::npos) << err;
  EXPECT_EQ(train::lstm_backend("native"), nn::LstmBackend::kNative);
  EXPECT_EQ(train::lstm_backend("auto"), nn::LstmBackend::kAuto);
}
