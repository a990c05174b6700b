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

// out[i] = (x[i] - sum / count)^2 for i < n; count is n, or the whole minibatch's count over all ranks
void launch_centered_squares(const Context& ctx, const float* x, std::int64_t n, std::int64_t count, const float* sum,
                             float* out) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float d = x[i] - sum[0] / static_cast<float>(count);
    out[i] = d * d;
  });
}

// Gradient of max(a, b) with torch's tie rule: each side gets half when equal.
METTA_HD inline void max_grad(float a, float b, float& da, float& db) {
  da = a > b ? 1.0f : (a == b ? 0.5f : 0.0f);
  db = 1.0f - da;
}

// sums[0] = sum(adv), sums[1] = sum((adv - mean)^2) over `count` elements (this minibatch's n, or the
// whole minibatch of every rank); terms rows: pg, v, entropy, kl, clipfrac, ratio, logp.
void launch_ppo_terms(const Context& ctx, PpoLossInputs in, PpoLossParams pp, PpoLossGrads g, std::int64_t count,
                      const float* sums, float* terms) {
  const std::int64_t n = in.n;
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float inv_n = 1.0f / static_cast<float>(n);
    float a = in.adv[i];
    if (pp.norm_adv) {
      const float mean = sums[0] / static_cast<float>(count);
      const float var = count > 1 ? sums[1] / static_cast<float>(count - 1) : 0.0f;
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
void launch_ppo_stats(const Context& ctx, PpoLossParams pp, std::int64_t n, std::int64_t count, const float* sums,
                      float* stats) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) {
    const float inv_n = 1.0f / static_cast<float>(n);
    stats[kPpoPolicyLoss] = sums[2] * inv_n;
    stats[kPpoValueLoss] = sums[3] * inv_n;
    stats[kPpoEntropy] = sums[4] * inv_n;
    stats[kPpoApproxKl] = sums[5] * inv_n;
    stats[kPpoClipFrac] = sums[6] * inv_n;
    stats[kPpoImportance] = sums[7] * inv_n;
    stats[kPpoLogpMean] = sums[8] * inv_n;
    stats[kPpoAdvMean] = sums[0] / static_cast<float>(count);
    stats[kPpoAdvStd] = count > 1 ? sqrtf(sums[1] / static_cast<float>(count - 1)) : 0.0f;
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

// partials: [3, chunks] = per chunk {sum x, sum x^2, sum (x - reference)^2}.
void launch_moment_partials(const Context& ctx, const float* x, const float* reference, std::int64_t n,
                            std::int64_t chunk, std::int64_t chunks, float* partials) {
  parallel_for(ctx, chunks, [=] METTA_HD(std::int64_t c) {
    const std::int64_t end = (c + 1) * chunk < n ? (c + 1) * chunk : n;
    float s = 0.0f, sq = 0.0f, d = 0.0f;
    for (std::int64_t i = c * chunk; i < end; ++i) {
      s += x[i];
      sq += x[i] * x[i];
      if (reference) {
        const float diff = x[i] - reference[i];
        d += diff * diff;
      }
    }
    partials[c] = s;
    partials[chunks + c] = sq;
    partials[2 * chunks + c] = d;
  });
}

void launch_ema_blend(const Context& ctx, float* dst, const float* src, std::int64_t n, float alpha) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { dst[i] = alpha * dst[i] + (1.0f - alpha) * src[i]; });
}

void launch_sqrt_into(const Context& ctx, const float* in, float* out) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) { out[0] = sqrtf(in[0]); });
}

void launch_advance_counter(const Context& ctx, std::uint32_t* counter, std::uint32_t by) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) { counter[0] += by; });
}

void launch_select_update_step(const Context& ctx, const UpdateStepScalars* table, std::uint32_t* index,
                               UpdateStepScalars* current) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) {
    *current = table[*index];
    ++*index;
  });
}

// device_scalars (when not null): {step_size, bias_correction2_sqrt} read from device memory (a recorded
// update replays its arguments), in place of the two arguments.
void launch_adam(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
                 AdamParams p, float step_size_arg, float bias_correction2_sqrt_arg, const float* device_scalars,
                 const float* grad_norm, float max_norm) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float step_size = device_scalars ? device_scalars[0] : step_size_arg;
    const float bias_correction2_sqrt = device_scalars ? device_scalars[1] : bias_correction2_sqrt_arg;
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

void launch_muon_momentum(const Context& ctx, const float* grads, float* m, float* u, std::int64_t n, float beta1,
                          const float* grad_norm, float max_norm) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    float scale = 1.0f;
    if (grad_norm) {
      const float coef = max_norm / (grad_norm[0] + 1e-6f);
      scale = coef < 1.0f ? coef : 1.0f;
    }
    const float g = grads[i] * scale;
    const float mi = beta1 * m[i] + g;
    m[i] = mi;
    u[i] = g + beta1 * mi;
  });
}

