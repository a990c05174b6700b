// Observation tokens against a naive reference written straight from game-rules.md §6 (objects from
// grid_objects(), sorted by distance shell, row, +dc before -dc, agent layer first), on random play in
// the simple env; plus global tokens, overflow truncation and padding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "scenario.h"

using namespace metta;
using namespace metta::test;

namespace {

struct Submitted {
  int type = 0, arg = 0;
  float reward = 0;  // this step's reward before sharing
};

std::vector<std::uint8_t> naive_obs(const std::vector<engine::GridObject>& objs, int agent, int step, int max_steps,
                                    const Submitted& last, int capacity, int num_items,
                                    const std::vector<std::string>& items, int* dropped = nullptr) {
  std::vector<std::array<std::uint8_t, 3>> tokens;
  const std::uint8_t centre = 0x55;
  // round(step / max_steps * 255), halves up, in exact integers
  const long pct = max_steps > 0 ? (2l * step * 255 + max_steps) / (2l * max_steps) : 0;
  long rr = std::lround(static_cast<double>(last.reward) * 100.0);
  rr = std::clamp(rr, 0l, 255l);
  tokens.push_back({centre, 8, static_cast<std::uint8_t>(pct)});
  tokens.push_back({centre, 9, static_cast<std::uint8_t>(last.type)});
  tokens.push_back({centre, 10, static_cast<std::uint8_t>(last.arg)});
  tokens.push_back({centre, 11, static_cast<std::uint8_t>(rr)});
  const engine::GridObject* me = nullptr;
  for (auto& o : objs)
    if (o.agent_id == agent) me = &o;
  struct Key {
    int d, dr, side, layer;
    const engine::GridObject* o;
  };
  std::vector<Key> keys;
  for (auto& o : objs) {
    const int dr = o.r - me->r, dc = o.c - me->c;
    if (std::abs(dr) > 5 || std::abs(dc) > 5) continue;
    keys.push_back({std::abs(dr) + std::abs(dc), dr, dc >= 0 ? 0 : 1, o.layer, &o});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.d, a.dr, a.side, a.layer) < std::tie(b.d, b.dr, b.side, b.layer);
  });
  for (auto& k : keys) {
    const engine::GridObject& o = *k.o;
    const std::uint8_t loc = static_cast<std::uint8_t>(((o.r - me->r + 5) << 4) | (o.c - me->c + 5));
    auto put = [&](int f, int v) { tokens.push_back({loc, static_cast<std::uint8_t>(f), static_cast<std::uint8_t>(v)}); };
    put(0, o.type_id);
    bool has_inv = false;
    if (o.type_name == "agent") {
      put(1, o.feature("agent:group"));
      put(3, o.feature("agent:frozen"));
      put(4, o.feature("agent:orientation"));
      put(5, o.feature("agent:color"));
      has_inv = true;
    } else if (o.type_name == "wall" || o.type_name == "block") {
      if (o.type_name == "block") put(7, 1);
    } else {
      put(5, o.feature("agent:color"));
      put(6, o.feature("converting"));
      has_inv = true;
    }
    if (has_inv)
      for (int i = 0; i < num_items; ++i)
        if (int v = o.feature("inv:" + items[i])) put(12 + i, v);
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(capacity) * 3, 0xFF);
  for (int i = 0; i < std::min<int>(capacity, static_cast<int>(tokens.size())); ++i)
    for (int b = 0; b < 3; ++b) out[i * 3 + b] = tokens[i][b];
  if (dropped) *dropped = std::max(0, static_cast<int>(tokens.size()) - capacity);
  return out;
}

void compare_all_agents(const engine::BatchedEnv& env, const std::vector<Submitted>& last, const std::string& when) {
  const auto obs = env.observations_host();
  const int T = env.num_tokens(), N = env.num_agents();
  for (std::int64_t e = 0; e < env.num_envs(); ++e) {
    const auto objs = env.grid_objects(e);
    const int step = env.current_step(e), max_steps = env.episode_max_steps(e);
    for (int a = 0; a < N; ++a) {
      const auto ref = naive_obs(objs, a, step, max_steps, last[e * N + a], T,
                                 static_cast<int>(env.inventory_item_names().size()), env.inventory_item_names());
      const std::uint8_t* got = obs.data() + (e * N + a) * T * 3;
      for (int i = 0; i < T * 3; ++i)
        ASSERT_EQ(got[i], ref[i]) << when << " env " << e << " agent " << a << " token " << i / 3 << " byte " << i % 3;
    }
  }
}

}  // namespace

TEST(Observe, MatchesNaiveReferenceOnRandomPlayInSimple) {
  engine::EnvConfig cfg = engine::default_env_config();
  engine::BatchedEnv env(cfg, 2, 11, kernels::Context::cpu(2));
  const int N = env.num_agents();
  std::vector<Submitted> last(static_cast<std::size_t>(env.total_agents()));
  compare_all_agents(env, last, "reset");
  std::mt19937 rng(5);
  const auto max_args = env.action_max_args();
  for (int t = 1; t <= 40; ++t) {
    std::vector<std::int32_t> acts;
    for (std::int64_t g = 0; g < env.total_agents(); ++g) {
      // mostly moves and rotations so agents wander and see varied objects; some gets/puts
      const int choice = static_cast<int>(rng() % 10);
      const int type = choice < 5 ? 1 : choice < 8 ? 2 : choice < 9 ? 4 : 3;
      const int arg = static_cast<int>(rng() % (max_args[type] + 1));
      acts.push_back(type);
      acts.push_back(arg);
      last[g] = {type, arg, 0};
    }
    env.set_actions_host(acts);
    env.step();
    const auto rewards = env.rewards_host();  // no group sharing in simple: equal to the pre-sharing reward
    for (std::int64_t g = 0; g < env.total_agents(); ++g) last[g].reward = rewards[g];
    if (t % 4 == 0) compare_all_agents(env, last, "step " + std::to_string(t));
  }
  (void)N;
}

