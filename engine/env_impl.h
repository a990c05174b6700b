// Launchers of the engine, written once against parallel_for and compiled twice: by g++ from
// env_cpu.cpp (namespace cpu) and by nvcc from env_cuda.cu (namespace cuda). One pass over envs (reset or
// step, sequential inside an env), then one pass over agents (observations).
#pragma once

#include "engine/observe.h"
#include "engine/step.h"
#include "kernels/parallel.h"
#include "kernels/phase_timer.h"

#ifndef METTA_BACKEND_NS
#error "define METTA_BACKEND_NS before including env_impl.h"
#endif

namespace metta::engine::METTA_BACKEND_NS {

inline void observe_all(const kernels::Context& ctx, const WorldView& w) {
  const std::int64_t n = w.num_envs * w.agents_per_env;
  const std::uint32_t per_env = static_cast<std::uint32_t>(w.agents_per_env);
#if METTA_DEVICE_PATH
  // flat passes (observe.h): a memset, then per (agent, window cell), per agent, per (agent, cell)
  const std::int64_t cells = w.obs_cells;
  const std::uint32_t K = static_cast<std::uint32_t>(cells);
  kernels::fill_bytes(ctx, w.obs, kEmptyByte, static_cast<std::size_t>(n * w.num_tokens * 3));
  // 64-bit index (agents x cells may pass 2^31); agents stay below 2^31 (checked), so 32 bits divide by per_env
  parallel_for(ctx, n * cells, [=] METTA_HD(std::int64_t i) {
    const std::int64_t g = i / K;
    observe_count_cell(w, static_cast<std::uint32_t>(g) / per_env, g, static_cast<int>(i - g * K));
  }, 256);
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t g) { observe_scan_agent(w, static_cast<std::uint32_t>(g) / per_env, g); },
               128);
  parallel_for(ctx, n * cells, [=] METTA_HD(std::int64_t i) {
    const std::int64_t g = i / K;
    observe_write_cell(w, static_cast<std::uint32_t>(g) / per_env, g, static_cast<int>(i - g * K));
  }, 256);
#else
  // 32-bit division: the batch holds fewer than 2^31 agents (checked at construction)
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t g) { observe_agent(w, static_cast<std::uint32_t>(g) / per_env, g); },
               128);
#endif
}

void launch_reset(const kernels::Context& ctx, const WorldView& w) {
  parallel_for(ctx, w.num_envs, [=] METTA_HD(std::int64_t e) { reset_env(w, e); }, 64);
  observe_all(ctx, w);
}

#if METTA_DEVICE_PATH
// What a device reset pass spreads over threads besides envs: map rows, map rooms or converter slots.
enum class ResetPart { kRow, kRoom, kConverter };

METTA_HD inline int reset_part_count(const EnvParams& p, ResetPart part) {
  return part == ResetPart::kRow ? p.height : part == ResetPart::kRoom ? p.plan_num_rooms : p.num_converters;
}

// f(env, k, i) for every part k of every env marked 2 (reset this step), a thread per (env, k) of the
// largest task's count; i = e * that count + k.
template <class F>
inline void for_each_reset_part(const kernels::Context& ctx, const WorldView& w, ResetPart part, F f) {
  const std::int64_t per = part == ResetPart::kRow    ? w.map_rows_stride
                           : part == ResetPart::kRoom ? w.map_rooms_stride
                                                      : w.conv_stride;
  if (per == 0) return;
  parallel_for(ctx, w.num_envs * per, [=] METTA_HD(std::int64_t i) {
    const std::int64_t e = i / per;
    const int k = static_cast<int>(i - e * per);
    if (w.env_needs_reset[e] != 2) return;
    const EnvRef env(w, e);
    if (k < reset_part_count(env.p, part)) f(env, k, i);
  }, 128);
}

