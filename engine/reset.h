// Episode reset of one env (game-rules.md §7–8), run on the device: fold the finished episode's stats
// into the completed-episode accumulators, generate a fresh map from the plan (template + per-room
// uniform shuffles drawn from the counter RNG keyed by (seed, env, episode, room)), create the objects in
// row-major order (ids 1, 2, ...; agent index = scan order), start the converters at step 0, and clear
// the per-episode state. The observation of the new episode is written by the observe pass.
#pragma once

#include "engine/converter.h"
#include "kernels/rng.h"

namespace metta::engine {

// Caches one Philox block; words are taken in order of `index` (4 per block).
struct RngStream {
  std::uint64_t seed;
  std::uint32_t a, b, c;
  kernels::RngPurpose purpose;
  std::uint32_t block = 0xFFFFFFFFu;
  kernels::U32x4 words{};
  METTA_HD std::uint32_t word(std::uint32_t index) {
    if ((index >> 2) != block) {
      block = index >> 2;
      words = kernels::rng_draw(seed, a, b, c, purpose, block);
    }
    return words.v[index & 3];
  }
};

METTA_HD inline void accumulate_finished_episode(const EnvRef& env) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const std::int64_t E = w.num_envs, e = env.e;
  const int N = p.num_agents;
  const int KA = p.stats.agent_count, KC = p.stats.converter_count;
  const float now = static_cast<float>(env.now());
  for (int k = 0; k < KA; ++k) {
    float sum = 0.0f;
    for (int a = 0; a < N; ++a) {
      const float v = *env.agent_stat(a, k);
      sum += v;
      if (w.agent_stat_track)
        add_derived(w.agent_stat_track + (env.agent(a) * KA + k) * kStatTrack, v, now,
                    w.done_agent_derived + static_cast<std::int64_t>(k) * E + e, static_cast<std::int64_t>(KA) * E);
    }
    w.done_agent_stats[k * E + e] += sum;
  }
  for (int k = 0; k < KC; ++k) {
    float sum = 0.0f;
    for (int s = 0; s < p.num_converters; ++s) {
      const float v = *env.conv_stat(s, k);
      sum += v;
      if (w.conv_stat_track)
        add_derived(w.conv_stat_track + (env.conv(s) * KC + k) * kStatTrack, v, now,
                    w.done_conv_derived + static_cast<std::int64_t>(k) * E + e, static_cast<std::int64_t>(KC) * E);
    }
    w.done_conv_stats[k * E + e] += sum;
  }
  for (int k = 0; k < StatLayout::kObsCount; ++k) {
    float sum = 0.0f;
    for (int a = 0; a < N; ++a) sum += w.obs_stats[env.agent(a) * StatLayout::kObsCount + k];
    w.done_obs_stats[k * E + e] += sum;
    if (w.obs_stat_first) {  // stat tracking on
      float t[kStatTrack];
      obs_stat_track(w.obs_stats + env.agent(0) * StatLayout::kObsCount, w.obs_stat_first + e * StatLayout::kObsCount,
                     k, N, p.num_tokens, now, sum, t);
      add_derived(t, sum, now, w.done_game_derived + static_cast<std::int64_t>(k) * E + e,
                  static_cast<std::int64_t>(StatLayout::kObsCount) * E);
    }
  }
  // objects.<type name>: walls and converters (type 0 is the agent), one update each at the episode's
  // first step (step 0)
  for (int type = 1; type < p.num_types; ++type) {
    const float count = static_cast<float>(p.type_count[type]);
    if (count == 0.0f) continue;
    w.done_objects[type * E + e] += count;
    if (w.done_objects_derived) {
      float t[kStatTrack];
      object_count_track(count, t);
      add_derived(t, count, now, w.done_objects_derived + static_cast<std::int64_t>(type) * E + e,
                  static_cast<std::int64_t>(p.num_types) * E);
    }
  }
  float reward = 0.0f;
  for (int a = 0; a < N; ++a) reward += w.agent_episode_reward[env.agent(a)];
  const float score = N > 0 ? reward / static_cast<float>(N) : 0.0f;
  w.done_episode[e] += 1.0f;
  w.done_episode[E + e] += score;
  w.done_length[e] += now;  // the episode's length in steps
  const std::int64_t task = w.env_task[e];
  w.done_task[task * E + e] += 1.0f;
  w.done_task[(w.num_tasks + task) * E + e] += score;
  const std::uint32_t finished = w.done_score_count[e];
  if (finished < static_cast<std::uint32_t>(kKeptScores)) {
    w.done_score[e * kKeptScores + finished] = score;
    w.done_score_task[e * kKeptScores + finished] = static_cast<std::uint16_t>(task);
  }
  w.done_score_count[e] = finished + 1;
}

// The task of env e's next episode, drawn from the task probabilities (one uniform per reset).
METTA_HD inline std::uint16_t draw_task(const WorldView& w, std::int64_t e, std::uint32_t episode) {
  const std::int64_t key = w.env_key_base + e;
  const kernels::U32x4 r = kernels::rng_draw(w.seed, static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32),
                                             episode, kernels::RngPurpose::kTaskDraw, 0);
  const float u = static_cast<float>(r.v[0] >> 8) * (1.0f / 16777216.0f);  // [0, 1), exact in float
  int t = 0;
  while (t + 1 < w.num_tasks && !(u < w.task_cdf[t])) ++t;
  return static_cast<std::uint16_t>(t);
}