TEST(Observe, OwnTokensFollowGlobalsAndEmptyIsPadding) {
  Scenario s(ascii_config({"###", "#A#", "###"}));
  s.give(0, "heart", 3);
  s.step({{kRotate, 2}});
  const auto obs = s.env.observations_host();
  // globals at the centre: completion, last action, last arg, last reward
  const std::vector<std::uint8_t> expect = {0x55, 8, 0,  0x55, 9, 2,  0x55, 10, 2,  0x55, 11, 0,
                                            0x55, 0, 0,  0x55, 1, 0,  0x55, 3,  0,  0x55, 4,  2,
                                            0x55, 5, 0,  0x55, 18, 3};
  for (std::size_t i = 0; i < expect.size(); ++i) EXPECT_EQ(obs[i], expect[i]) << "byte " << i;
  // the 8 neighbouring walls follow in shell order: d=1 (-1,0) (0,+1) (0,-1) (+1,0), then the corners
  const std::uint8_t locs[] = {0x45, 0x56, 0x54, 0x65, 0x46, 0x44, 0x66, 0x64};
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(obs[30 + k * 3], locs[k]) << k;
    EXPECT_EQ(obs[30 + k * 3 + 1], 0);
    EXPECT_EQ(obs[30 + k * 3 + 2], 1);  // wall type id
  }
  for (std::size_t i = 30 + 24; i < obs.size(); ++i) ASSERT_EQ(obs[i], 0xFF) << i;
}

TEST(Observe, EpisodeCompletionRoundsHalfUpAndRewardIsClamped) {
  engine::EnvConfig cfg = ascii_config({"####", "#AH#", "####"}, {{'H', "heartsource"}});
  engine::ObjectConfig src;
  src.name = "heartsource";
  src.type_id = 20;
  src.converter = true;
  src.recipe_output = {{"heart", 1}};
  src.max_output = 2;
  src.conversion_ticks = 1;
  src.cooldown = 100;
  src.initial_items = 2;
  cfg.objects.push_back(src);
  cfg.max_steps = 6;
  cfg.groups[0].props.action_failure_penalty = 1.0f;
  Scenario s(cfg);
  const std::uint8_t want_pct[] = {0, 43, 85, 128, 170, 213};
  s.step({{kRotate, 3}});
  EXPECT_EQ(s.env.observations_host()[2], want_pct[1]);
  s.step({{kGet, 0}});  // 2 hearts: reward 2 -> 200
  auto obs = s.env.observations_host();
  EXPECT_EQ(obs[2], want_pct[2]);
  EXPECT_EQ(obs[11], 200);
  s.step({{kMove, 0}});  // into the source: fails, reward -1 -> 0
  obs = s.env.observations_host();
  EXPECT_EQ(obs[2], want_pct[3]);
  EXPECT_FLOAT_EQ(s.reward(0), -1.0f);
  EXPECT_EQ(obs[11], 0);
  s.step({{kNoop, 0}});
  s.step({{kNoop, 0}});
  EXPECT_EQ(s.env.observations_host()[2], want_pct[5]);
}

TEST(Observe, OverflowTruncatesFarthestAndCountsDrops) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.num_observation_tokens = 12;
  engine::BatchedEnv env(cfg, 1, 3, kernels::Context::cpu(1));
  const auto objs = env.grid_objects(0);
  const auto obs = env.observations_host();
  int total_dropped = 0;
  for (int a = 0; a < env.num_agents(); ++a) {
    int dropped = 0;
    const auto ref = naive_obs(objs, a, 0, env.episode_max_steps(0), Submitted{}, 12, 10, env.inventory_item_names(),
                               &dropped);
    for (int i = 0; i < 36; ++i) ASSERT_EQ(obs[a * 36 + i], ref[i]) << "agent " << a << " byte " << i;
    total_dropped += dropped;
  }
  const auto st = env.episode_stats(0);
  EXPECT_EQ(st.game.at("tokens_written"), 12.0f * env.num_agents());
  EXPECT_EQ(st.game.at("tokens_dropped"), static_cast<float>(total_dropped));
  EXPECT_GT(total_dropped, 0);
}

TEST(Observe, CellsOutsideTheGridEmitNothing) {
  Scenario s(ascii_config({"A.m"}));
  const auto obs = s.env.observations_host();
  // globals (4), own agent (5 tokens), then the mine at (0,+2): type, color, converting
  EXPECT_EQ(obs[9 * 3], 0x57);
  EXPECT_EQ(obs[9 * 3 + 1], 0);
  EXPECT_EQ(obs[9 * 3 + 2], 2);
  EXPECT_EQ(obs[12 * 3], 0xFF);
}
