// RL kernel launchers written once against parallel_for; compiled by g++ (rl_cpu.cpp, namespace cpu)
// and nvcc (rl_cuda.cu, namespace cuda). Sorting is backend-specific and lives in those files.
#pragma once

#include <cmath>

#include "kernels/parallel.h"
#include "kernels/rl_launch.h"
#include "kernels/rng.h"

#ifndef METTA_BACKEND_NS
#error "define METTA_BACKEND_NS before including rl_impl.h"
#endif

namespace metta::kernels::METTA_BACKEND_NS {

void launch_advantage(const Context& ctx, AdvantageArgs args, AdvantageParams params) {
  parallel_for(ctx, args.n_rows, [=] METTA_HD(std::int64_t i) { advantage_row(args, params, i); });
}

// out[i] = (x[i] - sum / n)^2
void launch_centered_squares(const Context& ctx, const float* x, std::int64_t n, const float* sum, float* out) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float d = x[i] - sum[0] / static_cast<float>(n);
    out[i] = d * d;
  });
}

// Gradient of max(a, b) with torch's tie rule: each side gets half when equal.
METTA_HD inline void max_grad(float a, float b, float& da, float& db) {
  da = a > b ? 1.0f : (a == b ? 0.5f : 0.0f);
  db = 1.0f - da;
}

// sums[0] = sum(adv), sums[1] = sum((adv - mean)^2); terms rows: pg, v, entropy, kl, clipfrac, ratio, logp.
void launch_ppo_terms(const Context& ctx, PpoLossInputs in, PpoLossParams pp, PpoLossGrads g, const float* sums,
                      float* terms) {
  const std::int64_t n = in.n;
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float inv_n = 1.0f / static_cast<float>(n);
    float a = in.adv[i];
    if (pp.norm_adv) {
      const float mean = sums[0] * inv_n;
      const float var = n > 1 ? sums[1] / static_cast<float>(n - 1) : 0.0f;
      a = (a - mean) / (sqrtf(var) + 1e-8f);
    }
    if (in.row_weight) a *= in.row_weight[i / in.horizon];
    const float logratio = in.new_logp[i] - in.old_logp[i];
    const float ratio = expf(logratio);
    const float lo = 1.0f - pp.clip_coef, hi = 1.0f + pp.clip_coef;
    const float clipped = ratio < lo ? lo : (ratio > hi ? hi : ratio);
    const float pg1 = -a * ratio, pg2 = -a * clipped;
    float d1, d2;
    max_grad(pg1, pg2, d1, d2);
    const float dclip = (ratio >= lo && ratio <= hi) ? 1.0f : 0.0f;
    const float dpg_dratio = d1 * -a + d2 * -a * dclip;
    g.d_new_logp[i] = inv_n * dpg_dratio * ratio;

    const float V = in.new_value[i], R = in.returns[i], V0 = in.old_value[i];
    float v_term, dv;
    if (pp.clip_vloss) {
      const float dvc = V - V0;
      const float vclip = V0 + (dvc < -pp.vf_clip_coef ? -pp.vf_clip_coef : (dvc > pp.vf_clip_coef ? pp.vf_clip_coef : dvc));
      const float u = (V - R) * (V - R), c = (vclip - R) * (vclip - R);
      float du, dc;
      max_grad(u, c, du, dc);
      const float inside = (dvc >= -pp.vf_clip_coef && dvc <= pp.vf_clip_coef) ? 1.0f : 0.0f;
      v_term = 0.5f * (u > c ? u : c);
      dv = du * (V - R) + dc * (vclip - R) * inside;
    } else {
      v_term = 0.5f * (V - R) * (V - R);
      dv = V - R;
    }
    g.d_new_value[i] = pp.vf_coef * inv_n * dv;
    g.d_entropy[i] = -pp.ent_coef * inv_n;

    terms[0 * n + i] = pg1 > pg2 ? pg1 : pg2;
    terms[1 * n + i] = v_term;
    terms[2 * n + i] = in.entropy[i];
    terms[3 * n + i] = (ratio - 1.0f) - logratio;
    terms[4 * n + i] = fabsf(ratio - 1.0f) > pp.clip_coef ? 1.0f : 0.0f;
    terms[5 * n + i] = ratio;
    terms[6 * n + i] = in.new_logp[i];
  });
}