// Row r of the map's template into its symbols.
METTA_HD inline void map_template_row(const EnvRef& env, int r) {
  const int W = env.p.width;
  std::uint8_t* sym = env.w.cell_symbol + env.cell0 + static_cast<std::int64_t>(r) * W;
  const std::uint8_t* plan = env.w.plan_template + env.p.plan_template_offset + static_cast<std::int64_t>(r) * W;
  for (int c = 0; c < W; ++c) sym[c] = plan[c];
}

// Room `room`'s symbols into its first cells and empty ones after, then shuffled (Fisher-Yates over the
// room's cells, keyed by (seed, env, episode, room)). Rooms share no cell (checked when the batch is
// made), so they may be shuffled in any order.
METTA_HD inline void map_shuffle_room(const EnvRef& env, int room, std::uint32_t episode) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const int W = p.width;
  std::uint8_t* sym = w.cell_symbol + env.cell0;
  const std::uint8_t* symbols = w.plan_symbols + p.plan_symbols_offset;
  const std::int32_t* rd = w.plan_rooms + p.plan_rooms_offset + room * 6;
  const int r0 = rd[0], c0 = rd[1], rw = rd[3], off = rd[4], count = rd[5];
  const int n = rd[2] * rw;
  for (int i = 0; i < n; ++i) sym[(r0 + i / rw) * W + c0 + i % rw] = i < count ? symbols[off + i] : 0;
  RngStream rng{w.seed, static_cast<std::uint32_t>(w.env_key_base + env.e), episode, static_cast<std::uint32_t>(room),
                kernels::RngPurpose::kMapLayout};
  for (int i = n - 1; i > 0; --i) {
    const int j = static_cast<int>(
        kernels::uniform_below(rng.word(static_cast<std::uint32_t>(n - 1 - i)), static_cast<std::uint32_t>(i + 1)));
    std::uint8_t& x = sym[(r0 + i / rw) * W + c0 + i % rw];
    std::uint8_t& y = sym[(r0 + j / rw) * W + c0 + j % rw];
    const std::uint8_t t = x;
    x = y;
    y = t;
  }
}

METTA_HD inline void generate_map(const EnvRef& env, std::uint32_t episode) {
  for (int r = 0; r < env.p.height; ++r) map_template_row(env, r);
  for (int room = 0; room < env.p.plan_num_rooms; ++room) map_shuffle_room(env, room, episode);
}

// The objects of map rows: how many, and of them agents and converters.
struct RowObjects {
  std::int32_t objects = 0, agents = 0, converters = 0;
};

METTA_HD inline RowObjects count_row_objects(const EnvRef& env, int r) {
  const EnvParams& p = env.p;
  const std::uint8_t* sym = env.w.cell_symbol + env.cell0 + static_cast<std::int64_t>(r) * p.width;
  RowObjects n;
  for (int c = 0; c < p.width; ++c) {
    const std::uint8_t s = sym[c];
    if (s == 0) continue;
    ++n.objects;
    const auto kind = static_cast<ObjectKind>(p.symbol_kind[s]);
    if (kind == ObjectKind::kAgent) ++n.agents;
    else if (kind == ObjectKind::kConverter) ++n.converters;
  }
  return n;
}

// Creates row r's objects, numbered on from `before` (the objects, agents and converters of the rows
// above): ids 1, 2, ... and agent and converter slots in row-major scan order, as one scan of the whole
// map numbers them. Returns the counts through this row.
METTA_HD inline RowObjects place_row_objects(const EnvRef& env, int r, RowObjects before) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const std::uint8_t* sym = w.cell_symbol + env.cell0 + static_cast<std::int64_t>(r) * p.width;
  std::uint16_t next_id = static_cast<std::uint16_t>(before.objects + 1);
  int next_agent = before.agents, next_conv = before.converters;
  for (int c = 0; c < p.width; ++c) {
    std::uint16_t* cell = env.cell(r, c);
    *cell = kNoObject;
    const std::uint8_t s = sym[c];
    if (s == 0) continue;
    const std::uint16_t id = next_id++;
    const std::int64_t o = env.obj(id);
    const std::uint8_t type = p.symbol_type[s];
    w.obj_type[o] = type;
    w.obj_r[o] = static_cast<std::uint16_t>(r);
    w.obj_c[o] = static_cast<std::uint16_t>(c);
    const auto kind = static_cast<ObjectKind>(p.symbol_kind[s]);
    if (kind == ObjectKind::kAgent) {
      const int a = next_agent++;
      const std::int64_t ga = env.agent(a);
      w.obj_slot[o] = static_cast<std::uint16_t>(a);
      w.agent_obj[ga] = id;
      w.agent_group[ga] = p.symbol_group[s];
    } else if (kind == ObjectKind::kConverter) {
      const int slot = next_conv++;
      const std::int64_t cs = env.conv(slot);
      w.obj_slot[o] = static_cast<std::uint16_t>(slot);
      w.conv_obj[cs] = id;
      w.conv_flags[cs] = 0;
      w.conv_event[cs] = -1;
      std::uint8_t* inv = env.conv_inv(slot);
      for (int i = 0; i < p.num_items; ++i) inv[i] = p.recipe_output[type][i] ? p.initial_items[type] : 0;
    } else {
      w.obj_slot[o] = 0;
    }
    *cell = id;
  }
  RowObjects through;
  through.objects = next_id - 1;
  through.agents = next_agent;
  through.converters = next_conv;
  return through;
}

