#include "train/eval/evaluate.h"

#include <memory>

#include "train/checkpoint/policy_env_match.h"
#include "train/eval/replay.h"
#include "engine/batched_env.h"
#include "kernels/memory.h"
#include "nn/policy.h"

namespace metta::eval {

namespace {
std::unique_ptr<nn::Policy<float>> make_policy(const kernels::Context& ctx, const engine::BatchedEnv& env,
                                               const std::string& agent) {
  const checkpoint::EnvInterface iface = checkpoint::EnvInterface::of(env.compiled());
  return std::make_unique<nn::Policy<float>>(ctx, checkpoint::policy_arch_for(agent, iface),
                                             nn::ActionSpace(env.action_max_args()), iface.feature_norms, 1,
                                             env.total_agents(), 1);
}

EvalResult play(const kernels::Context& ctx, engine::BatchedEnv& env, nn::Policy<float>& policy, const EvalOptions& o) {
  const std::int64_t agents = env.total_agents();
  kernels::DeviceBuffer<float> h(ctx.device, agents * policy.state_size()), c(ctx.device, agents * policy.state_size());
  h.fill_bytes_with(ctx, 0);
  c.fill_bytes_with(ctx, 0);
  std::unique_ptr<ReplayWriter> replay;
  if (!o.replay_path.empty()) replay = std::make_unique<ReplayWriter>(env, 0);
  EvalResult r;
  double reward_sum = 0;
  std::uint32_t counter = 0;
  const std::int64_t step_limit = 1'000'000;
  for (std::int64_t t = 0; t < step_limit && r.episodes < static_cast<double>(o.episodes); ++t) {
    policy.forward(env.observations(), agents, 1, nullptr, h.data(), c.data(), h.data(), c.data(), o.seed, counter++,
                   env.actions());
    std::vector<std::int32_t> actions;
    if (replay) {
      actions.resize(static_cast<std::size_t>(2 * agents));
      kernels::download_bytes(ctx, actions.data(), env.actions(), actions.size() * sizeof(std::int32_t));
    }
    env.step();
    ++r.env_steps;
    if (replay) {
      replay->log_step(env, actions);
      if (env.terminals_host()[0] || env.truncations_host()[0]) {  // env 0's first episode is over
        replay->write(o.replay_path);
        replay.reset();
      }
    }
    if (t % 64 == 63) {
      const engine::CompletedEpisodes done = env.completed_episodes();
      if (done.episodes > 0) {
        reward_sum += done.mean_reward * done.episodes;
        for (auto& [k, v] : done.agent) r.agent_stats[k] += v * done.episodes;
        r.episodes += done.episodes;
      }
    }
  }
  if (replay) replay->write(o.replay_path);  // the step limit came first: write what was played
  if (r.episodes > 0) {
    r.mean_episode_reward = reward_sum / r.episodes;
    for (auto& [k, v] : r.agent_stats) v /= r.episodes;
  }
  return r;
}
}  // namespace

EvalResult evaluate_policy(const kernels::Context& ctx, const engine::EnvConfig& env_config, const std::string& agent,
                           const float* weights, kernels::Device weights_device, const EvalOptions& o) {
  METTA_CHECK(o.episodes >= 1 && o.num_envs >= 1, "evaluate: episodes " << o.episodes << ", num_envs " << o.num_envs);
  engine::BatchedEnvOptions tracked;
  tracked.track_stat_updates = true;  // episode stats with their derived entries
  engine::BatchedEnv env(env_config, o.num_envs, o.seed, ctx, tracked);
  auto policy = make_policy(ctx, env, agent);
  kernels::copy_bytes(ctx, ctx.device, policy->params(), weights_device, weights,
                      static_cast<std::size_t>(policy->num_params()) * sizeof(float));
  return play(ctx, env, *policy, o);
}

EvalResult evaluate_checkpoint(const kernels::Context& ctx, const engine::EnvConfig& env_config, const std::string& path,
                               const EvalOptions& o) {
  return evaluate_checkpoint(ctx, env_config, checkpoint::PolicyStore::open(path), o);
}

EvalResult evaluate_checkpoint(const kernels::Context& ctx, const engine::EnvConfig& env_config,
                               const checkpoint::PolicyFile& policy_file, const EvalOptions& o) {
  METTA_CHECK(o.episodes >= 1 && o.num_envs >= 1, "evaluate: episodes " << o.episodes << ", num_envs " << o.num_envs);
  engine::BatchedEnvOptions tracked;
  tracked.track_stat_updates = true;  // episode stats with their derived entries
  engine::BatchedEnv env(env_config, o.num_envs, o.seed, ctx, tracked);
  // actions, window and features checked against this env first (features matched by name), so a
  // mismatch is named before the policy is built for the env
  const checkpoint::EnvInterface iface = checkpoint::EnvInterface::of(env.compiled());
  checkpoint::check_policy_matches_env(policy_file, iface, checkpoint::FeatureOrder::kRemapByName);
  auto policy = make_policy(ctx, env, policy_file.metadata.agent);
  const std::vector<float> w =
      checkpoint::weights_for_env(policy_file, policy->table(), iface, checkpoint::FeatureOrder::kRemapByName);
  kernels::upload_bytes(ctx, policy->params(), w.data(), w.size() * sizeof(float));
  return play(ctx, env, *policy, o);
}

}  // namespace metta::eval
