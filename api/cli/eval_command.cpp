// `metta eval --checkpoint FILE`: plays N episodes with a saved policy (sampled actions, LSTM state
// carried, fresh maps) and prints a JSON summary: episodes, mean episode reward, per-agent statistics.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/checkpoint/policy_store.h"
#include "api/cli/commands.h"
#include "engine/batched_env.h"
#include "engine/config_yaml.h"

namespace metta::cli {
namespace {

struct EvalOptions {
  std::string checkpoint, env = "hearts_room", device = "cpu";
  std::int64_t episodes = 32, num_envs = 16;
  std::uint64_t seed = 1000;
};

int run_eval(const EvalOptions& o) {
  const checkpoint::PolicyMetadata meta = checkpoint::PolicyStore::read_metadata(o.checkpoint);
  const kernels::Context ctx = o.device == "cuda" ? kernels::Context::cuda() : kernels::Context::cpu();
  engine::BatchedEnv env(engine::env_config_from(o.env), o.num_envs, o.seed, ctx);
  std::vector<float> norms;
  for (auto& [name, n] : env.feature_normalizations()) norms.push_back(n);
  const std::int64_t agents = env.total_agents();
  nn::Policy<float> policy(ctx, nn::PolicyArch::by_name(meta.agent, static_cast<int>(norms.size())),
                           nn::ActionSpace(env.action_max_args()), norms, 1, agents, 1);
  checkpoint::PolicyStore(".").load(o.checkpoint, policy);
  kernels::DeviceBuffer<float> h(ctx.device, agents * policy.state_size()), c(ctx.device, agents * policy.state_size());
  h.fill_bytes_with(ctx, 0);
  c.fill_bytes_with(ctx, 0);
  double episodes = 0, reward_sum = 0;
  std::map<std::string, double> agent_stats;
  std::uint32_t counter = 0;
  const std::int64_t max_steps = 1'000'000;
  for (std::int64_t t = 0; t < max_steps && episodes < static_cast<double>(o.episodes); ++t) {
    policy.forward(env.observations(), agents, 1, nullptr, h.data(), c.data(), h.data(), c.data(), o.seed, counter++,
                   env.actions());
    env.step();
    if (t % 64 == 63) {
      const engine::CompletedEpisodes done = env.completed_episodes();
      if (done.episodes > 0) {
        reward_sum += done.mean_reward * done.episodes;
        for (auto& [k, v] : done.agent) agent_stats[k] += v * done.episodes;
        episodes += done.episodes;
      }
    }
  }
  nlohmann::json j;
  j["checkpoint"] = o.checkpoint;
  j["agent"] = meta.agent;
  j["agent_step"] = meta.agent_step;
  j["epoch"] = meta.epoch;
  j["env"] = o.env;
  j["episodes"] = episodes;
  j["mean_episode_reward"] = episodes > 0 ? reward_sum / episodes : 0.0;
  nlohmann::json stats = nlohmann::json::object();
  for (auto& [k, v] : agent_stats) stats[k] = episodes > 0 ? v / episodes : 0.0;
  j["agent_stats_per_episode"] = stats;
  std::cout << j.dump(1) << "\n";
  return 0;
}

}  // namespace

std::function<int()> add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Play episodes with a saved policy and print a JSON summary");
  cmd->add_option("--checkpoint", o->checkpoint, "A model_NNNN.safetensors file")->required();
  cmd->add_option("--env", o->env, "Embedded env (hearts_room, simple) or an env YAML path")->capture_default_str();
  cmd->add_option("--episodes", o->episodes, "Episodes to play (at least)")->capture_default_str();
  cmd->add_option("--num-envs", o->num_envs, "Environments played at once")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the evaluation maps and action sampling")->capture_default_str();
  return [o] { return run_eval(*o); };
}

}  // namespace metta::cli
