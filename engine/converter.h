// The converter state machine (game-rules.md §4): start when inputs are present and output is not full,
// finish after conversion_ticks, cool down for `cooldown`, then try again. Each converter has at most one
// pending event (finish while converting, end of cooldown while cooling), stored as its step number, so
// no event heap is needed: events of different converters never interact, and one converter's events run
// in order. `process_due_events` runs every event due at the current step, zero-delay ones included.
#pragma once

#include "engine/env_ref.h"

namespace metta::engine {

constexpr std::uint8_t kConverting = 1, kCoolingDown = 2;

METTA_HD inline void converter_maybe_start(const EnvRef& env, int s) {
  const EnvParams& p = env.p;
  const std::int64_t cs = env.conv(s);
  std::uint8_t& flags = env.w.conv_flags[cs];
  if (flags & (kConverting | kCoolingDown)) return;
  const int type = env.w.obj_type[env.obj(env.w.conv_obj[cs])];
  std::uint8_t* inv = env.conv_inv(s);
  const int max_out = p.max_output[type];
  if (max_out >= 0) {
    int total = 0;
    for (int i = 0; i < p.num_items; ++i)
      if (p.recipe_output[type][i]) total += inv[i];
    if (total >= max_out) {
      env.add_conv_stat(s, p.stats.blocked_output_full, 1.0f);
      return;
    }
  }
  for (int i = 0; i < p.num_items; ++i) {
    if (inv[i] < p.recipe_input[type][i]) {
      env.add_conv_stat(s, p.stats.blocked_insufficient_input, 1.0f);
      return;
    }
  }
  for (int i = 0; i < p.num_items; ++i) {
    const int n = p.recipe_input[type][i];
    if (n) {
      inv[i] = static_cast<std::uint8_t>(inv[i] - n);
      env.add_conv_stat(s, p.stats.item_consumed + i, static_cast<float>(n));
    }
  }
  flags |= kConverting;
  env.w.conv_event[cs] = env.now() + p.conversion_ticks[type];
  env.add_conv_stat(s, p.stats.conversions_started, 1.0f);
}

METTA_HD inline void converter_finish(const EnvRef& env, int s) {
  const EnvParams& p = env.p;
  const std::int64_t cs = env.conv(s);
  const int type = env.w.obj_type[env.obj(env.w.conv_obj[cs])];
  env.w.conv_flags[cs] &= static_cast<std::uint8_t>(~kConverting);
  env.w.conv_event[cs] = -1;
  for (int i = 0; i < p.num_items; ++i) {
    const int n = p.recipe_output[type][i];
    if (n) {
      const int added = conv_change_inventory(env, s, i, n);
      env.add_conv_stat(s, p.stats.item_produced + i, static_cast<float>(added));
    }
  }
  env.add_conv_stat(s, p.stats.conversions_completed, 1.0f);
  env.add_conv_stat(s, p.stats.type_produced + type, 1.0f);  // "<converter type>.produced", once
  if (p.cooldown[type] > 0) {
    env.w.conv_flags[cs] |= kCoolingDown;
    env.w.conv_event[cs] = env.now() + p.cooldown[type];
    env.add_conv_stat(s, p.stats.cooldown_started, 1.0f);
  } else {
    converter_maybe_start(env, s);
  }
}

METTA_HD inline void converter_end_cooldown(const EnvRef& env, int s) {
  const std::int64_t cs = env.conv(s);
  env.w.conv_flags[cs] &= static_cast<std::uint8_t>(~kCoolingDown);
  env.w.conv_event[cs] = -1;
  env.add_conv_stat(s, env.p.stats.cooldown_completed, 1.0f);
  converter_maybe_start(env, s);
}

// Runs every event with step <= now. Config validation rules out converters that would loop forever
// (no input, no output limit, zero ticks and zero cooldown).
METTA_HD inline void process_due_events(const EnvRef& env) {
  const std::int32_t now = env.now();
  for (int s = 0; s < env.p.num_converters; ++s) {
    const std::int64_t cs = env.conv(s);
    while (env.w.conv_event[cs] >= 0 && env.w.conv_event[cs] <= now) {
      if (env.w.conv_flags[cs] & kConverting) converter_finish(env, s);
      else converter_end_cooldown(env, s);
    }
  }
}

}  // namespace metta::engine
