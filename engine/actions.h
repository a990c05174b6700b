// Action handlers (game-rules.md §5.2–5.3): the common frozen / resource / penalty logic and the logic of
// each action kind. `handle_action` is called in the per-env sequential pass (engine/step.h) with a valid
// (type, arg); it returns whether the action succeeded and records its stats and rewards.
#pragma once

#include "engine/converter.h"

namespace metta::engine {

// Object id in front of agent a at (distance, offset) on `layer`, or 0 when outside the grid or empty.
METTA_HD inline std::uint16_t object_at_relative(const EnvRef& env, int a, int distance, int offset, int layer,
                                                 int* out_r = nullptr, int* out_c = nullptr) {
  const std::uint16_t self = env.w.agent_obj[env.agent(a)];
  const std::int64_t so = env.obj(self);
  int tr, tc;
  relative_location(env.w.obj_r[so], env.w.obj_c[so], env.w.agent_orient[env.agent(a)], distance, offset, tr, tc);
  if (out_r) *out_r = tr;
  if (out_c) *out_c = tc;
  if (!env.in_grid(tr, tc)) return kNoObject;
  const std::uint16_t id = *env.cell(tr, tc);
  return id != kNoObject && env.layer_of(id) == layer ? id : kNoObject;
}

// Slot of the converter in front of agent a, or -1.
METTA_HD inline int converter_in_front(const EnvRef& env, int a) {
  const std::uint16_t id = object_at_relative(env, a, 1, 0, kObjectLayer);
  if (id == kNoObject) return -1;
  const std::int64_t o = env.obj(id);
  if (env.p.type_kind[env.w.obj_type[o]] != static_cast<std::uint8_t>(ObjectKind::kConverter)) return -1;
  return env.w.obj_slot[o];
}

METTA_HD inline bool action_move(const EnvRef& env, int a, int arg) {
  const std::int64_t ga = env.agent(a);
  const std::uint16_t self = env.w.agent_obj[ga];
  const std::int64_t so = env.obj(self);
  int dir = env.w.agent_orient[ga];
  if (arg == 1) dir = dir ^ 1;  // Up<->Down, Left<->Right
  int tr, tc;
  relative_location(env.w.obj_r[so], env.w.obj_c[so], dir, 1, 0, tr, tc);
  if (!env.in_grid(tr, tc)) return false;
  std::uint16_t* target = env.cell(tr, tc);
  if (*target != kNoObject) return false;
  *env.cell(env.w.obj_r[so], env.w.obj_c[so]) = kNoObject;
  *target = self;
  env.w.obj_r[so] = static_cast<std::uint16_t>(tr);
  env.w.obj_c[so] = static_cast<std::uint16_t>(tc);
  return true;
}

METTA_HD inline bool action_put_items(const EnvRef& env, int a) {
  const int s = converter_in_front(env, a);
  if (s < 0) return false;
  const EnvParams& p = env.p;
  const int type = env.w.obj_type[env.obj(env.w.conv_obj[env.conv(s)])];
  std::uint8_t* inv = env.agent_inv(a);
  bool moved_any = false;
  for (int i = 0; i < p.num_items; ++i) {
    const int need = p.recipe_input[type][i];
    if (!need || !inv[i]) continue;
    const int n = need < inv[i] ? need : inv[i];
    agent_update_inventory(env, a, i, -n);
    env.add_agent_stat(a, p.stats.item_put + i, static_cast<float>(n));
    const int added = conv_change_inventory(env, s, i, n);
    env.add_conv_stat(s, p.stats.item_added + i, static_cast<float>(added));
    moved_any = true;
    converter_maybe_start(env, s);
  }
  return moved_any;
}

METTA_HD inline bool action_get_items(const EnvRef& env, int a) {
  const int s = converter_in_front(env, a);
  if (s < 0) return false;
  const EnvParams& p = env.p;
  const int type = env.w.obj_type[env.obj(env.w.conv_obj[env.conv(s)])];
  std::uint8_t* cinv = env.conv_inv(s);
  bool took_any = false;
  for (int i = 0; i < p.num_items; ++i) {
    if (!p.recipe_output[type][i] || !cinv[i]) continue;
    const int taken = agent_update_inventory(env, a, i, cinv[i]);
    if (taken <= 0) continue;
    conv_change_inventory(env, s, i, -taken);
    env.add_agent_stat(a, p.stats.item_get + i, static_cast<float>(taken));
    env.add_conv_stat(s, p.stats.item_removed + i, static_cast<float>(taken));
    took_any = true;
    converter_maybe_start(env, s);
  }
  return took_any;
}

// Attack on agent slot `t` by agent `a` with handler `action` (defense, freeze, steal). Always succeeds.
METTA_HD inline bool attack_target(const EnvRef& env, int a, int t, int action) {
  const EnvParams& p = env.p;
  const std::int64_t ga = env.agent(a), gt = env.agent(t);
  const int ag = env.w.agent_group[ga], tg = env.w.agent_group[gt];
  const int G = p.num_groups;
  const bool own_team = ag == tg;
  // every hit on an agent (game-rules.md §10, the confirmed keys): group suffixes name the owner's group first
  env.add_agent_stat(a, p.stats.action_agent + action, 1.0f);
  env.add_agent_stat(a, p.stats.action_agent_group + action * G + ag, 1.0f);
  env.add_agent_stat(a, p.stats.action_agent_group_group + (action * G + ag) * G + tg, 1.0f);
  env.add_agent_stat(a, (own_team ? p.stats.attack_own_team : p.stats.attack_other_team) + ag, 1.0f);
  if (p.action_has_defense[action]) {
    const std::uint8_t* tinv = env.agent_inv(t);
    bool holds_all = true;
    for (int i = 0; i < p.num_items; ++i)
      if (tinv[i] < p.action_defense[action][i]) holds_all = false;
    if (holds_all) {
      for (int i = 0; i < p.num_items; ++i)
        if (p.action_defense[action][i]) agent_update_inventory(env, t, i, -p.action_defense[action][i]);
      // the attacker's record, keyed by the target's group then its own (game-rules.md §10, corrected)
      env.add_agent_stat(a, p.stats.attack_blocked + tg, 1.0f);
      env.add_agent_stat(a, p.stats.attack_blocked_pair + tg * G + ag, 1.0f);
      return true;
    }
  }
  const bool was_frozen = env.w.agent_frozen[gt] > 0;
  env.w.agent_frozen[gt] = p.freeze_duration[tg];
  if (was_frozen) {
    env.add_agent_stat(a, p.stats.attack_frozen_target + tg, 1.0f);
    return true;
  }
  env.add_agent_stat(a, p.stats.attack_win + ag, 1.0f);
  env.add_agent_stat(a, p.stats.attack_win_pair + ag * G + tg, 1.0f);
  env.add_agent_stat(a, (own_team ? p.stats.attack_win_own_team : p.stats.attack_win_other_team) + ag, 1.0f);
  env.add_agent_stat(t, p.stats.attack_loss + tg, 1.0f);
  env.add_agent_stat(t, p.stats.attack_loss_pair + tg * G + ag, 1.0f);
  env.add_agent_stat(t, (own_team ? p.stats.attack_loss_from_own_team : p.stats.attack_loss_from_other_team) + tg, 1.0f);
  std::uint8_t* tinv = env.agent_inv(t);
  for (int i = 0; i < p.num_items; ++i) {
    if (!tinv[i]) continue;
    const int gained = agent_update_inventory(env, a, i, tinv[i]);
    if (gained <= 0) continue;
    agent_update_inventory(env, t, i, -gained);
    env.add_agent_stat(a, p.stats.stolen + i * G + ag, static_cast<float>(gained));
    env.add_agent_stat(t, p.stats.stolen_from + i * G + tg, static_cast<float>(gained));
  }
  return true;
}

METTA_HD inline bool action_attack(const EnvRef& env, int a, int arg, int action) {
  if (arg < 1) return false;
  const int distance = 1 + (arg - 1) / 3;
  const int offset = 1 - (arg - 1) % 3;
  const std::uint16_t id = object_at_relative(env, a, distance, offset, kAgentLayer);
  if (id == kNoObject) return false;
  return attack_target(env, a, env.w.obj_slot[env.obj(id)], action);
}

METTA_HD inline bool action_attack_nearest(const EnvRef& env, int a, int action) {
  const int offsets[3] = {0, 1, -1};
  for (int distance = 1; distance <= 3; ++distance) {
    for (int k = 0; k < 3; ++k) {
      const std::uint16_t id = object_at_relative(env, a, distance, offsets[k], kAgentLayer);
      if (id != kNoObject) return attack_target(env, a, env.w.obj_slot[env.obj(id)], action);
    }
  }
  return false;
}

METTA_HD inline bool action_swap(const EnvRef& env, int a) {
  int tr, tc;
  std::uint16_t id = object_at_relative(env, a, 1, 0, kAgentLayer, &tr, &tc);
  if (id == kNoObject) id = object_at_relative(env, a, 1, 0, kObjectLayer);
  if (id == kNoObject) return false;
  const std::int64_t to = env.obj(id);
  const int type = env.w.obj_type[to];
  const auto kind = static_cast<ObjectKind>(env.p.type_kind[type]);
  bool swappable = false;
  if (kind == ObjectKind::kWall) swappable = env.p.type_swappable[type] != 0;
  else if (kind == ObjectKind::kAgent) swappable = env.w.agent_frozen[env.agent(env.w.obj_slot[to])] != 0;
  if (!swappable) return false;
  const std::uint16_t self = env.w.agent_obj[env.agent(a)];
  const std::int64_t so = env.obj(self);
  const int sr = env.w.obj_r[so], sc = env.w.obj_c[so];
  *env.cell(tr, tc) = self;  // each keeps its layer; each cell still holds one object
  *env.cell(sr, sc) = id;
  env.w.obj_r[so] = static_cast<std::uint16_t>(tr);
  env.w.obj_c[so] = static_cast<std::uint16_t>(tc);
  env.w.obj_r[to] = static_cast<std::uint16_t>(sr);
  env.w.obj_c[to] = static_cast<std::uint16_t>(sc);
  env.add_agent_stat(a, env.p.stats.swap_type + type, 1.0f);
  return true;
}

METTA_HD inline bool action_change_color(const EnvRef& env, int a, int arg) {
  std::uint8_t& color = env.w.agent_color[env.agent(a)];
  switch (arg) {
    case 0: if (color < 255) color = static_cast<std::uint8_t>(color + 1); break;
    case 1: if (color > 0) color = static_cast<std::uint8_t>(color - 1); break;
    case 2: if (color <= 127) color = static_cast<std::uint8_t>(color * 2); break;
    default: color = static_cast<std::uint8_t>(color / 2); break;
  }
  return true;
}

// Common handler logic: frozen agents count down and fail without penalty or resource use; required
// resources are checked and consumed ones spent before the action runs; failures pay the penalty.
METTA_HD inline bool handle_action(const EnvRef& env, int a, int action, int arg) {
  const EnvParams& p = env.p;
  const std::int64_t ga = env.agent(a);
  std::int16_t& frozen = env.w.agent_frozen[ga];
  if (frozen != 0) {
    if (frozen > 0) frozen = static_cast<std::int16_t>(frozen - 1);
    env.add_agent_stat(a, p.stats.frozen_ticks, 1.0f);
    env.add_agent_stat(a, p.stats.frozen_ticks_group + env.w.agent_group[ga], 1.0f);
    return false;
  }
  const std::uint8_t* inv = env.agent_inv(a);
  bool has_resources = true;
  for (int i = 0; i < p.num_items; ++i)
    if (inv[i] < p.action_required[action][i]) has_resources = false;
  bool success = false;
  if (has_resources) {
    for (int i = 0; i < p.num_items; ++i)
      if (p.action_consumed[action][i]) agent_update_inventory(env, a, i, -p.action_consumed[action][i]);
    switch (static_cast<ActionKind>(p.action_kind[action])) {
      case ActionKind::kNoop: success = true; break;
      case ActionKind::kMove: success = action_move(env, a, arg); break;
      case ActionKind::kRotate: env.w.agent_orient[ga] = static_cast<std::uint8_t>(arg); success = true; break;
      case ActionKind::kPutItems: success = action_put_items(env, a); break;
      case ActionKind::kGetItems: success = action_get_items(env, a); break;
      case ActionKind::kAttack: success = action_attack(env, a, arg, action); break;
      case ActionKind::kAttackNearest: success = action_attack_nearest(env, a, action); break;
      case ActionKind::kSwap: success = action_swap(env, a); break;
      case ActionKind::kChangeColor: success = action_change_color(env, a, arg); break;
    }
  }
  if (success) {
    env.add_agent_stat(a, p.stats.action_success + action, 1.0f);
  } else {
    env.add_agent_stat(a, p.stats.action_failed + action, 1.0f);
    env.add_agent_stat(a, p.stats.failure_penalty, 1.0f);
    env.w.agent_step_reward[ga] -= p.failure_penalty[env.w.agent_group[ga]];
  }
  return success;
}

}  // namespace metta::engine
