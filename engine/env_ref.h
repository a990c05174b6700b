// EnvRef: one environment's slice of the batch (base offsets into the WorldView) with the small
// accessors every engine body uses, and the inventory updates of agents and converters that carry the
// reward and stat side effects of the rules (game-rules.md §3). Device and host code alike.
#pragma once

#include <cstdint>

#include "engine/world.h"

namespace metta::engine {

struct EnvRef {
  const WorldView& w;
  const EnvParams& p;
  std::int64_t e;
  std::int64_t agent0, obj0, conv0, cell0;

  METTA_HD EnvRef(const WorldView& view, std::int64_t env)
      : w(view), p(view.p[view.env_task[env]]), e(env), agent0(env * view.p->num_agents), obj0(env * view.obj_stride),
        conv0(env * view.conv_stride), cell0(env * view.cell_stride) {}

  METTA_HD bool in_grid(int r, int c) const { return r >= 0 && c >= 0 && r < p.height && c < p.width; }
  METTA_HD std::uint16_t* cell(int r, int c) const { return w.grid + cell0 + static_cast<std::int64_t>(r) * p.width + c; }
  // Layer of the reference's two-layer grid that object `id` lives on.
  METTA_HD int layer_of(std::uint16_t id) const {
    return p.type_kind[w.obj_type[obj(id)]] == static_cast<std::uint8_t>(ObjectKind::kAgent) ? kAgentLayer : kObjectLayer;
  }
  METTA_HD std::int64_t obj(std::uint16_t id) const { return obj0 + id - 1; }  // id >= 1
  METTA_HD std::int64_t agent(int a) const { return agent0 + a; }
  METTA_HD std::int64_t conv(int s) const { return conv0 + s; }
  METTA_HD std::int32_t now() const { return w.env_step[e]; }

