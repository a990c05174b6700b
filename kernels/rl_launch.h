// Launcher declarations of the RL kernels (compiled per backend from kernels/rl_impl.h). Internal to
// kernels/; the public entry points are in advantage.h, ppo_loss.h, optimizer.h and sampling.h.
#pragma once

#include <cstdint>

#include "kernels/advantage.h"
#include "kernels/dispatch.h"
#include "kernels/experience.h"
#include "kernels/kickstarter.h"
#include "kernels/optimizer.h"
#include "kernels/ppo_loss.h"
#include "kernels/update_step.h"

namespace metta::kernels {

METTA_DECLARE_LAUNCHER(void, launch_advantage, const Context& ctx, AdvantageArgs args, AdvantageParams params)
METTA_DECLARE_LAUNCHER(void, launch_centered_squares, const Context& ctx, const float* x, std::int64_t n,
                       std::int64_t count, const float* sum, float* out)
METTA_DECLARE_LAUNCHER(void, launch_ppo_terms, const Context& ctx, PpoLossInputs in, PpoLossParams params,
                       PpoLossGrads grads, std::int64_t count, const float* sums, float* terms)
METTA_DECLARE_LAUNCHER(void, launch_ppo_stats, const Context& ctx, PpoLossParams params, std::int64_t n,
                       std::int64_t count, const float* sums, float* stats)
METTA_DECLARE_LAUNCHER(void, launch_square_partials, const Context& ctx, const float* x, std::int64_t n,
                       std::int64_t chunk, float* partials)
METTA_DECLARE_LAUNCHER(void, launch_moment_partials, const Context& ctx, const float* x, const float* reference,
                       std::int64_t n, std::int64_t chunk, std::int64_t chunks, float* partials)
METTA_DECLARE_LAUNCHER(void, launch_ema_blend, const Context& ctx, float* dst, const float* src, std::int64_t n,
                       float alpha)
METTA_DECLARE_LAUNCHER(void, launch_sqrt_into, const Context& ctx, const float* in, float* out)
METTA_DECLARE_LAUNCHER(void, launch_advance_counter, const Context& ctx, std::uint32_t* counter, std::uint32_t by)
METTA_DECLARE_LAUNCHER(void, launch_adam, const Context& ctx, float* params, const float* grads, float* m, float* v,
                       std::int64_t n, AdamParams p, float step_size, float bias_correction2_sqrt,
                       const float* device_scalars, const float* grad_norm, float max_norm)
METTA_DECLARE_LAUNCHER(void, launch_select_update_step, const Context& ctx, const UpdateStepScalars* table,
                       std::uint32_t* index, UpdateStepScalars* current)
METTA_DECLARE_LAUNCHER(void, launch_priorities, const Context& ctx, const float* adv, std::int64_t segments,
                       int horizon, float alpha, float* prio)
METTA_DECLARE_LAUNCHER(void, launch_probabilities, const Context& ctx, const float* prio, const float* total,
                       std::int64_t segments, float* prob)
METTA_DECLARE_LAUNCHER(void, launch_sampling_keys, const Context& ctx, const float* prob, std::int64_t segments,
                       std::uint64_t seed, std::uint32_t epoch, std::uint32_t minibatch,
                       const std::uint32_t* device_key, float* keys, std::int32_t* idx)
METTA_DECLARE_LAUNCHER(void, launch_sort_desc, const Context& ctx, const float* keys_in, float* keys_out,
                       const std::int32_t* idx_in, std::int32_t* idx_out, std::int64_t n, std::uint8_t* temp,
                       std::size_t temp_bytes)
METTA_DECLARE_LAUNCHER(void, launch_sample_weights, const Context& ctx, const float* prob, const std::int32_t* idx,
                       std::int64_t k, std::int64_t segments, float beta, const float* device_beta,
                       float* weights)

METTA_DECLARE_LAUNCHER(void, launch_experience_store, const Context& ctx, ExperienceView x, std::int64_t first_row,
                       std::int64_t n, int t, const std::uint8_t* obs, const std::int32_t* actions, const float* logp,
                       const float* values, const float* rewards, const std::uint8_t* terminals,
                       const std::uint8_t* truncations, const float* h, const float* c, int layers, int hidden)
METTA_DECLARE_LAUNCHER(void, launch_experience_gather, const Context& ctx, ExperienceView x, const std::int32_t* rows,
                       std::int64_t k, std::uint8_t* obs, std::int32_t* actions, float* old_logp, float* old_values,
                       float* returns, const float* all_returns, float* h0, float* c0, int layers, int hidden)
METTA_DECLARE_LAUNCHER(void, launch_importance_ratio, const Context& ctx, const float* new_logp, const float* old_logp,
                       std::int64_t n, float* ratio)
METTA_DECLARE_LAUNCHER(void, launch_experience_scatter, const Context& ctx, ExperienceView x, const std::int32_t* rows,
                       std::int64_t k, const float* values, const float* ratio)
METTA_DECLARE_LAUNCHER(void, launch_add_arrays, const Context& ctx, const float* a, const float* b, std::int64_t n,
                       float* out)
METTA_DECLARE_LAUNCHER(void, launch_fill_floats, const Context& ctx, float* out, std::int64_t n, float value)
METTA_DECLARE_LAUNCHER(void, launch_ev_terms, const Context& ctx, const float* returns, const float* values,
                       std::int64_t n, float* terms)
METTA_DECLARE_LAUNCHER(void, launch_experience_stat_terms, const Context& ctx, ExperienceView x, float* terms)
METTA_DECLARE_LAUNCHER(void, launch_accumulate, const Context& ctx, float* stats, const float* add, int n)
METTA_DECLARE_LAUNCHER(void, launch_scale, const Context& ctx, float* x, std::int64_t n, float factor)

METTA_DECLARE_LAUNCHER(void, launch_muon_momentum, const Context& ctx, const float* grads, float* m, float* u,
                       std::int64_t n, float beta1, const float* grad_norm, float max_norm)
METTA_DECLARE_LAUNCHER(void, launch_sum_into, const Context& ctx, const float* x, std::int64_t n, float* out)
METTA_DECLARE_LAUNCHER(void, launch_normalize_into, const Context& ctx, const float* u, std::int64_t rows,
                       std::int64_t cols, bool transpose, const float* sum_sq, float* x)
METTA_DECLARE_LAUNCHER(void, launch_scale_into, const Context& ctx, const float* x, float s, std::int64_t n, float* y)
METTA_DECLARE_LAUNCHER(void, launch_qr_q, const Context& ctx, const float* u, std::int64_t n, float* q)
METTA_DECLARE_LAUNCHER(void, launch_muon_apply, const Context& ctx, float* params, const float* update,
                       std::int64_t rows, std::int64_t cols, bool transposed, float lr, float weight_decay, float scale)

METTA_DECLARE_LAUNCHER(void, launch_kickstart_terms, const Context& ctx, const float* student_logits,
                       const float* teacher_logits, std::int64_t n, int num_logits, const float* student_value,
                       const float* teacher_value, float action_coef, float value_coef, float* dlogits,
                       float* d_value, float* terms)

// CUB temp storage needed to sort n keys (0 on the CPU).
std::size_t cuda_sort_temp_bytes(std::int64_t n);

}  // namespace metta::kernels
