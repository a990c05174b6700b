// Observation tokens of one agent (game-rules.md §6): 4 global tokens at the window centre, then the
// objects of the 11x11 window cell by cell in distance-shell order (table in EnvParams), each object's fixed features then its nonzero inventory. Tokens past
// num_tokens are dropped (counted); the unused tail is 0xFF. Writes obs[g] and the agent's obs stats.
// Hot path: the uint8 output aliases everything, so loop bounds and tables are read into locals first.
#pragma once

#include <cmath>
#include <cstring>

#include "engine/env_ref.h"

namespace metta::engine {

struct TokenWriter {
  std::uint8_t* out;
  int capacity;
  int num_items;
  int written = 0;
  int dropped = 0;
  // Unchecked: the caller made sure at least two token slots remain, so one 4-byte store (whose last
  // byte the next token or the 0xFF tail overwrites) is safe.
  METTA_HD METTA_FORCEINLINE void put_fast(std::uint8_t loc, std::uint8_t feat, std::uint8_t value) {
    const std::uint32_t v = static_cast<std::uint32_t>(loc) | (static_cast<std::uint32_t>(feat) << 8) |
                            (static_cast<std::uint32_t>(value) << 16);
    memcpy(out + written * 3, &v, sizeof(v));
    ++written;
  }
  METTA_HD METTA_FORCEINLINE void put_checked(std::uint8_t loc, std::uint8_t feat, std::uint8_t value) {
    if (written >= capacity) {
      ++dropped;
      return;
    }
    std::uint8_t* t = out + written * 3;
    t[0] = loc;
    t[1] = feat;
    t[2] = value;
    ++written;
  }
  template <bool kChecked>
  METTA_HD METTA_FORCEINLINE void put(std::uint8_t loc, std::uint8_t feat, std::uint8_t value) {
    if (kChecked) put_checked(loc, feat, value);
    else put_fast(loc, feat, value);
  }
};

METTA_HD METTA_FORCEINLINE int count_trailing_zeros(std::uint64_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(x)) - 1;
#else
  return __builtin_ctzll(x);
#endif
}

// round(x) with halves away from zero, the same on host and device.
METTA_HD inline float round_half_away(float x) { return x >= 0.0f ? floorf(x + 0.5f) : -floorf(-x + 0.5f); }

template <bool kChecked>
METTA_HD METTA_FORCEINLINE void emit_object_tokens(const EnvRef& env, std::uint16_t id, std::uint8_t loc,
                                                   TokenWriter& tw) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const int num_items = tw.num_items;
  const std::int64_t o = env.obj(id);
  const std::uint8_t type = w.obj_type[o];
  const auto kind = static_cast<ObjectKind>(p.type_kind[type]);
  tw.put<kChecked>(loc, feature::kTypeId, type);
  const std::uint8_t* inv = nullptr;
  if (kind == ObjectKind::kAgent) {
    const std::int64_t ga = env.agent(w.obj_slot[o]);
    const std::uint8_t group = w.agent_group[ga], frozen = w.agent_frozen[ga] != 0 ? 1 : 0,
                       orient = w.agent_orient[ga], color = w.agent_color[ga];
    tw.put<kChecked>(loc, feature::kGroup, group);
    tw.put<kChecked>(loc, feature::kFrozen, frozen);
    tw.put<kChecked>(loc, feature::kOrientation, orient);
    tw.put<kChecked>(loc, feature::kColor, color);
    inv = w.agent_inv + ga * num_items;
  } else if (kind == ObjectKind::kConverter) {
    const int s = w.obj_slot[o];
    const std::uint8_t color = p.type_color[type], converting = w.conv_flags[env.conv(s)] != 0 ? 1 : 0;
    tw.put<kChecked>(loc, feature::kColor, color);
    tw.put<kChecked>(loc, feature::kConverting, converting);
    inv = w.conv_inv + env.conv(s) * num_items;
  } else {
    if (p.type_swappable[type]) tw.put<kChecked>(loc, feature::kSwappable, 1);
    return;
  }
  for (int i = 0; i < num_items; ++i) {
    const std::uint8_t n = inv[i];
    if (kChecked) {
      if (n) tw.put_checked(loc, static_cast<std::uint8_t>(feature::kInventoryBase + i), n);
    } else {  // branch-free: store always, keep the token only when the count is nonzero
      tw.put_fast(loc, static_cast<std::uint8_t>(feature::kInventoryBase + i), n);
      tw.written -= n == 0;
    }
  }
}