// out[0] = sum of x (sequential: n is a few thousand chunk partials)
void launch_sum_into(const Context& ctx, const float* x, std::int64_t n, float* out) {
  parallel_for(ctx, 1, [=] METTA_HD(std::int64_t) {
    float acc = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) acc += x[i];
    out[0] = acc;
  });
}

// x = u / (||u|| + 1e-7), [rows, cols], or its transpose [cols, rows]
void launch_normalize_into(const Context& ctx, const float* u, std::int64_t rows, std::int64_t cols, bool transpose,
                           const float* sum_sq, float* x) {
  parallel_for(ctx, rows * cols, [=] METTA_HD(std::int64_t i) {
    const float inv = 1.0f / (sqrtf(sum_sq[0]) + 1e-7f);
    const std::int64_t r = i / cols, c = i % cols;
    x[transpose ? c * rows + r : i] = u[i] * inv;
  });
}

void launch_scale_into(const Context& ctx, const float* x, float s, std::int64_t n, float* y) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { y[i] = s * x[i]; });
}

#ifdef __CUDACC__
// The same modified Gram-Schmidt as the CPU loop below, right-looking: once column k is final it is
// normalised, then every later column (a thread each) removes its component along it. Each column sees
// the same operations in the same order as on the CPU, with sequential double dot products, so the two
// agree up to nvcc's FMA contraction. One block: n syncs of O(n) work per thread.
__global__ void qr_q_kernel(const float* u, std::int64_t n, float* q) {
  __shared__ double inv;
  for (std::int64_t i = threadIdx.x; i < n * n; i += blockDim.x) q[i] = u[i];
  __syncthreads();
  for (std::int64_t k = 0; k < n; ++k) {
    if (threadIdx.x == 0) {
      double norm = 0.0;
      for (std::int64_t r = 0; r < n; ++r) norm += static_cast<double>(q[r * n + k]) * q[r * n + k];
      inv = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
    }
    __syncthreads();
    for (std::int64_t r = threadIdx.x; r < n; r += blockDim.x) q[r * n + k] = static_cast<float>(q[r * n + k] * inv);
    __syncthreads();
    for (std::int64_t j = k + 1 + threadIdx.x; j < n; j += blockDim.x) {
      double d = 0.0;
      for (std::int64_t r = 0; r < n; ++r) d += static_cast<double>(q[r * n + j]) * q[r * n + k];
      for (std::int64_t r = 0; r < n; ++r) q[r * n + j] -= static_cast<float>(d * q[r * n + k]);
    }
    __syncthreads();
  }
}
#endif

// Q of the QR decomposition of a square n x n matrix (modified Gram-Schmidt over columns, double
// accumulation). CPU: one loop (these tensors are small and few); CUDA: the kernel above.
void launch_qr_q(const Context& ctx, const float* u, std::int64_t n, float* q) {
#ifdef __CUDACC__
  if (n <= 0) return;
  const int threads = n < 1024 ? static_cast<int>((n + 31) / 32 * 32) : 1024;
  qr_q_kernel<<<1, threads, 0, static_cast<cudaStream_t>(ctx.stream)>>>(u, n, q);
  METTA_CUDA_CHECK(cudaGetLastError());
#else
  parallel_for(ctx, 1, [=](std::int64_t) {
    for (std::int64_t i = 0; i < n * n; ++i) q[i] = u[i];
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t k = 0; k < j; ++k) {
        double d = 0.0;
        for (std::int64_t r = 0; r < n; ++r) d += static_cast<double>(q[r * n + j]) * q[r * n + k];
        for (std::int64_t r = 0; r < n; ++r) q[r * n + j] -= static_cast<float>(d * q[r * n + k]);
      }
      double norm = 0.0;
      for (std::int64_t r = 0; r < n; ++r) norm += static_cast<double>(q[r * n + j]) * q[r * n + j];
      const double inv = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
      for (std::int64_t r = 0; r < n; ++r) q[r * n + j] = static_cast<float>(q[r * n + j] * inv);
    }
  });
#endif
}

// p = p (1 - wd lr) - lr scale update, update [rows, cols] (or stored transposed as [cols, rows])
void launch_muon_apply(const Context& ctx, float* params, const float* update, std::int64_t rows, std::int64_t cols,
                       bool transposed, float lr, float weight_decay, float scale) {
  parallel_for(ctx, rows * cols, [=] METTA_HD(std::int64_t i) {
    const std::int64_t r = i / cols, c = i % cols;
    const float upd = update[transposed ? c * rows + r : i];
    params[i] = params[i] * (1.0f - weight_decay * lr) - lr * scale * upd;
  });
}