// reset_env_map for the envs marked 2, spread over threads: the template per (env, row); each room's
// shuffle per (env, room); each row's object counts per (env, row), summed over the rows above per env,
// then the objects placed per (env, row); the converters started per (env, slot). The same writes as
// reset_env_map's one thread per env, so a resetting env no longer holds up a step for a whole map.
inline void reset_map_passes(const kernels::Context& ctx, const WorldView& w) {
  for_each_reset_part(ctx, w, ResetPart::kRow, [=] METTA_HD(const EnvRef& env, int r, std::int64_t) {
    map_template_row(env, r);
  });
  for_each_reset_part(ctx, w, ResetPart::kRoom, [=] METTA_HD(const EnvRef& env, int room, std::int64_t) {
    map_shuffle_room(env, room, w.env_episode[env.e] - 1);
  });
  std::int32_t* counts = w.map_row_objects;  // [env, row, 3]
  for_each_reset_part(ctx, w, ResetPart::kRow, [=] METTA_HD(const EnvRef& env, int r, std::int64_t i) {
    const RowObjects n = count_row_objects(env, r);
    counts[i * 3] = n.objects;
    counts[i * 3 + 1] = n.agents;
    counts[i * 3 + 2] = n.converters;
  });
  const std::int64_t R = w.map_rows_stride;
  parallel_for(ctx, w.num_envs, [=] METTA_HD(std::int64_t e) {  // counts -> the rows above's (exclusive)
    if (w.env_needs_reset[e] != 2) return;
    const int height = EnvRef(w, e).p.height;
    std::int32_t run[3] = {0, 0, 0};
    for (int r = 0; r < height; ++r)
      for (int k = 0; k < 3; ++k) {
        std::int32_t& c = counts[(e * R + r) * 3 + k];
        const std::int32_t n = c;
        c = run[k];
        run[k] += n;
      }
  }, 64);
  for_each_reset_part(ctx, w, ResetPart::kRow, [=] METTA_HD(const EnvRef& env, int r, std::int64_t i) {
    RowObjects before;
    before.objects = counts[i * 3];
    before.agents = counts[i * 3 + 1];
    before.converters = counts[i * 3 + 2];
    place_row_objects(env, r, before);
  });
  for_each_reset_part(ctx, w, ResetPart::kConverter,
                      [=] METTA_HD(const EnvRef& env, int s, std::int64_t) { converter_maybe_start(env, s); });
}
#endif

// Resets of the envs that finished, in a launch of their own: a reset env is marked 2, so that
// step_pass skips it and clears the mark (per env exactly step_env's "reset instead of stepping").
inline void reset_pass(const kernels::Context& ctx, const WorldView& w) {
#if METTA_DEVICE_PATH
  // reset_env's parts as passes (reset.h): per env, per (env, agent), per (env, converter slot), per env;
  // the later ones act on the envs the first marked 2
  parallel_for(ctx, w.num_envs, [=] METTA_HD(std::int64_t e) {
    if (w.env_needs_reset[e]) {
      reset_env_begin(w, e);
      w.env_needs_reset[e] = 2;
    }
  }, 64);
  const std::uint32_t per_env = static_cast<std::uint32_t>(w.agents_per_env);
  parallel_for(ctx, w.num_envs * w.agents_per_env, [=] METTA_HD(std::int64_t g) {
    const std::uint32_t e = static_cast<std::uint32_t>(g) / per_env;
    if (w.env_needs_reset[e] == 2) reset_agent(EnvRef(w, e), static_cast<int>(g - static_cast<std::int64_t>(e) * per_env));
  }, 128);
  for_each_reset_part(ctx, w, ResetPart::kConverter,
                      [=] METTA_HD(const EnvRef& env, int s, std::int64_t) { reset_converter_stats(env, s); });
  reset_map_passes(ctx, w);
#else
  parallel_for(ctx, w.num_envs, [=] METTA_HD(std::int64_t e) {
    if (w.env_needs_reset[e]) {
      reset_env(w, e);
      w.env_needs_reset[e] = 2;
    }
  }, 64);
#endif
}