METTA_HD inline void place_objects(const EnvRef& env) {
  RowObjects before;
  for (int r = 0; r < env.p.height; ++r) before = place_row_objects(env, r, before);
}

// A reset in four parts, which reset_env runs in order for one env; the device path runs each part
// as a pass of its own (env_impl.h: reset_pass), the per-agent and per-converter ones a thread each,
// so a resetting env's thread does not clear every stat row alone, and the map's in passes per row and
// per room (map_template_row, map_shuffle_room, count_row_objects, place_row_objects). The parts touch
// disjoint state except in this order: the finished episode is read (begin) before its rows are cleared, and the
// converter rows are cleared before the new map starts its converters (which may count stats).

// The finished episode's statistics, the next task and episode counters.
METTA_HD inline void reset_env_begin(const WorldView& w, std::int64_t e) {
  if (w.env_needs_reset[e]) accumulate_finished_episode(EnvRef(w, e));  // under the finished episode's task
  const std::uint32_t episode = w.env_episode[e];
  if (w.num_tasks > 1) w.env_task[e] = draw_task(w, e, episode);
  EnvRef env(w, e);
  const EnvParams& p = env.p;
  w.env_episode[e] = episode + 1;
  w.env_step[e] = 0;
  w.env_needs_reset[e] = 0;
  std::int32_t max_steps = p.max_steps;
  if (w.randomize_first_episode && episode == 0 && max_steps > 0) {
    const kernels::U32x4 r = kernels::rng_draw(w.seed, static_cast<std::uint32_t>(w.env_key_base + e), 0, 0,
                                               kernels::RngPurpose::kEpisodeLength, 0);
    max_steps = 1 + static_cast<std::int32_t>(kernels::uniform_below(r.v[0], static_cast<std::uint32_t>(max_steps)));
  }
  w.env_max_steps[e] = max_steps;
}

// Agent a's state and statistics rows, cleared.
METTA_HD inline void reset_agent(const EnvRef& env, int a) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const std::int64_t ga = env.agent(a);
  w.agent_orient[ga] = kUp;
  w.agent_frozen[ga] = 0;
  w.agent_color[ga] = 0;
  w.agent_step_reward[ga] = 0.0f;
  w.agent_episode_reward[ga] = 0.0f;
  w.agent_last_action[ga * 2] = 0;
  w.agent_last_action[ga * 2 + 1] = 0;
  w.rewards[ga] = 0.0f;
  w.terminals[ga] = 0;
  w.truncations[ga] = 0;
  w.action_success[ga] = 0;
  std::uint8_t* inv = env.agent_inv(a);
  for (int i = 0; i < p.num_items; ++i) inv[i] = 0;
  float* st = env.agent_stat(a, 0);
  for (int k = 0; k < p.stats.agent_count; ++k) st[k] = 0.0f;
  if (w.agent_stat_track) {
    float* track = w.agent_stat_track + ga * p.stats.agent_count * kStatTrack;
    for (int k = 0; k < p.stats.agent_count * kStatTrack; ++k) track[k] = 0.0f;
  }
  float* os = w.obs_stats + ga * StatLayout::kObsCount;
  for (int k = 0; k < StatLayout::kObsCount; ++k) os[k] = 0.0f;
}

// Converter slot s's statistics rows, cleared.
METTA_HD inline void reset_converter_stats(const EnvRef& env, int s) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  float* st = env.conv_stat(s, 0);
  for (int k = 0; k < p.stats.converter_count; ++k) st[k] = 0.0f;
  if (w.conv_stat_track) {
    float* track = w.conv_stat_track + env.conv(s) * p.stats.converter_count * kStatTrack;
    for (int k = 0; k < p.stats.converter_count * kStatTrack; ++k) track[k] = 0.0f;
  }
}

// The new episode's map (after reset_env_begin: its episode counter is already the next one's).
METTA_HD inline void reset_env_map(const WorldView& w, std::int64_t e) {
  EnvRef env(w, e);
  generate_map(env, w.env_episode[e] - 1);
  place_objects(env);
  for (int s = 0; s < env.p.num_converters; ++s) converter_maybe_start(env, s);
}

METTA_HD inline void reset_env(const WorldView& w, std::int64_t e) {
  reset_env_begin(w, e);
  EnvRef env(w, e);
  for (int a = 0; a < env.p.num_agents; ++a) reset_agent(env, a);
  for (int s = 0; s < env.p.num_converters; ++s) reset_converter_stats(env, s);
  reset_env_map(w, e);
}

}  // namespace metta::engine