// Emits one object; per-token capacity checks only near the end of the buffer (the largest object is
// 5 fixed tokens plus every item, and a fast store needs one spare slot).
METTA_HD METTA_FORCEINLINE void emit_object(const EnvRef& env, std::uint16_t id, std::uint8_t loc, TokenWriter& tw) {
  if (tw.written + 6 + tw.num_items <= tw.capacity) emit_object_tokens<false>(env, id, loc, tw);
  else emit_object_tokens<true>(env, id, loc, tw);
}

// The 4 global tokens of agent g at the window centre (episode completion, last action and argument,
// last reward), first in its row.
METTA_HD METTA_FORCEINLINE void emit_global_tokens(const EnvRef& env, std::int64_t g, TokenWriter& tw) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const std::int64_t e = env.e;
  const std::int32_t step = w.env_step[e], max_steps = w.env_max_steps[e];
  // round(step / max_steps * 255) with halves up, in exact integer arithmetic
  const std::int64_t pct =
      max_steps > 0 ? (2 * static_cast<std::int64_t>(step) * 255 + max_steps) / (2 * static_cast<std::int64_t>(max_steps)) : 0;
  float rr = round_half_away(w.agent_step_reward[g] * 100.0f);
  rr = rr < 0.0f ? 0.0f : (rr > 255.0f ? 255.0f : rr);
  const std::uint8_t centre = p.obs_center_loc;
  tw.put_checked(centre, feature::kEpisodeCompletion, static_cast<std::uint8_t>(pct > 255 ? 255 : pct));
  tw.put_checked(centre, feature::kLastAction, static_cast<std::uint8_t>(w.agent_last_action[g * 2]));
  tw.put_checked(centre, feature::kLastActionArg, static_cast<std::uint8_t>(w.agent_last_action[g * 2 + 1]));
  tw.put_checked(centre, feature::kLastReward, static_cast<std::uint8_t>(rr));
}

// Adds one agent's token counts to its observation statistics.
// With stat tracking on, the env's first agent's first counts of the episode are kept too: the smallest
// running value of the game tracker's token keys (obs_stat_track).
METTA_HD METTA_FORCEINLINE void add_token_stats(const WorldView& w, const EnvRef& env, std::int64_t g, int num_tokens,
                                                int written, int dropped) {
  float* st = w.obs_stats + g * StatLayout::kObsCount;
  if (w.obs_stat_first && g == env.agent(0) && st[StatLayout::kTokensWritten] + st[StatLayout::kTokensFreeSpace] == 0.0f) {
    float* first = w.obs_stat_first + env.e * StatLayout::kObsCount;  // its row is all zero until it observes
    first[StatLayout::kTokensWritten] = static_cast<float>(written);
    first[StatLayout::kTokensDropped] = static_cast<float>(dropped);
    first[StatLayout::kTokensFreeSpace] = static_cast<float>(num_tokens - written);
  }
  st[StatLayout::kTokensWritten] += static_cast<float>(written);
  st[StatLayout::kTokensDropped] += static_cast<float>(dropped);
  st[StatLayout::kTokensFreeSpace] += static_cast<float>(num_tokens - written);
}

// Agent g (global index) of env e.
METTA_HD inline void observe_agent(const WorldView& w, std::int64_t e, std::int64_t g) {
  EnvRef env(w, e);
  const EnvParams& p = env.p;
  const int num_tokens = p.num_tokens;
  TokenWriter tw{w.obs + g * num_tokens * 3, num_tokens, p.num_items};
  emit_global_tokens(env, g, tw);

  const std::int64_t self = env.obj(w.agent_obj[g]);
  const int ar = w.obj_r[self], ac = w.obj_c[self];
  const int rh = p.obs_height >> 1, rw = p.obs_width >> 1;
  const bool inside = ar - rh >= 0 && ac - rw >= 0 && ar + rh < p.height && ac + rw < p.width;
  const std::uint16_t* centre_cell = env.cell(ar, ac);
  // Occupancy of the window in token order, as a bitmask: scan each window row (branch-free inside the
  // grid), then map its occupied columns, a nibble at a time, to token-order bits through the table.
  const int words = p.obs_mask_words, nibbles = p.obs_row_nibbles, ow = p.obs_width;
  std::uint64_t order_mask[kMaxObsMaskWords] = {0, 0, 0, 0};
  for (int i = 0; i < p.obs_height; ++i) {
    const int r = ar - rh + i;
    std::uint32_t row_bits = 0;
    if (inside) {
      const std::uint16_t* row = centre_cell + static_cast<std::int64_t>(i - rh) * p.width - rw;
      for (int j = 0; j < ow; ++j) row_bits |= static_cast<std::uint32_t>(row[j] != 0) << j;
    } else if (r >= 0 && r < p.height) {
      for (int j = 0; j < ow; ++j) {
        const int c = ac - rw + j;
        if (c >= 0 && c < p.width) row_bits |= static_cast<std::uint32_t>(*env.cell(r, c) != 0) << j;
      }
    }
    for (int n = 0; n < nibbles; ++n) {
      const std::uint64_t* t = w.obs_order_table + ((i * nibbles + n) * 16 + ((row_bits >> (4 * n)) & 15)) * words;
      if (words == 2) {  // the 11x11 window: 121 cells
        order_mask[0] |= t[0];
        order_mask[1] |= t[1];
      } else {
        for (int k = 0; k < words; ++k) order_mask[k] |= t[k];
      }
    }
  }
  const std::int32_t* offsets = p.obs_cell_offset;
  const std::uint8_t* locs = p.obs_loc;
  for (int k = 0; k < words; ++k) {
    std::uint64_t bits = order_mask[k];
    while (bits) {
      const int cell = k * 64 + count_trailing_zeros(bits);
      bits &= bits - 1;
      emit_object(env, centre_cell[offsets[cell]], locs[cell], tw);
    }
  }
  const int used = tw.written * 3, total = num_tokens * 3;
  memset(tw.out + used, kEmptyByte, static_cast<std::size_t>(total - used));
  add_token_stats(w, env, g, num_tokens, tw.written, tw.dropped);
}

