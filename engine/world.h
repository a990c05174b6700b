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

// Every device buffer of the batch, listed once: (element type, name, element count in E envs, N agents,
// O objects, C converters, HW cells (O, C and HW: the largest task's), I items, T tokens per agent, S the stat layout, K tasks). BatchedEnv declares,
// allocates, zeroes, saves and hashes from these lists, and WorldView points at each, so a new buffer is
// one line here. World state first (hashed and saved: it decides the future), then scratch, statistics and
// outputs, then the policy's input (read-only in the step).
#define METTA_WORLD_STATE_BUFFERS(X)                                                       \
  /* grid and objects */                                                                   \
  X(std::uint16_t, grid, E * HW)              /* object id per cell, 0 = empty */          \
  X(std::uint8_t, obj_type, E * O)                                                         \
  X(std::uint16_t, obj_r, E * O)                                                           \
  X(std::uint16_t, obj_c, E * O)                                                           \
  X(std::uint16_t, obj_slot, E * O)           /* agent index or converter slot in the env */ \
  /* converters */                                                                         \
  X(std::uint16_t, conv_obj, E * C)           /* object id */                              \
  X(std::uint8_t, conv_inv, E * C * I)                                                     \
  X(std::uint8_t, conv_flags, E * C)          /* bit 0 converting, bit 1 cooling down */   \
  X(std::int32_t, conv_event, E * C)          /* step of the pending event, -1 = none */   \
  /* agents */                                                                             \
  X(std::uint16_t, agent_obj, E * N)          /* object id */                              \
  X(std::uint8_t, agent_group, E * N)                                                      \
  X(std::uint8_t, agent_orient, E * N)                                                     \
  X(std::int16_t, agent_frozen, E * N)                                                     \
  X(std::uint8_t, agent_color, E * N)                                                      \
  X(std::uint8_t, agent_inv, E * N * I)                                                    \
  X(float, agent_step_reward, E * N)          /* this step's reward before group sharing */ \
  X(float, agent_episode_reward, E * N)                                                    \
  X(std::int32_t, agent_last_action, E * N * 2) /* submitted (type, arg) */                \
  /* envs */                                                                               \
  X(std::int32_t, env_step, E)                                                             \
  X(std::int32_t, env_max_steps, E)           /* this episode's limit */                   \
  X(std::uint32_t, env_episode, E)            /* episodes started so far (RNG counter) */  \
  X(std::uint8_t, env_needs_reset, E)                                                      \
  X(std::uint16_t, env_task, E)               /* this episode's task (0 with one task) */

#define METTA_OTHER_BUFFERS(X)                                                                      \
  X(std::uint8_t, cell_symbol, E * HW)        /* scratch for map generation */                      \
  X(std::uint8_t, agent_skip, E * N)          /* scratch: invalid type this step */                 \
  X(std::uint16_t, agent_order, E * N)        /* scratch: this step's shuffled order */             \
  /* statistics of the current episode */                                                           \
  X(float, agent_stats, E * N * S.agent_count)                                                      \
  X(float, conv_stats, E * C * S.converter_count)                                                   \
  /* per (agent or converter, key) update tracking (kStatTrack; TS = kStatTrack, or 0 when off) */    \
  X(float, agent_stat_track, E * N * S.agent_count * TS)                                            \
  X(float, conv_stat_track, E * C * S.converter_count * TS)                                         \
  X(float, obs_stats, E * N * StatLayout::kObsCount)                                                \
  X(float, obs_stat_first, E * StatLayout::kObsCount * (TS ? 1 : 0)) /* tracking: first agent's first */ \
  /* finished episodes, key-major so one segmented sum gives per-key totals over envs */            \
  X(float, done_agent_stats, S.agent_count * E)   /* summed over agents */                          \
  X(float, done_conv_stats, S.converter_count * E) /* summed over converters */                     \
  X(float, done_obs_stats, StatLayout::kObsCount * E)                                               \
  /* the derived entries of every key, summed over the agents (converters) that updated it */       \
  X(float, done_agent_derived, kStatDerived * S.agent_count * E)                                    \
  X(float, done_conv_derived, kStatDerived * S.converter_count * E)                                 \
  X(float, done_game_derived, kStatDerived * StatLayout::kObsCount * E)  /* of the token keys */   \
  X(float, done_objects, p.num_types * E)  /* objects.<type> of walls and converters, per type */    \
  X(float, done_objects_derived, kStatDerived * p.num_types * E * (TS ? 1 : 0))                       \
  X(float, done_episode, 2 * E)  /* episodes completed, sum of per-agent mean episode reward */     \
  X(float, done_length, E)       /* sum of the finished episodes' lengths in steps */               \
  X(float, done_task, 2 * K * E) /* the same per task K: [episodes of each task, reward of each] */  \
  /* each finished episode's own score and task, the first kKeptScores per env since the readout */  \
  X(float, done_score, E * kKeptScores)                                                             \
  X(std::uint16_t, done_score_task, E * kKeptScores)                                                \
  X(std::uint32_t, done_score_count, E)  /* episodes finished since the readout, kept or not */      \
  /* policy-facing outputs */                                                                       \
  X(std::uint8_t, obs, E * N * T * 3)                                                               \
  X(float, rewards, E * N)                    /* after group sharing */                             \
  X(std::uint8_t, terminals, E * N)                                                                 \
  X(std::uint8_t, truncations, E * N)                                                               \
  X(std::uint8_t, action_success, E * N)