// sums: [0] adv, [1] centred squares, [2..8] the term sums.
void launch_ppo_stats(const Context& ctx, PpoLossParams pp, std::int64_t n, const float* sums, float* stats) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) {
    const float inv_n = 1.0f / static_cast<float>(n);
    stats[kPpoPolicyLoss] = sums[2] * inv_n;
    stats[kPpoValueLoss] = sums[3] * inv_n;
    stats[kPpoEntropy] = sums[4] * inv_n;
    stats[kPpoApproxKl] = sums[5] * inv_n;
    stats[kPpoClipFrac] = sums[6] * inv_n;
    stats[kPpoImportance] = sums[7] * inv_n;
    stats[kPpoLogpMean] = sums[8] * inv_n;
    stats[kPpoAdvMean] = sums[0] * inv_n;
    stats[kPpoAdvStd] = n > 1 ? sqrtf(sums[1] / static_cast<float>(n - 1)) : 0.0f;
    stats[kPpoLoss] = stats[kPpoPolicyLoss] - pp.ent_coef * stats[kPpoEntropy] + pp.vf_coef * stats[kPpoValueLoss];
  });
}

void launch_square_partials(const Context& ctx, const float* x, std::int64_t n, std::int64_t chunk, float* partials) {
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  parallel_for(ctx, chunks, [=] METTA_HD(std::int64_t c) {
    const std::int64_t end = (c + 1) * chunk < n ? (c + 1) * chunk : n;
    float acc = 0.0f;
    for (std::int64_t i = c * chunk; i < end; ++i) acc += x[i] * x[i];
    partials[c] = acc;
  });
}

void launch_sqrt_into(const Context& ctx, const float* in, float* out) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) { out[0] = sqrtf(in[0]); });
}

void launch_adam(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
                 AdamParams p, float step_size, float bias_correction2_sqrt, const float* grad_norm, float max_norm) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    float scale = 1.0f;
    if (grad_norm) {
      const float coef = max_norm / (grad_norm[0] + 1e-6f);
      scale = coef < 1.0f ? coef : 1.0f;
    }
    float g = grads[i] * scale;
    if (p.weight_decay != 0.0f) g += p.weight_decay * params[i];
    const float mi = p.beta1 * m[i] + (1.0f - p.beta1) * g;
    const float vi = p.beta2 * v[i] + (1.0f - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= step_size * mi / (sqrtf(vi) / bias_correction2_sqrt + p.eps);
  });
}

void launch_priorities(const Context& ctx, const float* adv, std::int64_t segments, int horizon, float alpha,
                       float* prio) {
  parallel_for(ctx, segments, [=] METTA_HD(std::int64_t s) {
    float acc = 0.0f;
    for (int t = 0; t < horizon; ++t) acc += fabsf(adv[s * horizon + t]);
    float p = powf(acc, alpha);
    if (!(p - p == 0.0f)) p = 0.0f;  // NaN or inf
    prio[s] = p;
  });
}

void launch_probabilities(const Context& ctx, const float* prio, const float* total, std::int64_t segments,
                          float* prob) {
  parallel_for(ctx, segments, [=] METTA_HD(std::int64_t s) { prob[s] = (prio[s] + 1e-6f) / (total[0] + 1e-6f); });
}

// Efraimidis-Spirakis keys: the k largest log(u) / P are a weighted sample without replacement.
void launch_sampling_keys(const Context& ctx, const float* prob, std::int64_t segments, std::uint64_t seed,
                          std::uint32_t epoch, std::uint32_t minibatch, float* keys, std::int32_t* idx) {
  parallel_for(ctx, segments, [=] METTA_HD(std::int64_t s) {
    const float P = prob[s];
    const U32x4 r = rng_draw(seed, epoch, minibatch, static_cast<std::uint32_t>(s), RngPurpose::kUser, 0);
    const float u = (static_cast<float>(r.v[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]
    keys[s] = logf(u) / P;
    idx[s] = static_cast<std::int32_t>(s);
  });
}

void launch_sample_weights(const Context& ctx, const float* prob, const std::int32_t* idx, std::int64_t k,
                           std::int64_t segments, float beta, float* weights) {
  parallel_for(ctx, k, [=] METTA_HD(std::int64_t i) {
    weights[i] = powf(static_cast<float>(segments) * prob[idx[i]], -beta);
  });
}

}  // namespace metta::kernels::METTA_BACKEND_NS
