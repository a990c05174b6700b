#include "engine/stats_keys.h"

#include "engine/stat_table.h"
#include "kernels/common.h"

namespace metta::engine {
namespace {
std::string group_name(const CompiledEnv& env, int g) {
  const std::string& n = env.group_names[static_cast<std::size_t>(g)];
  return n.empty() ? "group" + std::to_string(g) : n;
}
std::string type_name(const CompiledEnv& env, int t) {
  const std::string& n = env.type_names[static_cast<std::size_t>(t)];
  return n.empty() ? "type" + std::to_string(t) : n;
}

// `key` with {name} replaced by `value` (each occurs at most once).
std::string with_name(std::string key, const std::string& name, const std::string& value) {
  const std::size_t at = key.find("{" + name + "}");
  return at == std::string::npos ? key : key.replace(at, name.size() + 2, value);
}

bool is_attack(const EnvParams& p, int action) {
  const auto k = static_cast<ActionKind>(p.action_kind[action]);
  return k == ActionKind::kAttack || k == ActionKind::kAttackNearest;
}

// The slot names of one block, in slot order ("" for a slot no rule writes).
std::vector<std::string> block_names(const StatBlock& b, const CompiledEnv& env) {
  const EnvParams& p = env.params;
  std::vector<std::string> out;
  const auto action_name = [&](int a) -> std::string {
    return b.attack_actions_only && !is_attack(p, a) ? "" : env.action_names[static_cast<std::size_t>(a)];
  };
  const auto named = [](const std::string& action, std::string key) { return action.empty() ? std::string() : key; };
  switch (b.span) {
    case StatSpan::kOne: out.push_back(b.key); break;
    case StatSpan::kPerAction:
      for (int a = 0; a < p.num_actions; ++a) out.push_back(named(action_name(a), with_name(b.key, "action", action_name(a))));
      break;
    case StatSpan::kPerItem:
      for (int i = 0; i < p.num_items; ++i) out.push_back(with_name(b.key, "item", env.item_names[i]));
      break;
    case StatSpan::kPerGroup:
      for (int g = 0; g < p.num_groups; ++g) out.push_back(with_name(b.key, "group", group_name(env, g)));
      break;
    case StatSpan::kPerItemGroup:
      for (int i = 0; i < p.num_items; ++i)
        for (int g = 0; g < p.num_groups; ++g)
          out.push_back(with_name(with_name(b.key, "item", env.item_names[i]), "group", group_name(env, g)));
      break;
    case StatSpan::kPerType:
      for (int t = 0; t < p.num_types; ++t) out.push_back(with_name(b.key, "type", type_name(env, t)));
      break;
    case StatSpan::kPerGroupGroup:
      for (int g = 0; g < p.num_groups; ++g)
        for (int h = 0; h < p.num_groups; ++h)
          out.push_back(with_name(with_name(b.key, "group", group_name(env, g)), "group2", group_name(env, h)));
      break;
    case StatSpan::kPerActionGroup:
      for (int a = 0; a < p.num_actions; ++a)
        for (int g = 0; g < p.num_groups; ++g)
          out.push_back(named(action_name(a), with_name(with_name(b.key, "action", action_name(a)), "group", group_name(env, g))));
      break;
    case StatSpan::kPerActionGroupGroup:
      for (int a = 0; a < p.num_actions; ++a)
        for (int g = 0; g < p.num_groups; ++g)
          for (int h = 0; h < p.num_groups; ++h)
            out.push_back(named(action_name(a), with_name(with_name(with_name(b.key, "action", action_name(a)), "group",
                                                                    group_name(env, g)),
                                                          "group2", group_name(env, h))));
      break;
    case StatSpan::kPerActionInvalidArg:
      for (int a = 0; a < p.num_actions; ++a)
        for (int j = 0; j < kInvalidArgKeys; ++j)
          out.push_back(with_name(with_name(b.key, "action_id", std::to_string(a)), "arg",
                                  std::to_string(p.action_max_arg[a] + 1 + j)));
      break;
  }
  return out;
}

template <std::size_t N>
std::vector<std::string> row_names(const StatBlock (&blocks)[N], const CompiledEnv& env, std::int32_t count) {
  std::vector<std::string> n(static_cast<std::size_t>(count));
  std::vector<bool> laid(static_cast<std::size_t>(count), false);
  for (const StatBlock& b : blocks) {
    const std::vector<std::string> names = block_names(b, env);
    const std::int32_t at = env.params.stats.*b.offset;
    for (std::size_t j = 0; j < names.size(); ++j) {
      n[static_cast<std::size_t>(at) + j] = names[j];
      laid[static_cast<std::size_t>(at) + j] = true;
    }
  }
  for (bool l : laid) METTA_CHECK(l, "stat layout has a slot outside every block");
  return n;
}
}  // namespace

std::vector<std::string> agent_stat_names(const CompiledEnv& env) {
  return row_names(kAgentStatBlocks, env, env.params.stats.agent_count);
}

std::vector<std::string> converter_stat_names(const CompiledEnv& env) {
  return row_names(kConverterStatBlocks, env, env.params.stats.converter_count);
}

std::vector<std::string> obs_stat_names() { return {"tokens_written", "tokens_dropped", "tokens_free_space"}; }

}  // namespace metta::engine