#define METTA_INPUT_BUFFERS(X) X(std::int32_t, actions, E * N * 2) /* (type, arg) per agent */

// Scratch of the device-shaped observation writer (observe.h), WC = window cells: allocated and viewed,
// never saved, hashed or zeroed (every step writes it before reading it).
#define METTA_SCRATCH_BUFFERS(X)                                                                          \
  X(std::uint16_t, obs_cell_tokens, E * N * WC) /* per (agent, window cell): token count, then offset */ \
  X(std::int32_t, map_row_objects, E * MR * 3)  /* device resets, per (env, map row): objects, agents,  \
                                                   converters; then the rows before's (reset.h) */

struct WorldView {
  // Device copies of the game description, one per task (curricula): every task shares the first's
  // layout (sizes, map plan, types, stats), and differs in its rules' numbers (rewards, caps, recipes,
  // cooldowns, max_steps...). An env reads p[env_task[e]].
  const EnvParams* p;
  std::int32_t num_tasks;
  const float* task_cdf;  // [num_tasks] cumulative probabilities of the task drawn at each reset
  std::int64_t num_envs;
  std::int32_t agents_per_env;  // host-readable copy of p->num_agents
  std::int32_t obs_cells, num_tokens;  // host-readable copies of p->num_obs_cells and p->num_tokens
  std::uint64_t seed;
  std::int64_t env_key_base;  // env e's RNG key is env_key_base + e (BatchedEnvOptions)
  std::uint8_t randomize_first_episode;  // training quirk: first episode's max_steps ~ U[1, max_steps]

  // Per env slices of the grid, objects and converters: the largest task's sizes, so tasks of other map
  // sizes and object counts share the batch (an env uses the first cells and slots of its slice).
  std::int64_t cell_stride, obj_stride, conv_stride;
  // host-readable: the largest task's map rows and rooms (the device resets' passes per row and room)
  std::int32_t map_rows_stride, map_rooms_stride;
  // map plans (device), every task's concatenated (EnvParams::plan_*_offset): template symbols [H*W],
  // room list, room symbol lists
  const std::uint8_t* plan_template;
  const std::int32_t* plan_rooms;  // per room: r0, c0, h, w, symbol_offset, symbol_count
  const std::uint8_t* plan_symbols;
  const std::uint64_t* obs_order_table;  // see CompiledEnv::obs_order_table

  // one pointer per buffer of the lists above
#define METTA_WORLD_VIEW_FIELD(type, name, count) type* name;
#define METTA_WORLD_VIEW_INPUT(type, name, count) const type* name;
  METTA_WORLD_STATE_BUFFERS(METTA_WORLD_VIEW_FIELD)
  METTA_OTHER_BUFFERS(METTA_WORLD_VIEW_FIELD)
  METTA_INPUT_BUFFERS(METTA_WORLD_VIEW_INPUT)
  METTA_SCRATCH_BUFFERS(METTA_WORLD_VIEW_FIELD)
#undef METTA_WORLD_VIEW_FIELD
#undef METTA_WORLD_VIEW_INPUT
};

}  // namespace metta::engine
