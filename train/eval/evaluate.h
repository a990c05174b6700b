// Evaluation of a policy (trainer.md §17): plays episodes of an env with sampled actions (LSTM state
// carried, fresh maps from the seed) and averages the completed episodes; optionally records one env's
// first episode as a MettaScope replay. Shared by `metta eval` and the in-training evaluation.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "train/checkpoint/policy_store.h"
#include "engine/config.h"
#include "kernels/device.h"

namespace metta::eval {

struct EvalOptions {
  std::int64_t episodes = 8;    // at least this many completed episodes
  std::int64_t num_envs = 16;   // played at once
  std::uint64_t seed = 1000;    // maps and action sampling
  std::string replay_path;      // "" = no replay; else env 0's first episode is written there (.json.z)
};

struct EvalResult {
  double episodes = 0;
  double mean_episode_reward = 0;             // mean over episodes of the per-agent mean reward
  std::map<std::string, double> agent_stats;  // per episode, mean over agents
  std::int64_t env_steps = 0;
};

// `weights` (num_params floats of preset `agent`, ParamTable order) live on `weights_device`; the
// evaluation runs on `ctx`.
EvalResult evaluate_policy(const kernels::Context& ctx, const engine::EnvConfig& env, const std::string& agent,
                           const float* weights, kernels::Device weights_device, const EvalOptions& options);
// The same for a model file (its agent preset from the metadata; shapes checked against this env).
EvalResult evaluate_checkpoint(const kernels::Context& ctx, const engine::EnvConfig& env, const std::string& path,
                               const EvalOptions& options);
EvalResult evaluate_checkpoint(const kernels::Context& ctx, const engine::EnvConfig& env,
                               const checkpoint::PolicyFile& policy_file, const EvalOptions& options);

}  // namespace metta::eval
