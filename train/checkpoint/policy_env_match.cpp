#include "train/checkpoint/policy_env_match.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "engine/config_yaml.h"

namespace metta::checkpoint {

namespace {
std::string list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

EnvInterface EnvInterface::of(const engine::CompiledEnv& env) {
  EnvInterface i;
  i.action_names = env.action_names;
  i.action_max_args.assign(env.params.action_max_arg, env.params.action_max_arg + env.params.num_actions);
  for (auto& [name, norm] : engine::feature_spec(env.item_names)) {
    i.feature_names.push_back(name);
    i.feature_norms.push_back(norm);
  }
  i.obs_width = env.params.obs_width;
  i.obs_height = env.params.obs_height;
  i.tokens = env.params.num_tokens;
  return i;
}

EnvInterface EnvInterface::of(const engine::EnvConfig& env) { return of(engine::compile_env(env)); }

void record_env_interface(const EnvInterface& env, PolicyMetadata& meta) {
  meta.action_names = env.action_names;
  meta.action_max_args = env.action_max_args;
  meta.obs_width = env.obs_width;
  meta.obs_height = env.obs_height;
  meta.feature_mapping.clear();
  for (std::size_t f = 0; f < env.feature_names.size(); ++f) meta.feature_mapping[env.feature_names[f]] = static_cast<int>(f);
}

nn::PolicyArch policy_arch_for(const std::string& agent_spec, const EnvInterface& env) {
  nn::PolicyArch a = nn::PolicyArch::by_name(agent_spec, static_cast<int>(env.feature_names.size()));
  a.obs_h = env.obs_height;
  a.obs_w = env.obs_width;
  a.tokens = env.tokens;
  int h = a.obs_h, w = a.obs_w;
  for (const nn::ConvSpec& s : a.convs) {
    h = (h + 2 * s.pad - s.k) / s.stride + 1;
    w = (w + 2 * s.pad - s.k) / s.stride + 1;
    if (h < 1 || w < 1)
      engine::config_fail("agent", "'" + agent_spec + "'",
                          "an agent whose convolutions fit the env's " + std::to_string(env.obs_width) + "x" +
                              std::to_string(env.obs_height) + " observation window (this one needs a larger window)");
  }
  return a;
}

EnvMatch check_policy_matches_env(const PolicyFile& f, const EnvInterface& env, FeatureOrder order) {
  const PolicyMetadata& m = f.metadata;
  const std::string who = f.path + ": the policy ";
  const auto& pa = m.action_names;
  const auto& ea = env.action_names;
  if (pa.size() != ea.size())
    throw CheckpointError(who + "was trained with " + std::to_string(pa.size()) + " actions (" + list(pa) +
                          "), this env has " + std::to_string(ea.size()) + " (" + list(ea) + ")");
  for (std::size_t a = 0; a < pa.size(); ++a)
    if (pa[a] != ea[a])
      throw CheckpointError(who + "has action " + std::to_string(a) + " '" + pa[a] + "', this env '" + ea[a] +
                            "' (another action order: policy " + list(pa) + "; env " + list(ea) + ")");
  if (!m.action_max_args.empty()) {
    if (m.action_max_args.size() != env.action_max_args.size())
      throw CheckpointError(who + "records " + std::to_string(m.action_max_args.size()) + " action arguments, expected " +
                            std::to_string(env.action_max_args.size()));
    for (std::size_t a = 0; a < pa.size(); ++a)
      if (m.action_max_args[a] != env.action_max_args[a])
        throw CheckpointError(who + "takes arguments 0.." + std::to_string(m.action_max_args[a]) + " for action '" +
                              pa[a] + "', this env 0.." + std::to_string(env.action_max_args[a]));
  }
  if (m.obs_width > 0 && (m.obs_width != env.obs_width || m.obs_height != env.obs_height))
    throw CheckpointError(who + "saw a " + std::to_string(m.obs_width) + "x" + std::to_string(m.obs_height) +
                          " observation window, this env gives " + std::to_string(env.obs_width) + "x" +
                          std::to_string(env.obs_height));
  // features by name
  std::vector<std::string> policy_features(m.feature_mapping.size());
  for (auto& [name, id] : m.feature_mapping) {
    if (id < 0 || id >= static_cast<int>(policy_features.size()) || !policy_features[static_cast<std::size_t>(id)].empty())
      throw CheckpointError(f.path + ": its feature mapping is not a numbering 0..N-1 of the features");
    policy_features[static_cast<std::size_t>(id)] = name;
  }
  const std::set<std::string> have(policy_features.begin(), policy_features.end());
  const std::set<std::string> want(env.feature_names.begin(), env.feature_names.end());
  for (const auto& n : env.feature_names)
    if (!have.count(n))
      throw CheckpointError(who + "never saw the feature '" + n + "' this env observes (other inventory items? policy: " +
                            list(policy_features) + "; env: " + list(env.feature_names) + ")");
  for (const auto& n : policy_features)
    if (!want.count(n))
      throw CheckpointError(who + "observes the feature '" + n + "', which this env lacks (other inventory items? "
                            "policy: " + list(policy_features) + "; env: " + list(env.feature_names) + ")");
  EnvMatch match;
  match.features_remapped = policy_features != env.feature_names;
  if (match.features_remapped && order == FeatureOrder::kSame)
    throw CheckpointError(who + "numbers its features differently from this env (policy: " + list(policy_features) +
                          "; env: " + list(env.feature_names) + ")");
  return match;
}

std::vector<float> weights_for_env(const PolicyFile& f, const nn::ParamTable& table, const EnvInterface& env,
                                   FeatureOrder order, EnvMatch* match_out) {
  const EnvMatch match = check_policy_matches_env(f, env, order);
  if (match_out) *match_out = match;
  std::vector<float> w = PolicyStore::weights_of(f, table);
  if (!match.features_remapped) return w;
  // cnn1.weight [out, features, k, k]: env channel e takes the policy's channel of the same feature name
  const nn::ParamInfo& p = table.at("cnn1.weight");
  const std::int64_t out = p.shape[0], feats = p.shape[1], kk = p.shape[2] * p.shape[3];
  std::vector<float> original(w.begin() + p.offset, w.begin() + p.offset + p.count);
  for (std::int64_t e = 0; e < feats; ++e) {
    const std::int64_t src = f.metadata.feature_mapping.at(env.feature_names[static_cast<std::size_t>(e)]);
    for (std::int64_t o = 0; o < out; ++o)
      std::memcpy(w.data() + p.offset + (o * feats + e) * kk, original.data() + (o * feats + src) * kk,
                  static_cast<std::size_t>(kk) * sizeof(float));
  }
  return w;
}

}  // namespace metta::checkpoint