// terms [2, n]: per-row cross-entropy and squared value error, already scaled by the coefficients / n
void launch_kickstart_terms(const Context& ctx, const float* student_logits, const float* teacher_logits,
                            std::int64_t n, int num_logits, const float* student_value, const float* teacher_value,
                            float action_coef, float value_coef, float* dlogits, float* d_value, float* terms) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t r) {
    const float* zs = student_logits + r * num_logits;
    const float* zt = teacher_logits + r * num_logits;
    float ms = zs[0], mt = zt[0];
    for (int j = 1; j < num_logits; ++j) {
      ms = zs[j] > ms ? zs[j] : ms;
      mt = zt[j] > mt ? zt[j] : mt;
    }
    float ss = 0.0f, st = 0.0f;
    for (int j = 0; j < num_logits; ++j) {
      ss += expf(zs[j] - ms);
      st += expf(zt[j] - mt);
    }
    const float lse_s = ms + logf(ss), lse_t = mt + logf(st);
    const float inv_n = 1.0f / static_cast<float>(n);
    float ce = 0.0f;
    for (int j = 0; j < num_logits; ++j) {
      const float q = expf(zt[j] - lse_t), lp = zs[j] - lse_s;
      ce -= q * lp;
      // d/dz_j of -sum_a q_a (z_a - lse) = -(q_j - p_j)
      dlogits[r * num_logits + j] += -action_coef * inv_n * (q - expf(lp));
    }
    const float dv = teacher_value[r] - student_value[r];
    d_value[r] += -2.0f * value_coef * inv_n * dv;
    terms[r] = action_coef * inv_n * ce;
    terms[n + r] = value_coef * inv_n * dv * dv;
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
// device_key (when not null): {epoch, minibatch} read from device memory in place of the arguments.
void launch_sampling_keys(const Context& ctx, const float* prob, std::int64_t segments, std::uint64_t seed,
                          std::uint32_t epoch, std::uint32_t minibatch, const std::uint32_t* device_key, float* keys,
                          std::int32_t* idx) {
  parallel_for(ctx, segments, [=] METTA_HD(std::int64_t s) {
    const float P = prob[s];
    const std::uint32_t e = device_key ? device_key[0] : epoch, mb = device_key ? device_key[1] : minibatch;
    const U32x4 r = rng_draw(seed, e, mb, static_cast<std::uint32_t>(s), RngPurpose::kUser, 0);
    const float u = (static_cast<float>(r.v[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]
    keys[s] = logf(u) / P;
    idx[s] = static_cast<std::int32_t>(s);
  });
}

void launch_sample_weights(const Context& ctx, const float* prob, const std::int32_t* idx, std::int64_t k,
                           std::int64_t segments, float beta_arg, const float* device_beta, float* weights) {
  parallel_for(ctx, k, [=] METTA_HD(std::int64_t i) {
    const float beta = device_beta ? *device_beta : beta_arg;
    weights[i] = powf(static_cast<float>(segments) * prob[idx[i]], -beta);
  });
}

void launch_experience_store(const Context& ctx, ExperienceView x, std::int64_t first_row, std::int64_t n, int t,
                             const std::uint8_t* obs, const std::int32_t* actions, const float* logp,
                             const float* values, const float* rewards, const std::uint8_t* terminals,
                             const std::uint8_t* truncations, const float* h, const float* c, int layers, int hidden) {
#if METTA_DEVICE_PATH
  // Observations with a thread per byte, so a warp reads and writes contiguous memory.
  parallel_for(ctx, n * x.obs_bytes, [=] METTA_HD(std::int64_t i) {
    const std::int64_t g = i / x.obs_bytes, b = i % x.obs_bytes;
    x.obs[((first_row + g) * x.horizon + t) * x.obs_bytes + b] = obs[i];
  });
#endif
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t g) {
    const std::int64_t cell = (first_row + g) * x.horizon + t;
#if !METTA_DEVICE_PATH
    const std::uint8_t* src = obs + g * x.obs_bytes;
    std::uint8_t* dst = x.obs + cell * x.obs_bytes;
    for (int b = 0; b < x.obs_bytes; ++b) dst[b] = src[b];
#endif
    x.actions[cell * 2] = actions[g * 2];
    x.actions[cell * 2 + 1] = actions[g * 2 + 1];
    x.logp[cell] = logp[g];
    x.values[cell] = values[g];
    x.rewards[cell] = rewards[g];
    x.terminals[cell] = terminals[g];
    x.truncations[cell] = truncations[g];
    x.ratio[cell] = 1.0f;
    if (t == 0) {
      for (int l = 0; l < layers; ++l)
        for (int j = 0; j < hidden; ++j) {
          x.h0[(first_row + g) * x.state_size + l * hidden + j] = h[(l * n + g) * hidden + j];
          x.c0[(first_row + g) * x.state_size + l * hidden + j] = c[(l * n + g) * hidden + j];
        }
    }
  });
}

void launch_experience_gather(const Context& ctx, ExperienceView x, const std::int32_t* rows, std::int64_t k,
                              std::uint8_t* obs, std::int32_t* actions, float* old_logp, float* old_values,
                              float* returns, const float* all_returns, float* h0, float* c0, int layers, int hidden) {
  const int H = x.horizon;
#if METTA_DEVICE_PATH
  // Observations with a thread per byte (coalesced); a sampled segment's H rows are contiguous.
  parallel_for(ctx, k * H * x.obs_bytes, [=] METTA_HD(std::int64_t j) {
    const std::int64_t i = j / x.obs_bytes, b = j % x.obs_bytes;
    obs[j] = x.obs[(static_cast<std::int64_t>(rows[i / H]) * H + i % H) * x.obs_bytes + b];
  });
#endif
  parallel_for(ctx, k * H, [=] METTA_HD(std::int64_t i) {
    const std::int64_t r = rows[i / H];
    const int t = static_cast<int>(i % H);
    const std::int64_t cell = r * H + t;
#if !METTA_DEVICE_PATH
    const std::uint8_t* src = x.obs + cell * x.obs_bytes;
    std::uint8_t* dst = obs + i * x.obs_bytes;
    for (int b = 0; b < x.obs_bytes; ++b) dst[b] = src[b];
#endif
    actions[i * 2] = x.actions[cell * 2];
    actions[i * 2 + 1] = x.actions[cell * 2 + 1];
    old_logp[i] = x.logp[cell];
    old_values[i] = x.values[cell];
    returns[i] = all_returns[cell];
    if (t == 0) {
      const std::int64_t m = i / H;
      for (int l = 0; l < layers; ++l)
        for (int j = 0; j < hidden; ++j) {
          h0[(l * k + m) * hidden + j] = x.h0[r * x.state_size + l * hidden + j];
          c0[(l * k + m) * hidden + j] = x.c0[r * x.state_size + l * hidden + j];
        }
    }
  });
}

void launch_importance_ratio(const Context& ctx, const float* new_logp, const float* old_logp, std::int64_t n,
                             float* ratio) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { ratio[i] = expf(new_logp[i] - old_logp[i]); });
}