// ---- The same observations in the GPU's shape (issue 12): flat passes with far more threads than
// agents, neighbouring threads on neighbouring cells of one agent (so on neighbouring bytes of its row).
// launch: the buffer set to 0xFF (a memset), then
//   1. observe_count_cell, per (agent g, window cell k): the tokens of the cell's object -> scratch[g, k]
//   2. observe_scan_agent, per agent: its global tokens, scratch -> each cell's token offset, statistics
//   3. observe_write_cell, per (agent, cell): the object's tokens at their offset, cut at the row's end.
// The tokens come from the same emit_object_tokens as observe_agent, counted with a writer of no
// capacity, so the rows are observe_agent's bit for bit (tests/test_device_path.cpp).

// The object in window cell k (token order) of an agent at (ar, ac); 0 when empty or off the map.
METTA_HD inline std::uint16_t window_object(const EnvRef& env, int ar, int ac, int k) {
  const int r = ar + env.p.obs_dr[k], c = ac + env.p.obs_dc[k];
  if (r < 0 || c < 0 || r >= env.p.height || c >= env.p.width) return 0;
  return *env.cell(r, c);
}

METTA_HD inline void observe_count_cell(const WorldView& w, std::int64_t e, std::int64_t g, int k) {
  EnvRef env(w, e);
  const std::int64_t self = env.obj(w.agent_obj[g]);
  const std::uint16_t id = window_object(env, w.obj_r[self], w.obj_c[self], k);
  std::uint16_t count = 0;
  if (id) {
    TokenWriter counter{nullptr, 0, env.p.num_items};  // no capacity: every token counts as dropped
    emit_object_tokens<true>(env, id, 0, counter);
    count = static_cast<std::uint16_t>(counter.dropped);
  }
  w.obs_cell_tokens[g * w.obs_cells + k] = count;
}

METTA_HD inline void observe_scan_agent(const WorldView& w, std::int64_t e, std::int64_t g) {
  EnvRef env(w, e);
  const int num_tokens = env.p.num_tokens, cells = env.p.num_obs_cells;
  TokenWriter tw{w.obs + g * num_tokens * 3, num_tokens, env.p.num_items};
  emit_global_tokens(env, g, tw);
  // offsets past the row's end are kept at its end (they write nothing), so they fit 16 bits
  std::uint16_t* slot = w.obs_cell_tokens + g * cells;
  std::int64_t total = tw.written;
  for (int k = 0; k < cells; ++k) {
    const std::uint16_t count = slot[k];
    slot[k] = static_cast<std::uint16_t>(total < num_tokens ? total : num_tokens);
    total += count;
  }
  const int written = static_cast<int>(total < num_tokens ? total : num_tokens);
  add_token_stats(w, env, g, num_tokens, written, tw.dropped + static_cast<int>(total - written));
}

METTA_HD inline void observe_write_cell(const WorldView& w, std::int64_t e, std::int64_t g, int k) {
  EnvRef env(w, e);
  const int num_tokens = env.p.num_tokens;
  const int offset = w.obs_cell_tokens[g * w.obs_cells + k];
  if (offset >= num_tokens) return;
  const std::int64_t self = env.obj(w.agent_obj[g]);
  const std::uint16_t id = window_object(env, w.obj_r[self], w.obj_c[self], k);
  if (!id) return;
  TokenWriter tw{w.obs + g * num_tokens * 3, num_tokens, env.p.num_items};
  tw.written = offset;
  emit_object_tokens<true>(env, id, env.p.obs_loc[k], tw);
}

}  // namespace metta::engine
