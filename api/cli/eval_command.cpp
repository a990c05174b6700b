// `metta eval --checkpoint URI`: plays N episodes with a saved policy (sampled actions, LSTM state
// carried, fresh maps) and prints a JSON summary: episodes, mean episode reward, per-agent statistics.
// The checkpoint is a model file, a checkpoint folder (its newest valid model) or a file:// URI, as
// trainer.initial_policy.uri takes; the env defaults to the one the policy was trained on (recorded in its
// metadata). --replay FILE also writes the first env's first episode as a MettaScope replay (.json.z).
// --suite FILE plays an evaluation suite instead (train/eval/suite.h) and prints each simulation, the
// category scores and the suite's score; --replay-dir DIR then writes one replay per simulation.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "train/checkpoint/policy_store.h"
#include "api/cli/commands.h"
#include "train/eval/evaluate.h"
#include "train/eval/suite.h"
#include "train/curriculum/curriculum_yaml.h"
#include "engine/batched_env.h"
#include "engine/config_yaml.h"

namespace metta::cli {
namespace {

struct EvalCommandOptions {
  std::string checkpoint, env, device = "cpu", replay;  // env "": the policy's training env
  std::string suite, replay_dir;
  std::int64_t episodes = 32, num_envs = 16;
  std::uint64_t seed = 1000;
};

// The env a policy was trained on, from its metadata ("" when the file does not record it).
std::string training_env_of(const checkpoint::PolicyMetadata& meta) {
  try {
    const nlohmann::json config = nlohmann::json::parse(meta.config_json);
    if (config.contains("curriculum") && config["curriculum"].is_string()) return config["curriculum"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

// The policy on every simulation of a suite.
int run_suite(const EvalCommandOptions& o, const std::string& path, const checkpoint::PolicyFile& policy_file) {
  const eval::EvalSuite suite = eval::load_eval_suite(o.suite);
  const kernels::Context ctx = o.device == "cuda" ? kernels::Context::cuda() : kernels::Context::cpu();
  if (!o.replay_dir.empty()) std::filesystem::create_directories(o.replay_dir);
  const auto play = [&](const engine::EnvConfig& env, const eval::EvalOptions& opt) {
    return eval::evaluate_checkpoint(ctx, env, policy_file, opt);  // the policy checked against each env
  };
  const std::vector<eval::SimulationResult> sims = eval::run_suite(suite, play, o.num_envs, o.replay_dir);
  double score = 0;
  nlohmann::json j;
  j["checkpoint"] = path;
  j["agent"] = policy_file.metadata.agent;
  j["suite"] = suite.name;
  j["scores"] = eval::suite_scores(sims, &score);
  j["score"] = score;
  for (const eval::SimulationResult& s : sims)
    j["simulations"].push_back({{"name", s.name}, {"episodes", s.episodes}, {"mean_episode_reward", s.mean_episode_reward},
                                {"agent_stats_per_episode", s.agent_stats}});
  std::cout << j.dump(1) << "\n";
  return 0;
}

int run_eval(const EvalCommandOptions& o) {
  const std::string path = checkpoint::PolicyStore::resolve_uri(o.checkpoint, "latest");
  const checkpoint::PolicyFile policy_file = checkpoint::PolicyStore::open(path);
  const checkpoint::PolicyMetadata& meta = policy_file.metadata;
  if (!o.suite.empty()) return run_suite(o, path, policy_file);
  std::string env_name = o.env;
  if (env_name.empty()) {
    env_name = training_env_of(meta);
    if (env_name.empty())
      throw metta::Error(path + ": the file does not record the env it was trained on; give one with --env");
  }
  engine::EnvConfig env;
  try {
    // a policy trained on a curriculum is evaluated on its first task unless --env names another
    env = train::curriculum::is_curriculum(env_name) ? train::curriculum::load_curriculum(env_name).tasks().front().config
                                                     : engine::env_config_from(env_name);
  } catch (const engine::ConfigError& e) {
    throw metta::Error(std::string(e.what()) + (o.env.empty() ? " (the env " + path + " was trained on; choose "
                                                                "another with --env)" : ""));
  }
  const kernels::Context ctx = o.device == "cuda" ? kernels::Context::cuda() : kernels::Context::cpu();
  eval::EvalOptions opt;
  opt.episodes = o.episodes;
  opt.num_envs = std::min(o.num_envs, o.episodes);  // more envs than episodes would play episodes nobody counts
  opt.seed = o.seed;
  opt.replay_path = o.replay;
  const eval::EvalResult r = eval::evaluate_checkpoint(ctx, env, policy_file, opt);
  nlohmann::json j;
  j["checkpoint"] = path;
  j["agent"] = meta.agent;
  j["agent_step"] = meta.agent_step;
  j["epoch"] = meta.epoch;
  j["env"] = env_name;
  j["num_envs"] = opt.num_envs;
  j["episodes"] = r.episodes;
  j["mean_episode_reward"] = r.mean_episode_reward;
  j["agent_stats_per_episode"] = r.agent_stats;
  if (!o.replay.empty()) j["replay"] = o.replay;
  std::cout << j.dump(1) << "\n";
  return 0;
}

}  // namespace

std::function<int()> add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCommandOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Play episodes with a saved policy and print a JSON summary");
  cmd->add_option("--checkpoint", o->checkpoint,
                  "A model_NNNN.safetensors file, a checkpoint folder (its newest valid model) or a file:// URI")
      ->required();
  cmd->add_option("--env", o->env,
                  "Embedded env (hearts_room, simple) or an env YAML path (default: the env the policy was trained on)");
  cmd->add_option("--episodes", o->episodes, "Episodes to play (at least)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  cmd->add_option("--num-envs", o->num_envs, "Environments played at once (at most --episodes)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--seed", o->seed, "Seed of the evaluation maps and action sampling")
      ->capture_default_str()
      ->check(unsigned_integer());
  cmd->add_option("--replay", o->replay, "Write env 0's first episode as a MettaScope replay (FILE.json.z)");
  CLI::Option* suite = cmd->add_option("--suite", o->suite, "Play an evaluation suite (a YAML list of simulations) instead of one env");
  cmd->add_option("--replay-dir", o->replay_dir, "With --suite: one replay per simulation in this folder")->needs(suite);
  suite->excludes(cmd->get_option("--env"))->excludes(cmd->get_option("--replay"))->excludes(cmd->get_option("--episodes"));
  return [o] { return run_eval(*o); };
}

}  // namespace metta::cli