void launch_experience_scatter(const Context& ctx, ExperienceView x, const std::int32_t* rows, std::int64_t k,
                               const float* values, const float* ratio) {
  const int H = x.horizon;
  parallel_for(ctx, k * H, [=] METTA_HD(std::int64_t i) {
    const std::int64_t cell = static_cast<std::int64_t>(rows[i / H]) * H + i % H;
    x.values[cell] = values[i];
    x.ratio[cell] = ratio[i];
  });
}

void launch_add_arrays(const Context& ctx, const float* a, const float* b, std::int64_t n, float* out) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { out[i] = a[i] + b[i]; });
}

void launch_fill_floats(const Context& ctx, float* out, std::int64_t n, float value) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { out[i] = value; });
}

void launch_ev_terms(const Context& ctx, const float* returns, const float* values, std::int64_t n, float* terms) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float y = returns[i], d = y - values[i];
    terms[i] = y;
    terms[n + i] = y * y;
    terms[2 * n + i] = d;
    terms[3 * n + i] = d * d;
  });
}

void launch_experience_stat_terms(const Context& ctx, ExperienceView x, float* terms) {
  const std::int64_t n = x.segments * x.horizon;
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) {
    const float a0 = static_cast<float>(x.actions[2 * i]), a1 = static_cast<float>(x.actions[2 * i + 1]);
    terms[i] = x.rewards[i];
    terms[n + i] = x.values[i];
    terms[2 * n + i] = x.logp[i];
    terms[3 * n + i] = static_cast<float>(x.terminals[i]);
    terms[4 * n + i] = static_cast<float>(x.truncations[i]);
    terms[5 * n + i] = x.ratio[i];
    terms[6 * n + i] = a0 + a1;
    terms[7 * n + i] = a0 * a0 + a1 * a1;
  });
}

void launch_accumulate(const Context& ctx, float* stats, const float* add, int n) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { stats[i] += add[i]; });
}

void launch_scale(const Context& ctx, float* x, std::int64_t n, float factor) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { x[i] *= factor; });
}

}  // namespace metta::kernels::METTA_BACKEND_NS
