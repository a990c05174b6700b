// A saved policy against the env it is about to play or train on. A policy is only meaningful with the
// env interface it was trained with: the same actions in the same order with the same arguments, the
// same observation window, and the same features. Model files record that interface (action names and
// arguments, observation window, feature name -> id); loading compares it with the env and refuses the
// first difference, naming it. Features are matched by name, as the reference does: an env that numbers
// the same features differently gets the policy's first convolution with its input channels reordered.
#pragma once

#include <string>
#include <vector>

#include "train/checkpoint/policy_store.h"
#include "engine/config.h"
#include "nn/policy.h"

namespace metta::checkpoint {

// What a policy sees of an env.
struct EnvInterface {
  std::vector<std::string> action_names;  // by action id
  std::vector<int> action_max_args;       // by action id
  std::vector<std::string> feature_names; // by feature id
  std::vector<float> feature_norms;       // by feature id
  int obs_width = 0, obs_height = 0, tokens = 0;
  static EnvInterface of(const engine::CompiledEnv& env);
  static EnvInterface of(const engine::EnvConfig& env);
};

// Records `env` in a model's metadata: action names and arguments, observation window, feature mapping.
void record_env_interface(const EnvInterface& env, PolicyMetadata& meta);

// The policy architecture of an agent spec for this env: its feature count, observation window and
// token count. Throws ConfigError when the preset's convolutions do not fit the window.
nn::PolicyArch policy_arch_for(const std::string& agent_spec, const EnvInterface& env);

enum class FeatureOrder {
  kRemapByName,  // an env that numbers the same features differently is accepted (eval, initial policy, teachers)
  kSame          // the env must number them as the policy does (resuming a run)
};

struct EnvMatch {
  bool features_remapped = false;  // the env numbers the policy's features differently
};

// Throws CheckpointError naming the file and the first difference between the policy's recorded
// interface and `env`: action count, names and order, arguments, observation window, feature names.
// Files of format version 1 record no arguments or window: those two are not compared.
EnvMatch check_policy_matches_env(const PolicyFile& policy_file, const EnvInterface& env, FeatureOrder order);

// The file's weights for `table` (names and shapes checked) after check_policy_matches_env, with the
// first convolution's input channels in the env's feature order.
std::vector<float> weights_for_env(const PolicyFile& policy_file, const nn::ParamTable& table, const EnvInterface& env,
                                   FeatureOrder order, EnvMatch* match = nullptr);

}  // namespace metta::checkpoint
