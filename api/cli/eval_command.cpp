// `metta eval --checkpoint FILE`: plays N episodes with a saved policy (sampled actions, LSTM state
// carried, fresh maps) and prints a JSON summary: episodes, mean episode reward, per-agent statistics.
// --replay FILE also writes the first env's first episode as a MettaScope replay (.json.z).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/checkpoint/policy_store.h"
#include "api/cli/commands.h"
#include "api/eval/evaluate.h"
#include "engine/batched_env.h"
#include "engine/config_yaml.h"

namespace metta::cli {
namespace {

struct EvalCommandOptions {
  std::string checkpoint, env = "hearts_room", device = "cpu", replay;
  std::int64_t episodes = 32, num_envs = 16;
  std::uint64_t seed = 1000;
};

int run_eval(const EvalCommandOptions& o) {
  const checkpoint::PolicyFile policy_file = checkpoint::PolicyStore::open(o.checkpoint);
  const checkpoint::PolicyMetadata& meta = policy_file.metadata;
  const kernels::Context ctx = o.device == "cuda" ? kernels::Context::cuda() : kernels::Context::cpu();
  const engine::EnvConfig env = engine::env_config_from(o.env);
  eval::EvalOptions opt;
  opt.episodes = o.episodes;
  opt.num_envs = o.num_envs;
  opt.seed = o.seed;
  opt.replay_path = o.replay;
  const eval::EvalResult r = eval::evaluate_checkpoint(ctx, env, policy_file, opt);
  nlohmann::json j;
  j["checkpoint"] = o.checkpoint;
  j["agent"] = meta.agent;
  j["agent_step"] = meta.agent_step;
  j["epoch"] = meta.epoch;
  j["env"] = o.env;
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
  cmd->add_option("--checkpoint", o->checkpoint, "A model_NNNN.safetensors file")->required();
  cmd->add_option("--env", o->env, "Embedded env (hearts_room, simple) or an env YAML path")->capture_default_str();
  cmd->add_option("--episodes", o->episodes, "Episodes to play (at least)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  cmd->add_option("--num-envs", o->num_envs, "Environments played at once")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--seed", o->seed, "Seed of the evaluation maps and action sampling")
      ->capture_default_str()
      ->check(unsigned_integer());
  cmd->add_option("--replay", o->replay, "Write env 0's first episode as a MettaScope replay (FILE.json.z)");
  return [o] { return run_eval(*o); };
}

}  // namespace metta::cli
