// The engine's statistics, listed once. Each block of an agent or converter stat row is one row here: the
// StatLayout member holding its offset, how many slots it spans, and the key its slots are named by.
// build_stat_layout (engine/config.cpp) lays the rows out and the readouts (engine/stats_keys.cpp) name
// them from the same rows, so a new stat is one StatLayout member and one row.
#pragma once

#include <cstdint>

#include "engine/params.h"

namespace metta::engine {

// How many slots a block spans: one, or one per action, item, group, (item, group) pair (item-major),
// object type, (group, group) pair, (action, group) pair or (action, group, group) triple (first-named
// major), or kInvalidArgKeys per action. Keys: the reference's group suffixes name the stat owner's own
// group first.
enum class StatSpan : std::uint8_t {
  kOne, kPerAction, kPerItem, kPerGroup, kPerItemGroup, kPerType, kPerGroupGroup, kPerActionGroup, kPerActionGroupGroup,
  kPerActionInvalidArg  // kInvalidArgKeys per action: the args max_arg + 1, max_arg + 2, ...
};

struct StatBlock {
  std::int32_t StatLayout::*offset;
  StatSpan span;
  // The reference's key; {action}, {item}, {group}, {group2} and {type} stand for the slot's names,
  // {action_id} and {arg} for the action's index and the argument (numbers, as the reference writes them).
  const char* key;
  // Per-action blocks only the attack handlers write: the other actions' slots stay unnamed (and zero),
  // so "action.swap.agent" names the swap-type slot alone.
  bool attack_actions_only = false;
};

inline constexpr StatBlock kAgentStatBlocks[] = {
    {&StatLayout::action_success, StatSpan::kPerAction, "action.{action}.success"},
    {&StatLayout::action_failed, StatSpan::kPerAction, "action.{action}.failed"},
    {&StatLayout::failure_penalty, StatSpan::kOne, "action.failure_penalty"},
    {&StatLayout::invalid_type, StatSpan::kOne, "action.invalid_type"},
    {&StatLayout::invalid_arg, StatSpan::kOne, "action.invalid_arg"},
    {&StatLayout::invalid_arg_keyed, StatSpan::kPerActionInvalidArg, "action.invalid_arg.{action_id}.{arg}"},
    {&StatLayout::frozen_ticks, StatSpan::kOne, "status.frozen.ticks"},
    {&StatLayout::item_gained, StatSpan::kPerItem, "{item}.gained"},
    {&StatLayout::item_lost, StatSpan::kPerItem, "{item}.lost"},
    {&StatLayout::item_get, StatSpan::kPerItem, "{item}.get"},
    {&StatLayout::item_put, StatSpan::kPerItem, "{item}.put"},
    {&StatLayout::stolen, StatSpan::kPerItemGroup, "{item}.stolen.{group}"},
    {&StatLayout::stolen_from, StatSpan::kPerItemGroup, "{item}.stolen_from.{group}"},
    {&StatLayout::attack_win, StatSpan::kPerGroup, "attack.win.{group}"},
    {&StatLayout::attack_loss, StatSpan::kPerGroup, "attack.loss.{group}"},
    {&StatLayout::attack_blocked, StatSpan::kPerGroup, "attack.blocked.{group}"},
    {&StatLayout::attack_frozen_target, StatSpan::kPerGroup, "attack.frozen_target.{group}"},
    {&StatLayout::swap_type, StatSpan::kPerType, "action.swap.{type}"},
    {&StatLayout::frozen_ticks_group, StatSpan::kPerGroup, "status.frozen.ticks.{group}"},
    {&StatLayout::action_agent, StatSpan::kPerAction, "action.{action}.agent", true},
    {&StatLayout::action_agent_group, StatSpan::kPerActionGroup, "action.{action}.agent.{group}", true},
    {&StatLayout::action_agent_group_group, StatSpan::kPerActionGroupGroup, "action.{action}.agent.{group}.{group2}", true},
    {&StatLayout::attack_own_team, StatSpan::kPerGroup, "attack.own_team.{group}"},
    {&StatLayout::attack_other_team, StatSpan::kPerGroup, "attack.other_team.{group}"},
    {&StatLayout::attack_win_pair, StatSpan::kPerGroupGroup, "attack.win.{group}.{group2}"},
    {&StatLayout::attack_loss_pair, StatSpan::kPerGroupGroup, "attack.loss.{group}.{group2}"},
    {&StatLayout::attack_blocked_pair, StatSpan::kPerGroupGroup, "attack.blocked.{group}.{group2}"},
    {&StatLayout::attack_win_own_team, StatSpan::kPerGroup, "attack.win.own_team.{group}"},
    {&StatLayout::attack_win_other_team, StatSpan::kPerGroup, "attack.win.other_team.{group}"},
    {&StatLayout::attack_loss_from_own_team, StatSpan::kPerGroup, "attack.loss.from_own_team.{group}"},
    {&StatLayout::attack_loss_from_other_team, StatSpan::kPerGroup, "attack.loss.from_other_team.{group}"},
};

inline constexpr StatBlock kConverterStatBlocks[] = {
    {&StatLayout::conversions_started, StatSpan::kOne, "conversions.started"},
    {&StatLayout::conversions_completed, StatSpan::kOne, "conversions.completed"},
    {&StatLayout::cooldown_started, StatSpan::kOne, "cooldown.started"},
    {&StatLayout::cooldown_completed, StatSpan::kOne, "cooldown.completed"},
    {&StatLayout::blocked_output_full, StatSpan::kOne, "blocked.output_full"},
    {&StatLayout::blocked_insufficient_input, StatSpan::kOne, "blocked.insufficient_input"},
    {&StatLayout::item_consumed, StatSpan::kPerItem, "{item}.consumed"},
    {&StatLayout::item_produced, StatSpan::kPerItem, "{item}.produced"},
    {&StatLayout::item_added, StatSpan::kPerItem, "{item}.added"},
    {&StatLayout::item_removed, StatSpan::kPerItem, "{item}.removed"},
    {&StatLayout::type_produced, StatSpan::kPerType, "{type}.produced"},  // once per finished conversion
};

// The slots of a block for these counts.
inline std::int32_t stat_span_size(StatSpan span, const EnvParams& p) {
  switch (span) {
    case StatSpan::kOne: return 1;
    case StatSpan::kPerAction: return p.num_actions;
    case StatSpan::kPerItem: return p.num_items;
    case StatSpan::kPerGroup: return p.num_groups;
    case StatSpan::kPerItemGroup: return p.num_items * p.num_groups;
    case StatSpan::kPerType: return p.num_types;
    case StatSpan::kPerGroupGroup: return p.num_groups * p.num_groups;
    case StatSpan::kPerActionGroup: return p.num_actions * p.num_groups;
    case StatSpan::kPerActionGroupGroup: return p.num_actions * p.num_groups * p.num_groups;
    case StatSpan::kPerActionInvalidArg: return p.num_actions * kInvalidArgKeys;
  }
  return 0;
}

}  // namespace metta::engine
