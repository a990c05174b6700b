// The compiled, immutable description of one game that every engine kernel reads: grid and observation
// sizes, the action table, per-type object rules, per-group agent rules, and the stat key layout.
// Built on the host from an EnvConfig (engine/config.h) and copied once to the device. Plain data only.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace metta::engine {

constexpr int kMaxItems = 32;       // inventory items per game
constexpr int kMaxTypes = 64;       // object type ids 0..63
constexpr int kMaxActions = 16;     // action handlers
constexpr int kMaxGroups = 16;      // agent group ids 0..15
constexpr int kMaxSymbols = 128;    // distinct map cell names (empty + objects + agent groups)
constexpr int kMaxObsCells = 256;   // window cells (obs_width * obs_height, both odd, <= 15)
constexpr int kMaxObsMaskWords = kMaxObsCells / 64;
constexpr int kKeptScores = 4;
// What the reference's stats tracker derives from each key's updates (game-rules.md §10): tracked per
// (agent or converter, key) as [updates, first step, last step, min, max of the running value] when the
// batch tracks them (BatchedEnvOptions::track_stat_updates) ...
constexpr int kStatTrack = 5;
// ... and reported as these entries, in this order (stats_keys.h: kDerivedStatNames).
constexpr int kStatDerived = 8;  // .updates .first_step .last_step .rate .avg .activity_rate .min .max      // finished episodes per env whose own scores are kept between readouts
constexpr int kNumFixedFeatures = 12;  // feature ids 0..11; inventory item i is feature 12 + i

enum class ObjectKind : std::uint8_t { kNone = 0, kAgent = 1, kWall = 2, kConverter = 3 };
enum class ActionKind : std::uint8_t {
  kNoop = 0, kMove, kRotate, kPutItems, kGetItems, kAttack, kAttackNearest, kSwap, kChangeColor
};
enum Layer : int { kAgentLayer = 0, kObjectLayer = 1 };
enum Orientation : std::uint8_t { kUp = 0, kDown = 1, kLeft = 2, kRight = 3 };

namespace feature {
enum : std::uint8_t {
  kTypeId = 0, kGroup = 1, kHp = 2, kFrozen = 3, kOrientation = 4, kColor = 5, kConverting = 6, kSwappable = 7,
  kEpisodeCompletion = 8, kLastAction = 9, kLastActionArg = 10, kLastReward = 11, kInventoryBase = 12
};
}

constexpr std::uint8_t kEmptyByte = 0xFF;
constexpr std::uint16_t kNoObject = 0;  // grid value of an empty cell; objects are 1-based

// action.invalid_arg.<type>.<arg> is kept for the kInvalidArgKeys args just above each action type's
// max_arg (a fixed row needs a bound); negative args and args further out count in action.invalid_arg
// alone.
constexpr int kInvalidArgKeys = 4;

// Where each per-agent and per-converter stat lives in its row: offsets laid out from the rows of
// engine/stat_table.h, which also name them (engine/stats_keys.h).
struct StatLayout {
  // agent rows
  std::int32_t action_success, action_failed;          // + action id
  std::int32_t failure_penalty, invalid_type, invalid_arg, frozen_ticks;
  std::int32_t invalid_arg_keyed;                      // + action * kInvalidArgKeys + (arg - max_arg - 1)
  std::int32_t item_gained, item_lost, item_get, item_put;  // + item
  std::int32_t stolen, stolen_from;                    // + item * num_groups + other group
  std::int32_t attack_win, attack_loss, attack_blocked, attack_frozen_target;  // + a group
  std::int32_t swap_type;                              // + type id
  std::int32_t frozen_ticks_group;                     // + own group
  std::int32_t action_agent;                           // + action id: hits on an agent
  std::int32_t action_agent_group;                     // + action * groups + attacker group
  std::int32_t action_agent_group_group;               // + (action * groups + attacker) * groups + target
  std::int32_t attack_own_team, attack_other_team;     // + attacker group
  std::int32_t attack_win_pair, attack_loss_pair, attack_blocked_pair;  // + owner group * groups + other
  std::int32_t attack_win_own_team, attack_win_other_team;              // + attacker group
  std::int32_t attack_loss_from_own_team, attack_loss_from_other_team;  // + target group
  std::int32_t agent_count;
  // converter rows
  std::int32_t conversions_started, conversions_completed, cooldown_started, cooldown_completed;
  std::int32_t blocked_output_full, blocked_insufficient_input;
  std::int32_t item_consumed, item_produced, item_added, item_removed;  // + item
  std::int32_t type_produced;                          // + the converter's type id
  std::int32_t converter_count;
  // per-agent observation counters (game stats, summed over agents at readout)
  static constexpr std::int32_t kTokensWritten = 0, kTokensDropped = 1, kTokensFreeSpace = 2, kObsCount = 3;
};

