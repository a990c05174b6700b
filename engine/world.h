// The world of a whole batch as structure-of-arrays in device memory, and the trivially copyable view
// the kernels take by value. Env e, agent a has global agent index g = e * num_agents + a; object id k
// (1-based, 0 = empty) of env e is at index e * num_objects + k - 1; converter slot s of env e at
// e * num_converters + s. A cell holds at most one object in this game (a move needs an empty cell, a
// swap exchanges two), so the grid stores one id per cell; an object's layer (agent or object layer of
// the reference) follows from its kind.
#pragma once

#include <cstdint>

#include "engine/params.h"
#include "kernels/memory.h"

namespace metta::engine {

struct WorldView {
  const EnvParams* p;  // device copy of the game description
  std::int64_t num_envs;
  std::int32_t agents_per_env;  // host-readable copy of p->num_agents
  std::uint64_t seed;
  std::uint8_t randomize_first_episode;  // training quirk: first episode's max_steps ~ U[1, max_steps]

  // map plan (device): template symbols [H*W], room list, room symbol lists
  const std::uint8_t* plan_template;
  const std::int32_t* plan_rooms;  // per room: r0, c0, h, w, symbol_offset, symbol_count
  std::int32_t plan_num_rooms;
  const std::uint8_t* plan_symbols;
  const std::uint64_t* obs_order_table;  // see CompiledEnv::obs_order_table

  // grid and objects
  std::uint16_t* grid;         // [E, H*W] object id per cell, 0 = empty
  std::uint8_t* cell_symbol;   // [E, H*W] scratch for map generation
  std::uint8_t* obj_type;      // [E, O]
  std::uint16_t* obj_r;        // [E, O]
  std::uint16_t* obj_c;        // [E, O]
  std::uint16_t* obj_slot;     // [E, O] agent index or converter slot within the env

  // converters
  std::uint16_t* conv_obj;     // [E, C] object id
  std::uint8_t* conv_inv;      // [E, C, I]
  std::uint8_t* conv_flags;    // [E, C] bit 0 converting, bit 1 cooling down
  std::int32_t* conv_event;    // [E, C] step of the pending event, -1 = none

  // agents
  std::uint16_t* agent_obj;    // [E, N] object id
  std::uint8_t* agent_group;   // [E, N]
  std::uint8_t* agent_orient;  // [E, N]
  std::int16_t* agent_frozen;  // [E, N]
  std::uint8_t* agent_color;   // [E, N]
  std::uint8_t* agent_inv;     // [E, N, I]
  float* agent_step_reward;    // [E, N] this step's reward before group sharing
  float* agent_episode_reward; // [E, N]
  std::int32_t* agent_last_action;  // [E, N, 2] submitted (type, arg)
  std::uint8_t* agent_skip;    // [E, N] scratch: invalid type this step
  std::uint16_t* agent_order;  // [E, N] scratch: this step's shuffled order

  // envs
  std::int32_t* env_step;      // [E]
  std::int32_t* env_max_steps; // [E] this episode's limit
  std::uint32_t* env_episode;  // [E] episodes started so far (RNG counter)
  std::uint8_t* env_needs_reset;  // [E]

  // statistics (current episode)
  float* agent_stats;          // [E, N, agent_count]
  float* conv_stats;           // [E, C, converter_count]
  float* obs_stats;            // [E, N, kObsCount]
  // finished episodes, key-major so one segmented sum gives per-key totals over envs
  float* done_agent_stats;     // [agent_count, E] summed over agents
  float* done_conv_stats;      // [converter_count, E] summed over converters
  float* done_obs_stats;       // [kObsCount, E]
  float* done_episode;         // [2, E]: episodes completed, sum of per-agent mean episode reward

  // policy-facing buffers
  const std::int32_t* actions; // [E, N, 2]
  std::uint8_t* obs;           // [E, N, T, 3]
  float* rewards;              // [E, N] after group sharing
  std::uint8_t* terminals;     // [E, N]
  std::uint8_t* truncations;   // [E, N]
  std::uint8_t* action_success;// [E, N]
};

}  // namespace metta::engine
