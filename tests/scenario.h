// Test helpers: build an env config around an ASCII map (on top of the embedded simple game), step one
// env with scripted actions on the CPU, and look up objects, inventories and rewards by name.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/batched_env.h"
#include "engine/config_yaml.h"

namespace metta::test {

// Action ids of the simple game (all actions enabled).
enum SimpleAction { kNoop = 0, kMove = 1, kRotate = 2, kPut = 3, kGet = 4, kAttack = 5, kAttackNearest = 6,
                    kSwap = 7, kChangeColor = 8 };

inline engine::EnvConfig ascii_config(const std::vector<std::string>& rows,
                                      std::map<char, std::string> legend = {}) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.map_builder = engine::MapBuilderConfig{};
  cfg.map_builder.kind = engine::MapBuilderConfig::Kind::kAscii;
  cfg.map_builder.rows = rows;
  cfg.map_builder.legend = std::move(legend);
  int agents = 0;
  auto full = engine::default_ascii_legend();
  for (auto& [k, v] : cfg.map_builder.legend) full[k] = v;
  for (auto& r : rows)
    for (char ch : r)
      if (full.count(ch) && full[ch].rfind("agent.", 0) == 0) ++agents;
  cfg.num_agents = agents;
  return cfg;
}

inline engine::ObjectConfig* find_object(engine::EnvConfig& cfg, const std::string& name) {
  for (auto& o : cfg.objects)
    if (o.name == name) return &o;
  return nullptr;
}

inline int item_id(const engine::BatchedEnv& env, const std::string& name) {
  const auto& items = env.inventory_item_names();
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items[i] == name) return static_cast<int>(i);
  ADD_FAILURE() << "no item " << name;
  return -1;
}

class Scenario {
 public:
  explicit Scenario(const engine::EnvConfig& cfg, std::uint64_t seed = 1, int envs = 1, bool track_stat_updates = false)
      : env(cfg, envs, seed, kernels::Context::cpu(1), options(track_stat_updates)) {}
  static engine::BatchedEnvOptions options(bool track_stat_updates) {
    engine::BatchedEnvOptions o;
    o.track_stat_updates = track_stat_updates;
    return o;
  }

  // One (type, arg) per agent of every env.
  void step(const std::vector<std::pair<int, int>>& acts) {
    std::vector<std::int32_t> a;
    for (std::int64_t e = 0; e < env.num_envs(); ++e)
      for (auto& [t, g] : acts) {
        a.push_back(t);
        a.push_back(g);
      }
    env.set_actions_host(a);
    env.step();
  }
  void noop(int steps = 1) {
    for (int i = 0; i < steps; ++i) step(std::vector<std::pair<int, int>>(env.num_agents(), {kNoop, 0}));
  }
  engine::GridObject agent(int a) const {
    for (auto& o : env.grid_objects(0))
      if (o.agent_id == a) return o;
    ADD_FAILURE() << "no agent " << a;
    return {};
  }
  // The object at (r, c) on `layer`; type_name "" when none.
  engine::GridObject at(int r, int c, int layer = engine::kObjectLayer) const {
    for (auto& o : env.grid_objects(0))
      if (o.r == r && o.c == c && o.layer == layer) return o;
    return {};
  }
  int inv(int a, const std::string& item) const { return agent(a).feature("inv:" + item); }
  int conv_inv(int r, int c, const std::string& item) const { return at(r, c).feature("inv:" + item); }
  void give(int a, const std::string& item, int n) { env.debug_set_agent_inventory(0, a, item_id(env, item), n); }
  float reward(int a) const { return env.rewards_host()[static_cast<std::size_t>(a)]; }
  bool success(int a) const { return env.action_success_host()[static_cast<std::size_t>(a)] != 0; }
  float agent_stat(int a, const std::string& key) const {
    const auto st = env.episode_stats(0);
    auto it = st.agent[static_cast<std::size_t>(a)].find(key);
    return it == st.agent[static_cast<std::size_t>(a)].end() ? 0.0f : it->second;
  }
  float converter_stat(int r, int c, const std::string& key) const {
    const auto st = env.episode_stats(0);
    for (auto& m : st.converter)
      if (m.at("location.r") == r && m.at("location.c") == c) {
        auto it = m.find(key);
        return it == m.end() ? 0.0f : it->second;
      }
    ADD_FAILURE() << "no converter at " << r << "," << c;
    return 0.0f;
  }

  engine::BatchedEnv env;
};

}  // namespace metta::test