struct EnvParams {
  // sizes
  std::int32_t height, width;
  std::int32_t num_agents, num_objects, num_converters;  // per env, fixed by the map plan
  std::int32_t num_items, num_types, num_actions, num_groups;
  std::int32_t obs_width, obs_height, num_tokens, num_obs_cells;
  std::int32_t max_steps;  // 0 = unlimited
  std::int32_t max_priority;
  // this task's map plan in the batch's concatenated plan arrays (WorldView::plan_*), set by BatchedEnv
  std::int32_t plan_template_offset, plan_rooms_offset, plan_num_rooms, plan_symbols_offset;

  // actions, indexed by action id
  std::uint8_t action_kind[kMaxActions];
  std::uint8_t action_priority[kMaxActions];
  std::int32_t action_max_arg[kMaxActions];
  std::uint8_t action_consumed[kMaxActions][kMaxItems];
  std::uint8_t action_required[kMaxActions][kMaxItems];
  std::uint8_t action_defense[kMaxActions][kMaxItems];
  std::uint8_t action_has_defense[kMaxActions];

  // object types, indexed by type id
  std::uint8_t type_kind[kMaxTypes];
  std::uint8_t type_swappable[kMaxTypes];
  std::uint8_t recipe_input[kMaxTypes][kMaxItems];
  std::uint8_t recipe_output[kMaxTypes][kMaxItems];
  std::int32_t max_output[kMaxTypes];  // -1 = unlimited
  std::int32_t conversion_ticks[kMaxTypes];
  std::int32_t cooldown[kMaxTypes];
  std::uint8_t initial_items[kMaxTypes];
  std::uint8_t type_color[kMaxTypes];

  // agent groups, indexed by group id
  std::uint8_t max_items[kMaxGroups][kMaxItems];
  float reward[kMaxGroups][kMaxItems];
  float reward_cap[kMaxGroups][kMaxItems];
  float failure_penalty[kMaxGroups];
  std::int16_t freeze_duration[kMaxGroups];
  float group_reward_pct[kMaxGroups];
  std::int32_t group_size[kMaxGroups];  // agents of the group placed on the map

  // map cell symbols (0 = empty): what each symbol places
  std::uint8_t symbol_type[kMaxSymbols];   // object type id
  std::int32_t type_count[kMaxTypes];      // objects of each type on the map (its plan fixes the counts)
  std::uint8_t symbol_group[kMaxSymbols];  // agent group id (agents only)
  std::uint8_t symbol_kind[kMaxSymbols];   // ObjectKind

  // observation window cells in token order (distance shells), and their location bytes
  std::int8_t obs_dr[kMaxObsCells], obs_dc[kMaxObsCells];
  std::uint8_t obs_loc[kMaxObsCells];
  std::int32_t obs_cell_offset[kMaxObsCells];  // dr * width + dc: the cell's offset in the grid
  // Row-occupancy -> token-order bitmask tables (CompiledEnv::obs_order_table): a window row's occupied
  // cells, 4 columns (a nibble) at a time, map to bits of a mask over cells in token order.
  std::int32_t obs_row_nibbles;  // ceil(obs_width / 4)
  std::int32_t obs_mask_words;   // ceil(num_obs_cells / 64)
  std::uint8_t obs_center_loc;

  StatLayout stats;
};

}  // namespace metta::engine
