#include "engine/stats_keys.h"

#include "kernels/common.h"

namespace metta::engine {
namespace {
std::string group_name(const CompiledEnv& env, int g) {
  const std::string& n = env.group_names[static_cast<std::size_t>(g)];
  return n.empty() ? "group" + std::to_string(g) : n;
}
}  // namespace

std::vector<std::string> agent_stat_names(const CompiledEnv& env) {
  const EnvParams& p = env.params;
  const StatLayout& s = p.stats;
  std::vector<std::string> n(static_cast<std::size_t>(s.agent_count));
  for (int a = 0; a < p.num_actions; ++a) {
    n[s.action_success + a] = "action." + env.action_names[a] + ".success";
    n[s.action_failed + a] = "action." + env.action_names[a] + ".failed";
  }
  n[s.failure_penalty] = "action.failure_penalty";
  n[s.invalid_type] = "action.invalid_type";
  n[s.invalid_arg] = "action.invalid_arg";
  n[s.frozen_ticks] = "status.frozen.ticks";
  for (int i = 0; i < p.num_items; ++i) {
    const std::string& item = env.item_names[i];
    n[s.item_gained + i] = item + ".gained";
    n[s.item_lost + i] = item + ".lost";
    n[s.item_get + i] = item + ".get";
    n[s.item_put + i] = item + ".put";
    for (int g = 0; g < p.num_groups; ++g) {
      n[s.stolen + i * p.num_groups + g] = item + ".stolen." + group_name(env, g);
      n[s.stolen_from + i * p.num_groups + g] = item + ".stolen_from." + group_name(env, g);
    }
  }
  for (int g = 0; g < p.num_groups; ++g) {
    n[s.attack_win + g] = "attack.win." + group_name(env, g);
    n[s.attack_loss + g] = "attack.loss." + group_name(env, g);
    n[s.attack_blocked + g] = "attack.blocked." + group_name(env, g);
    n[s.attack_frozen_target + g] = "attack.frozen_target." + group_name(env, g);
  }
  for (int t = 0; t < p.num_types; ++t)
    n[s.swap_type + t] = "action.swap." + (env.type_names[t].empty() ? "type" + std::to_string(t) : env.type_names[t]);
  for (auto& name : n) METTA_CHECK(!name.empty(), "stat layout has an unnamed slot");
  return n;
}

std::vector<std::string> converter_stat_names(const CompiledEnv& env) {
  const EnvParams& p = env.params;
  const StatLayout& s = p.stats;
  std::vector<std::string> n(static_cast<std::size_t>(s.converter_count));
  n[s.conversions_started] = "conversions.started";
  n[s.conversions_completed] = "conversions.completed";
  n[s.cooldown_started] = "cooldown.started";
  n[s.cooldown_completed] = "cooldown.completed";
  n[s.blocked_output_full] = "blocked.output_full";
  n[s.blocked_insufficient_input] = "blocked.insufficient_input";
  for (int i = 0; i < p.num_items; ++i) {
    const std::string& item = env.item_names[i];
    n[s.item_consumed + i] = item + ".consumed";
    n[s.item_produced + i] = item + ".produced";
    n[s.item_added + i] = item + ".added";
    n[s.item_removed + i] = item + ".removed";
  }
  for (auto& name : n) METTA_CHECK(!name.empty(), "stat layout has an unnamed slot");
  return n;
}

std::vector<std::string> obs_stat_names() { return {"tokens_written", "tokens_dropped", "tokens_free_space"}; }

}  // namespace metta::engine
