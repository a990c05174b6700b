// Observation tokens of one agent (game-rules.md §6): 4 global tokens at the window centre, then the
// objects of the 11x11 window cell by cell in distance-shell order (table in EnvParams), agent layer
// before object layer, each object's fixed features then its nonzero inventory. Tokens past
// num_tokens are dropped (counted); the unused tail is 0xFF. Writes obs[g] and the agent's obs stats.
#pragma once

#include <cmath>

#include "engine/env_ref.h"

namespace metta::engine {

struct TokenWriter {
  std::uint8_t* out;
  int capacity;
  int written = 0;
  int dropped = 0;
  METTA_HD void put(std::uint8_t loc, std::uint8_t feat, std::uint8_t value) {
    if (written < capacity) {
      std::uint8_t* t = out + written * 3;
      t[0] = loc;
      t[1] = feat;
      t[2] = value;
      ++written;
    } else {
      ++dropped;
    }
  }
};

// round(x) with halves away from zero, the same on host and device.
METTA_HD inline float round_half_away(float x) { return x >= 0.0f ? floorf(x + 0.5f) : -floorf(-x + 0.5f); }

METTA_HD inline void emit_object_tokens(const EnvRef& env, std::uint16_t id, std::uint8_t loc, TokenWriter& tw) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const std::int64_t o = env.obj(id);
  const std::uint8_t type = w.obj_type[o];
  tw.put(loc, feature::kTypeId, type);
  switch (static_cast<ObjectKind>(p.type_kind[type])) {
    case ObjectKind::kAgent: {
      const std::int64_t ga = env.agent(w.obj_slot[o]);
      tw.put(loc, feature::kGroup, w.agent_group[ga]);
      tw.put(loc, feature::kFrozen, w.agent_frozen[ga] != 0 ? 1 : 0);
      tw.put(loc, feature::kOrientation, w.agent_orient[ga]);
      tw.put(loc, feature::kColor, w.agent_color[ga]);
      const std::uint8_t* inv = w.agent_inv + ga * p.num_items;
      for (int i = 0; i < p.num_items; ++i)
        if (inv[i]) tw.put(loc, static_cast<std::uint8_t>(feature::kInventoryBase + i), inv[i]);
      break;
    }
    case ObjectKind::kConverter: {
      const int s = w.obj_slot[o];
      tw.put(loc, feature::kColor, p.type_color[type]);
      tw.put(loc, feature::kConverting, w.conv_flags[env.conv(s)] != 0 ? 1 : 0);
      const std::uint8_t* inv = env.conv_inv(s);
      for (int i = 0; i < p.num_items; ++i)
        if (inv[i]) tw.put(loc, static_cast<std::uint8_t>(feature::kInventoryBase + i), inv[i]);
      break;
    }
    default:
      if (p.type_swappable[type]) tw.put(loc, feature::kSwappable, 1);
      break;
  }
}

METTA_HD inline void observe_agent(const WorldView& w, std::int64_t g) {
  const EnvParams& p = *w.p;
  const std::int64_t e = g / p.num_agents;
  EnvRef env(w, e);
  TokenWriter tw{w.obs + g * p.num_tokens * 3, p.num_tokens};

  const std::int32_t step = w.env_step[e], max_steps = w.env_max_steps[e];
  // round(step / max_steps * 255) with halves up, in exact integer arithmetic
  const std::int64_t pct =
      max_steps > 0 ? (2 * static_cast<std::int64_t>(step) * 255 + max_steps) / (2 * static_cast<std::int64_t>(max_steps)) : 0;
  float rr = round_half_away(w.agent_step_reward[g] * 100.0f);
  rr = rr < 0.0f ? 0.0f : (rr > 255.0f ? 255.0f : rr);
  const std::uint8_t centre = p.obs_center_loc;
  tw.put(centre, feature::kEpisodeCompletion, static_cast<std::uint8_t>(pct > 255 ? 255 : pct));
  tw.put(centre, feature::kLastAction, static_cast<std::uint8_t>(w.agent_last_action[g * 2]));
  tw.put(centre, feature::kLastActionArg, static_cast<std::uint8_t>(w.agent_last_action[g * 2 + 1]));
  tw.put(centre, feature::kLastReward, static_cast<std::uint8_t>(rr));

  const std::int64_t self = env.obj(w.agent_obj[g]);
  const int ar = w.obj_r[self], ac = w.obj_c[self];
  const int rh = p.obs_height >> 1, rw = p.obs_width >> 1;
  const bool inside = ar - rh >= 0 && ac - rw >= 0 && ar + rh < p.height && ac + rw < p.width;
  for (int k = 0; k < p.num_obs_cells; ++k) {
    const int r = ar + p.obs_dr[k], c = ac + p.obs_dc[k];
    if (!inside && !env.in_grid(r, c)) continue;
    const std::uint16_t* cell = env.cell(r, c);
    if (cell[kAgentLayer]) emit_object_tokens(env, cell[kAgentLayer], p.obs_loc[k], tw);
    if (cell[kObjectLayer]) emit_object_tokens(env, cell[kObjectLayer], p.obs_loc[k], tw);
  }
  std::uint8_t* out = tw.out;
  for (int i = tw.written * 3; i < p.num_tokens * 3; ++i) out[i] = kEmptyByte;
  float* st = w.obs_stats + g * StatLayout::kObsCount;
  st[StatLayout::kTokensWritten] += static_cast<float>(tw.written);
  st[StatLayout::kTokensDropped] += static_cast<float>(tw.dropped);
  st[StatLayout::kTokensFreeSpace] += static_cast<float>(p.num_tokens - tw.written);
}

}  // namespace metta::engine