  METTA_HD float* agent_stat(int a, std::int32_t key) const {
    return w.agent_stats + agent(a) * p.stats.agent_count + key;
  }
  METTA_HD float* conv_stat(int s, std::int32_t key) const {
    return w.conv_stats + conv(s) * p.stats.converter_count + key;
  }
  // Adds x to a stat and tracks its update (kStatTrack): every stat write goes through these two.
  METTA_HD void add_agent_stat(int a, std::int32_t key, float x) const {
    const std::int64_t i = agent(a) * p.stats.agent_count + key;
    w.agent_stats[i] += x;
    if (w.agent_stat_track) track_stat(w.agent_stat_track + i * kStatTrack, w.agent_stats[i]);
  }
  METTA_HD void add_conv_stat(int s, std::int32_t key, float x) const {
    const std::int64_t i = conv(s) * p.stats.converter_count + key;
    w.conv_stats[i] += x;
    if (w.conv_stat_track) track_stat(w.conv_stat_track + i * kStatTrack, w.conv_stats[i]);
  }
  METTA_HD void track_stat(float* t, float value) const {
    const float step = static_cast<float>(now());
    if (t[0] == 0.0f) {
      t[1] = step;
      t[3] = value;
      t[4] = value;
    } else {
      t[3] = value < t[3] ? value : t[3];
      t[4] = value > t[4] ? value : t[4];
    }
    t[0] += 1.0f;
    t[2] = step;
  }
  METTA_HD std::uint8_t* agent_inv(int a) const { return w.agent_inv + agent(a) * p.num_items; }
  METTA_HD std::uint8_t* conv_inv(int s) const { return w.conv_inv + conv(s) * p.num_items; }
};

// The derived entries of one tracked key (kStatTrack) with running value `value` at step `now`, added to
// out[j * stride] for j < kStatDerived; a key never updated adds nothing (the reference has no entry).
METTA_HD inline void add_derived(const float* t, float value, float now, float* out, std::int64_t stride) {
  if (t[0] == 0.0f) return;
  const float derived[kStatDerived] = {t[0], t[1], t[2], now > 0.0f ? t[0] / now : 0.0f, value / t[0],
                                       t[2] > t[1] ? (t[0] - 1.0f) / (t[2] - t[1]) : 0.0f, t[3], t[4]};
  for (int j = 0; j < kStatDerived; ++j) out[j * stride] += derived[j];
}

// The game tracker (kStatTrack) of observation statistic k (StatLayout::kTokens*) at step `now`, from the
// env's first agent's row of obs_stats and its first counts (obs_stat_first): the reference adds every
// agent's count at each observation, agents in order, so over an episode observed n times (each adds
// num_tokens to written + free space) the key has n * N updates from step now - n + 1 to now, its
// smallest running value is the first agent's first count (the counts only grow it) and its largest
// the total.
METTA_HD inline void obs_stat_track(const float* first_agent_row, const float* first_counts, int k, int num_agents,
                                    int num_tokens, float now, float total, float* t) {
  const float n = (first_agent_row[StatLayout::kTokensWritten] + first_agent_row[StatLayout::kTokensFreeSpace]) /
                  static_cast<float>(num_tokens);
  t[0] = n * static_cast<float>(num_agents);
  t[1] = now - n + 1.0f;
  t[2] = now;
  t[3] = first_counts[k];
  t[4] = total;
}

// The game tracker (kStatTrack) of objects.<name> with `count` objects: one update per object at the
// episode's first step (step 0), the running value 1 after the first.
METTA_HD inline void object_count_track(float count, float* t) {
  t[0] = count;
  t[1] = 0.0f;
  t[2] = 0.0f;
  t[3] = 1.0f;
  t[4] = count;
}

// Target cell of an action: (distance, offset) relative to orientation; offset > 0 is the agent's left.
METTA_HD inline void relative_location(int r, int c, int orient, int distance, int offset, int& tr, int& tc) {
  switch (orient) {
    case kUp: tr = r - distance; tc = c - offset; break;
    case kDown: tr = r + distance; tc = c + offset; break;
    case kLeft: tr = r + offset; tc = c - distance; break;
    default: tr = r - offset; tc = c + distance; break;
  }
}

// Agent inventory change, clamped to [0, max_items]; returns the applied delta. Records gained/lost and
// moves the agent's step reward by the change of the capped inventory potential of that item.
METTA_HD inline int agent_update_inventory(const EnvRef& env, int a, int item, int delta) {
  const EnvParams& p = env.p;
  std::uint8_t* inv = env.agent_inv(a);
  const int group = env.w.agent_group[env.agent(a)];
  const int old_count = inv[item];
  int new_count = old_count + delta;
  const int limit = p.max_items[group][item];
  if (new_count > limit) new_count = limit;
  if (new_count < 0) new_count = 0;
  const int applied = new_count - old_count;
  if (applied == 0) return 0;
  inv[item] = static_cast<std::uint8_t>(new_count);
  if (applied > 0) env.add_agent_stat(a, p.stats.item_gained + item, static_cast<float>(applied));
  else env.add_agent_stat(a, p.stats.item_lost + item, static_cast<float>(-applied));
  const float r = p.reward[group][item];
  if (r != 0.0f) {
    const float cap = p.reward_cap[group][item];
    const float before = old_count < cap ? static_cast<float>(old_count) : cap;
    const float after = new_count < cap ? static_cast<float>(new_count) : cap;
    env.w.agent_step_reward[env.agent(a)] += r * (after - before);
  }
  return applied;
}

// Converter inventory change, clamped to [0, 255]; returns the applied delta (no side effects).
METTA_HD inline int conv_change_inventory(const EnvRef& env, int s, int item, int delta) {
  std::uint8_t* inv = env.conv_inv(s);
  int n = inv[item] + delta;
  if (n > 255) n = 255;
  if (n < 0) n = 0;
  const int applied = n - inv[item];
  inv[item] = static_cast<std::uint8_t>(n);
  return applied;
}

}  // namespace metta::engine