// After reset_pass: the per-agent part of the step one thread per agent (envs just reset are skipped),
// then the sequential part one thread per env.
inline void step_pass(const kernels::Context& ctx, const WorldView& w) {
  const std::uint32_t per_env = static_cast<std::uint32_t>(w.agents_per_env);
  parallel_for(ctx, w.num_envs * w.agents_per_env, [=] METTA_HD(std::int64_t g) {
    const std::uint32_t e = static_cast<std::uint32_t>(g) / per_env;
    if (w.env_needs_reset[e] == 0) prepare_agent(EnvRef(w, e), static_cast<int>(g - static_cast<std::int64_t>(e) * per_env));
  }, 128);
  parallel_for(ctx, w.num_envs, [=] METTA_HD(std::int64_t e) {
    if (w.env_needs_reset[e] == 2) w.env_needs_reset[e] = 0;
    else step_env(w, e, /*agents_prepared=*/true);
  }, 64);
}

// The step as three passes (resets, step, observations) with the time of each given to `timer`'s phases
// "resets", "step" and "observations": the device step's shape on both backends (the CPU's usual step
// fuses them per env), the same results.
void launch_step_timed(const kernels::Context& ctx, const WorldView& w, kernels::PhaseTimer& timer) {
  reset_pass(ctx, w);
  timer.end_phase(timer.phase_of("resets"));
  step_pass(ctx, w);
  timer.end_phase(timer.phase_of("step"));
  observe_all(ctx, w);
  timer.end_phase(timer.phase_of("observations"));
}

void launch_step(const kernels::Context& ctx, const WorldView& w) {
#if METTA_DEVICE_PATH
  // GPU: one thread per env for the sequential action pass, then the observation passes. Resets (a whole
  // map generation) get their own launch first, so a warp of stepping envs never waits for one lane's reset.
  reset_pass(ctx, w);
  step_pass(ctx, w);
  observe_all(ctx, w);
#else
  // CPU: observe an env's agents right after stepping it, while its state is still in cache.
  const std::int64_t n = w.agents_per_env;
  parallel_for(ctx, w.num_envs, [=](std::int64_t e) {
    step_env(w, e);
    for (std::int64_t a = 0; a < n; ++a) observe_agent(w, e, e * n + a);
  });
#endif
}

// A uniform random valid action of agent g (type, then an arg within that type's range), keyed by
// (seed, g, counter).
METTA_HD inline void draw_random_action(const EnvParams* p, std::int32_t* actions, std::uint64_t seed,
                                        std::uint32_t counter, std::int64_t g) {
  const kernels::U32x4 r = kernels::rng_draw(seed, static_cast<std::uint32_t>(g), static_cast<std::uint32_t>(g >> 32),
                                             counter, kernels::RngPurpose::kRandomAction, 0);
  const std::uint32_t type = kernels::uniform_below(r.v[0], static_cast<std::uint32_t>(p->num_actions));
  const std::uint32_t arg = kernels::uniform_below(r.v[1], static_cast<std::uint32_t>(p->action_max_arg[type] + 1));
  actions[g * 2] = static_cast<std::int32_t>(type);
  actions[g * 2 + 1] = static_cast<std::int32_t>(arg);
}

void launch_random_actions(const kernels::Context& ctx, const WorldView& w, std::int32_t* actions,
                           std::uint64_t seed, std::uint32_t counter) {
  const EnvParams* p = w.p;
  parallel_for(ctx, w.num_envs * w.agents_per_env,
               [=] METTA_HD(std::int64_t g) { draw_random_action(p, actions, seed, counter, g); });
}

// The same with the counter read from device memory and then advanced by one, so that a captured
// sequence of steps (kernels/captured_work.h) draws new actions at every replay.
void launch_random_actions_counted(const kernels::Context& ctx, const WorldView& w, std::int32_t* actions,
                                   std::uint64_t seed, std::uint32_t* counter) {
  const EnvParams* p = w.p;
  parallel_for(ctx, w.num_envs * w.agents_per_env,
               [=] METTA_HD(std::int64_t g) { draw_random_action(p, actions, seed, counter[0], g); });
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) { counter[0] += 1; });
}

}  // namespace metta::engine::METTA_BACKEND_NS
