// Host side of the RL kernels: set-up of workspaces, dispatch to the backend launchers, and the naive
// references the tests compare against.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/rl_launch.h"
#include "kernels/sampling.h"

namespace metta::kernels {

// ---- advantage
void compute_advantage(const Context& ctx, const AdvantageArgs& args, const AdvantageParams& params) {
  METTA_CHECK(args.horizon >= 1, "advantage horizon " << args.horizon);
  METTA_DISPATCH(ctx, launch_advantage, ctx, args, params);
}

void compute_advantage_reference(const AdvantageArgs& a, const AdvantageParams& p) {
  const int H = a.horizon;
  for (std::int64_t i = 0; i < a.n_rows; ++i) {
    const std::int64_t row = a.rows ? a.rows[i] : i;
    double g = 0.0;
    a.adv[i * H + H - 1] = 0.0f;
    for (int t = H - 2; t >= 0; --t) {
      const std::int64_t k = row * H + t;
      const bool done = a.terminals[k + 1] || a.truncations[k + 1];
      const double ratio = a.ratio ? a.ratio[i * H + t] : 1.0;
      const double rho = std::min<double>(ratio, p.rho_clip), c = std::min<double>(ratio, p.c_clip);
      const double next_v = done ? 0.0 : a.values[k + 1];
      const double delta = rho * (a.rewards[k + 1] + p.gamma * next_v - a.values[k]);
      g = delta + (done ? 0.0 : static_cast<double>(p.gamma) * p.lambda * c * g);
      a.adv[i * H + t] = static_cast<float>(g);
    }
  }
}

// ---- PPO loss
namespace {
constexpr int kTermCount = 7;  // pg, v, entropy, kl, clipfrac, ratio, logp
}

PpoLoss::PpoLoss(const Context& ctx, std::int64_t n) : capacity_(n) {
  METTA_CHECK(n >= 1, "PPO minibatch of " << n << " elements");
  terms_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(kTermCount * n));
  sums_ = DeviceBuffer<float>(ctx.device, kTermCount + 2);
  stats_ = DeviceBuffer<float>(ctx.device, kPpoStatCount);
  adv_sum_ = SegmentedSum(ctx, 1, n);
  term_sums_ = SegmentedSum(ctx, kTermCount, n);
}

void PpoLoss::run(const Context& ctx, const PpoLossInputs& in, const PpoLossParams& params,
                  const PpoLossGrads& grads, const RankSum* across) {
  METTA_CHECK(in.n == capacity_, "PPO loss set up for " << capacity_ << " elements, got " << in.n);
  METTA_CHECK(in.horizon >= 1 && in.n % in.horizon == 0, "PPO loss: n " << in.n << " not a multiple of horizon " << in.horizon);
  // Advantage normalisation over the whole minibatch (trainer.md §9, multi-GPU: all-reduced sums); every
  // rank holds n elements. The same formula (unbiased std + 1e-8) as one process, so N ranks equal one.
  const bool reduce = across != nullptr && across->world() > 1 && params.norm_adv;
  const std::int64_t count = reduce ? in.n * across->world() : in.n;
  float* sums = sums_.data();
  adv_sum_.run(ctx, in.adv, sums);
  if (reduce) across->sum(ctx, sums, 1);
  // centred squares reuse the first term row as scratch before the terms are written
  METTA_DISPATCH(ctx, launch_centered_squares, ctx, in.adv, in.n, count, sums, terms_.data());
  adv_sum_.run(ctx, terms_.data(), sums + 1);
  if (reduce) across->sum(ctx, sums + 1, 1);
  METTA_DISPATCH(ctx, launch_ppo_terms, ctx, in, params, grads, count, sums, terms_.data());
  term_sums_.run(ctx, terms_.data(), sums + 2);
  METTA_DISPATCH(ctx, launch_ppo_stats, ctx, params, in.n, count, sums, stats_.data());
}

void ppo_loss_reference(const PpoLossInputs& in, const PpoLossParams& pp, const PpoLossGrads& g, float* stats) {
  const std::int64_t n = in.n;
  double mean = 0, var = 0;
  for (std::int64_t i = 0; i < n; ++i) mean += in.adv[i];
  mean /= n;
  for (std::int64_t i = 0; i < n; ++i) var += (in.adv[i] - mean) * (in.adv[i] - mean);
  var = n > 1 ? var / (n - 1) : 0.0;
  const double sd = std::sqrt(var);
  double pg = 0, v = 0, ent = 0, kl = 0, cf = 0, imp = 0, lp = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double a = in.adv[i];
    if (pp.norm_adv) a = (a - mean) / (sd + 1e-8);
    if (in.row_weight) a *= in.row_weight[i / in.horizon];
    const double lr = static_cast<double>(in.new_logp[i]) - in.old_logp[i], r = std::exp(lr);
    const double lo = 1.0 - pp.clip_coef, hi = 1.0 + pp.clip_coef, rc = std::clamp(r, lo, hi);
    const double p1 = -a * r, p2 = -a * rc;
    const double w1 = p1 > p2 ? 1.0 : (p1 == p2 ? 0.5 : 0.0);
    const double dr = w1 * -a + (1.0 - w1) * -a * (r >= lo && r <= hi ? 1.0 : 0.0);
    g.d_new_logp[i] = static_cast<float>(dr * r / n);
    pg += std::max(p1, p2);
    const double V = in.new_value[i], R = in.returns[i], V0 = in.old_value[i];
    double dv;
    if (pp.clip_vloss) {
      const double vc = V0 + std::clamp(V - V0, -static_cast<double>(pp.vf_clip_coef), static_cast<double>(pp.vf_clip_coef));
      const double u = (V - R) * (V - R), c = (vc - R) * (vc - R);
      const double wu = u > c ? 1.0 : (u == c ? 0.5 : 0.0);
      const bool inside = std::abs(V - V0) <= pp.vf_clip_coef;
      dv = wu * (V - R) + (1.0 - wu) * (vc - R) * (inside ? 1.0 : 0.0);
      v += 0.5 * std::max(u, c);
    } else {
      dv = V - R;
      v += 0.5 * (V - R) * (V - R);
    }
    g.d_new_value[i] = static_cast<float>(pp.vf_coef * dv / n);
    g.d_entropy[i] = static_cast<float>(-pp.ent_coef / n);
    ent += in.entropy[i];
    kl += (r - 1.0) - lr;
    cf += std::abs(r - 1.0) > pp.clip_coef ? 1.0 : 0.0;
    imp += r;
    lp += in.new_logp[i];
  }
  stats[kPpoPolicyLoss] = static_cast<float>(pg / n);
  stats[kPpoValueLoss] = static_cast<float>(v / n);
  stats[kPpoEntropy] = static_cast<float>(ent / n);
  stats[kPpoApproxKl] = static_cast<float>(kl / n);
  stats[kPpoClipFrac] = static_cast<float>(cf / n);
  stats[kPpoImportance] = static_cast<float>(imp / n);
  stats[kPpoLogpMean] = static_cast<float>(lp / n);
  stats[kPpoAdvMean] = static_cast<float>(mean);
  stats[kPpoAdvStd] = static_cast<float>(sd);
  stats[kPpoLoss] = static_cast<float>(pg / n - pp.ent_coef * ent / n + pp.vf_coef * v / n);
}

// ---- optimizer
namespace {
constexpr std::int64_t kNormChunk = 4096;
}

GradNorm::GradNorm(const Context& ctx, std::int64_t n) : n_(n), chunks_((n + kNormChunk - 1) / kNormChunk) {
  partials_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(std::max<std::int64_t>(chunks_, 1)));
  out_ = DeviceBuffer<float>(ctx.device, 2);
  sum_ = SegmentedSum(ctx, 1, chunks_);
}

VectorMoments::VectorMoments(const Context& ctx, std::int64_t n)
    : n_(n), chunks_(std::max<std::int64_t>(1, (n + kNormChunk - 1) / kNormChunk)) {
  partials_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(3 * chunks_));
  out_ = DeviceBuffer<float>(ctx.device, 3);
  sum_ = SegmentedSum(ctx, 3, chunks_);
}

void VectorMoments::run(const Context& ctx, const float* x, const float* reference) {
  METTA_DISPATCH(ctx, launch_moment_partials, ctx, x, reference, n_, kNormChunk, chunks_, partials_.data());
  sum_.run(ctx, partials_.data(), out_.data());
}

void ema_blend(const Context& ctx, float* dst, const float* src, std::int64_t n, float alpha) {
  METTA_DISPATCH(ctx, launch_ema_blend, ctx, dst, src, n, alpha);
}

void GradNorm::run(const Context& ctx, const float* grads) {
  METTA_DISPATCH(ctx, launch_square_partials, ctx, grads, n_, kNormChunk, partials_.data());
  sum_.run(ctx, partials_.data(), out_.data());
  METTA_DISPATCH(ctx, launch_sqrt_into, ctx, out_.data(), out_.data() + 1);
}

AdamStepScalars adam_step_scalars(const AdamParams& p, std::int64_t step) {
  METTA_CHECK(step >= 1, "Adam step " << step << ": steps count from 1");
  // As torch: bias corrections in double on the host, then the per-element update in float.
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(step));
  return {static_cast<float>(p.lr / bc1), static_cast<float>(std::sqrt(bc2))};
}

void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
               const AdamParams& p, std::int64_t step, const float* grad_norm, float max_norm) {
  const AdamStepScalars s = adam_step_scalars(p, step);
  METTA_DISPATCH(ctx, launch_adam, ctx, params, grads, m, v, n, p, s.step_size, s.bias_correction2_sqrt, nullptr,
                 grad_norm, max_norm);
}

void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
               const AdamParams& p, const UpdateStepScalars* device_step, const float* grad_norm, float max_norm) {
  METTA_DISPATCH(ctx, launch_adam, ctx, params, grads, m, v, n, p, 0.0f, 1.0f, adam_scalars_of(device_step), grad_norm,
                 max_norm);
}

void select_update_step(const Context& ctx, const UpdateStepScalars* table, std::uint32_t* index,
                        UpdateStepScalars* current) {
  METTA_DISPATCH(ctx, launch_select_update_step, ctx, table, index, current);
}

Muon::Muon(const Context& ctx, std::vector<MuonTensor> tensors, std::int64_t total)
    : tensors_(std::move(tensors)), total_(total) {
  std::int64_t max_mat = 1, max_sq = 1, max_chunks = 1;
  for (const MuonTensor& t : tensors_) {
    METTA_CHECK(t.offset >= 0 && t.rows >= 1 && t.cols >= 1 && t.offset + t.rows * t.cols <= total,
                "Muon tensor at " << t.offset << " of " << t.rows << " x " << t.cols << " outside " << total);
    max_mat = std::max(max_mat, t.rows * t.cols);
    const std::int64_t small = std::min(t.rows, t.cols);
    max_sq = std::max(max_sq, small * small);
    max_chunks = std::max(max_chunks, (t.rows * t.cols + 4095) / 4096);
  }
  m_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(total));
  m_.fill_bytes_with(ctx, 0);
  u_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(total));
  x_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(max_mat));
  xn_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(max_mat));
  a_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(max_sq));
  b_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(max_sq));
  partials_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(max_chunks));
  norm_ = DeviceBuffer<float>(ctx.device, 1);
}

void Muon::step(const Context& ctx, float* params, const float* grads, const AdamParams& p, const float* grad_norm,
                float max_norm) {
  METTA_DISPATCH(ctx, launch_muon_momentum, ctx, grads, m_.data(), u_.data(), total_, p.beta1, grad_norm, max_norm);
  constexpr float kA = 3.4445f, kB = -4.7750f, kC = 2.0315f;
  for (const MuonTensor& t : tensors_) {
    float* pt = params + t.offset;
    const float* ut = u_.data() + t.offset;
    const std::int64_t n = t.rows * t.cols;
    if (!t.matrix) {  // 1-D: the momentum direction as it is
      METTA_DISPATCH(ctx, launch_muon_apply, ctx, pt, ut, t.rows, t.cols, false, p.lr, p.weight_decay, 1.0f);
      continue;
    }
    const float scale = std::sqrt(std::max(1.0f, static_cast<float>(t.rows) / static_cast<float>(t.cols)));
    if (t.rows == t.cols) {
      METTA_DISPATCH(ctx, launch_qr_q, ctx, ut, t.rows, x_.data());
      METTA_DISPATCH(ctx, launch_muon_apply, ctx, pt, x_.data(), t.rows, t.cols, false, p.lr, p.weight_decay, scale);
      continue;
    }
    const bool transpose = t.rows > t.cols;
    const int r = static_cast<int>(transpose ? t.cols : t.rows), c = static_cast<int>(transpose ? t.rows : t.cols);
    METTA_DISPATCH(ctx, launch_square_partials, ctx, ut, n, 4096, partials_.data());
    METTA_DISPATCH(ctx, launch_sum_into, ctx, partials_.data(), (n + 4095) / 4096, norm_.data());
    METTA_DISPATCH(ctx, launch_normalize_into, ctx, ut, t.rows, t.cols, transpose, norm_.data(), x_.data());
    float* x = x_.data();
    float* xn = xn_.data();
    for (int it = 0; it < 5; ++it) {
      gemm<float>(ctx, Trans::kNo, Trans::kYes, r, r, c, 1.0f, x, x, 0.0f, a_.data());             // A = X X^T
      METTA_DISPATCH(ctx, launch_scale_into, ctx, a_.data(), kB, static_cast<std::int64_t>(r) * r, b_.data());
      gemm<float>(ctx, Trans::kNo, Trans::kNo, r, r, r, kC, a_.data(), a_.data(), 1.0f, b_.data()); // B = bA + cAA
      METTA_DISPATCH(ctx, launch_scale_into, ctx, x, kA, static_cast<std::int64_t>(r) * c, xn);
      gemm<float>(ctx, Trans::kNo, Trans::kNo, r, c, r, 1.0f, b_.data(), x, 1.0f, xn);              // X' = aX + BX
      std::swap(x, xn);
    }
    METTA_DISPATCH(ctx, launch_muon_apply, ctx, pt, x, t.rows, t.cols, transpose, p.lr, p.weight_decay, scale);
  }
}

void muon_step_reference(float* params, const float* grads, float* m, const std::vector<MuonTensor>& tensors,
                         const AdamParams& p, double grad_norm, float max_norm) {
  const double clip = grad_norm >= 0 && max_norm > 0 ? std::min(1.0, max_norm / (grad_norm + 1e-6)) : 1.0;
  for (const MuonTensor& t : tensors) {
    const std::int64_t R = t.rows, C = t.cols, n = R * C;
    std::vector<double> u(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const double g = grads[t.offset + i] * clip;
      const double mi = p.beta1 * static_cast<double>(m[t.offset + i]) + g;
      m[t.offset + i] = static_cast<float>(mi);
      u[i] = g + p.beta1 * mi;
    }
    std::vector<double> upd = u;
    double scale = 1.0;
    if (t.matrix) {
      scale = std::sqrt(std::max(1.0, static_cast<double>(R) / C));
      if (R == C) {  // Gram-Schmidt QR, Q
        for (std::int64_t j = 0; j < C; ++j) {
          for (std::int64_t k = 0; k < j; ++k) {
            double d = 0;
            for (std::int64_t r = 0; r < R; ++r) d += upd[r * C + j] * upd[r * C + k];
            for (std::int64_t r = 0; r < R; ++r) upd[r * C + j] -= d * upd[r * C + k];
          }
          double nn = 0;
          for (std::int64_t r = 0; r < R; ++r) nn += upd[r * C + j] * upd[r * C + j];
          for (std::int64_t r = 0; r < R; ++r) upd[r * C + j] /= std::sqrt(nn);
        }
      } else {  // Newton-Schulz on [r, c] = [min, max]
        const bool tr = R > C;
        const std::int64_t r = tr ? C : R, c = tr ? R : C;
        double nn = 0;
        for (double v : u) nn += v * v;
        std::vector<double> X(static_cast<std::size_t>(n)), A(r * r), B(r * r), Xn(n);
        for (std::int64_t i = 0; i < R; ++i)
          for (std::int64_t j = 0; j < C; ++j) X[tr ? j * R + i : i * C + j] = u[i * C + j] / (std::sqrt(nn) + 1e-7);
        for (int it = 0; it < 5; ++it) {
          for (std::int64_t i = 0; i < r; ++i)
            for (std::int64_t j = 0; j < r; ++j) {
              double s = 0;
              for (std::int64_t k = 0; k < c; ++k) s += X[i * c + k] * X[j * c + k];
              A[i * r + j] = s;
            }
          for (std::int64_t i = 0; i < r; ++i)
            for (std::int64_t j = 0; j < r; ++j) {
              double s = 0;
              for (std::int64_t k = 0; k < r; ++k) s += A[i * r + k] * A[k * r + j];
              B[i * r + j] = -4.7750 * A[i * r + j] + 2.0315 * s;
            }
          for (std::int64_t i = 0; i < r; ++i)
            for (std::int64_t j = 0; j < c; ++j) {
              double s = 0;
              for (std::int64_t k = 0; k < r; ++k) s += B[i * r + k] * X[k * c + j];
              Xn[i * c + j] = 3.4445 * X[i * c + j] + s;
            }
          X.swap(Xn);
        }
        for (std::int64_t i = 0; i < R; ++i)
          for (std::int64_t j = 0; j < C; ++j) upd[i * C + j] = X[tr ? j * R + i : i * C + j];
      }
    }
    for (std::int64_t i = 0; i < n; ++i)
      params[t.offset + i] = static_cast<float>(params[t.offset + i] * (1.0 - p.weight_decay * p.lr) -
                                                p.lr * scale * upd[i]);
  }
}

void vector_moments_reference(const float* x, const float* reference, std::int64_t n, double out[3]) {
  out[0] = out[1] = out[2] = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    out[0] += x[i];
    out[1] += static_cast<double>(x[i]) * x[i];
    if (reference) out[2] += (static_cast<double>(x[i]) - reference[i]) * (static_cast<double>(x[i]) - reference[i]);
  }
}

double grad_norm_reference(const float* grads, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(grads[i]) * grads[i];
  return std::sqrt(s);
}

void adam_step_reference(float* params, const float* grads, float* m, float* v, std::int64_t n, const AdamParams& p,
                         std::int64_t step, double grad_norm, float max_norm) {
  const double scale = max_norm > 0 ? std::min(1.0, max_norm / (grad_norm + 1e-6)) : 1.0;
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(step));
  for (std::int64_t i = 0; i < n; ++i) {
    double g = grads[i] * scale + p.weight_decay * static_cast<double>(params[i]);
    const double mi = p.beta1 * static_cast<double>(m[i]) + (1.0 - p.beta1) * g;
    const double vi = p.beta2 * static_cast<double>(v[i]) + (1.0 - p.beta2) * g * g;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    params[i] = static_cast<float>(params[i] - p.lr / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + p.eps));
  }
}

// ---- kickstarter
double kickstart_factor(const KickstarterParams& p, std::int64_t agent_step) {
  const double step = static_cast<double>(agent_step);
  if (step > p.kickstart_steps) return 0.0;
  const double duration = p.kickstart_steps * p.anneal_ratio, ramp_start = p.kickstart_steps - duration;
  if (step <= ramp_start || duration <= 0) return 1.0;
  return std::max(0.0, 1.0 - (step - ramp_start) / duration);
}

KickstarterLoss::KickstarterLoss(const Context& ctx, std::int64_t n) : n_(n) {
  terms_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(2 * n));
  sums_ = DeviceBuffer<float>(ctx.device, 2);
  sum_ = SegmentedSum(ctx, 2, n);
}

void KickstarterLoss::run(const Context& ctx, const float* student_logits, const float* teacher_logits, int num_logits,
                          const float* student_value, const float* teacher_value, float action_coef,
                          float value_coef, float* dlogits, float* d_value) {
  METTA_DISPATCH(ctx, launch_kickstart_terms, ctx, student_logits, teacher_logits, n_, num_logits, student_value,
                 teacher_value, action_coef, value_coef, dlogits, d_value, terms_.data());
  sum_.run(ctx, terms_.data(), sums_.data());
}

void kickstarter_reference(const float* zs, const float* zt, std::int64_t n, int A, const float* vs, const float* vt,
                           float action_coef, float value_coef, float* dlogits, float* d_value, double* losses) {
  losses[0] = losses[1] = 0.0;
  for (std::int64_t r = 0; r < n; ++r) {
    double ms = -1e300, mt = -1e300, ss = 0, st = 0;
    for (int j = 0; j < A; ++j) {
      ms = std::max<double>(ms, zs[r * A + j]);
      mt = std::max<double>(mt, zt[r * A + j]);
    }
    for (int j = 0; j < A; ++j) {
      ss += std::exp(zs[r * A + j] - ms);
      st += std::exp(zt[r * A + j] - mt);
    }
    for (int j = 0; j < A; ++j) {
      const double q = std::exp(zt[r * A + j] - mt - std::log(st)), lp = zs[r * A + j] - ms - std::log(ss);
      losses[0] -= action_coef * q * lp / n;
      dlogits[r * A + j] += static_cast<float>(-action_coef * (q - std::exp(lp)) / n);
    }
    const double dv = static_cast<double>(vt[r]) - vs[r];
    losses[1] += value_coef * dv * dv / n;
    d_value[r] += static_cast<float>(-2.0 * value_coef * dv / n);
  }
}

// ---- experience buffer
void experience_store(const Context& ctx, const ExperienceView& x, std::int64_t first_row, std::int64_t n, int t,
                      const std::uint8_t* obs, const std::int32_t* actions, const float* logp, const float* values,
                      const float* rewards, const std::uint8_t* terminals, const std::uint8_t* truncations,
                      const float* h, const float* c, int layers, int hidden) {
  METTA_CHECK(first_row >= 0 && first_row + n <= x.segments && t >= 0 && t < x.horizon,
              "experience_store: rows " << first_row << "+" << n << " of " << x.segments << ", column " << t);
  METTA_DISPATCH(ctx, launch_experience_store, ctx, x, first_row, n, t, obs, actions, logp, values, rewards, terminals,
                 truncations, h, c, layers, hidden);
}

void experience_gather(const Context& ctx, const ExperienceView& x, const std::int32_t* rows, std::int64_t k,
                       std::uint8_t* obs, std::int32_t* actions, float* old_logp, float* old_values, float* returns,
                       const float* all_returns, float* h0, float* c0, int layers, int hidden) {
  METTA_DISPATCH(ctx, launch_experience_gather, ctx, x, rows, k, obs, actions, old_logp, old_values, returns,
                 all_returns, h0, c0, layers, hidden);
}

void importance_ratio(const Context& ctx, const float* new_logp, const float* old_logp, std::int64_t n, float* ratio) {
  METTA_DISPATCH(ctx, launch_importance_ratio, ctx, new_logp, old_logp, n, ratio);
}

void experience_scatter(const Context& ctx, const ExperienceView& x, const std::int32_t* rows, std::int64_t k,
                        const float* values, const float* ratio) {
  METTA_DISPATCH(ctx, launch_experience_scatter, ctx, x, rows, k, values, ratio);
}

void add_arrays(const Context& ctx, const float* a, const float* b, std::int64_t n, float* out) {
  METTA_DISPATCH(ctx, launch_add_arrays, ctx, a, b, n, out);
}

void fill_floats(const Context& ctx, float* out, std::int64_t n, float value) {
  METTA_DISPATCH(ctx, launch_fill_floats, ctx, out, n, value);
}

void advance_counter(const Context& ctx, std::uint32_t* counter, std::uint32_t by) {
  METTA_DISPATCH(ctx, launch_advance_counter, ctx, counter, by);
}

void explained_variance_terms(const Context& ctx, const float* returns, const float* values, std::int64_t n,
                              float* terms) {
  METTA_DISPATCH(ctx, launch_ev_terms, ctx, returns, values, n, terms);
}

void experience_stat_terms(const Context& ctx, const ExperienceView& x, float* terms) {
  METTA_DISPATCH(ctx, launch_experience_stat_terms, ctx, x, terms);
}

void accumulate(const Context& ctx, float* stats, const float* add, int n) {
  METTA_DISPATCH(ctx, launch_accumulate, ctx, stats, add, n);
}

void scale(const Context& ctx, float* x, std::int64_t n, float factor) {
  if (n > 0) METTA_DISPATCH(ctx, launch_scale, ctx, x, n, factor);
}

// ---- prioritized sampling
double calculate_anneal_beta(std::int64_t epoch, std::int64_t total_timesteps, std::int64_t batch_size,
                             double prio_beta0, double prio_alpha) {
  METTA_CHECK(batch_size > 0, "calculate_anneal_beta: batch_size " << batch_size);
  const std::int64_t total_epochs = std::max<std::int64_t>(1, total_timesteps / batch_size);
  return prio_beta0 + (1.0 - prio_beta0) * prio_alpha * static_cast<double>(epoch) / static_cast<double>(total_epochs);
}

PrioritizedSampler::PrioritizedSampler(const Context& ctx, std::int64_t segments, int horizon,
                                       std::int64_t minibatch_segments)
    : segments_(segments), k_(minibatch_segments), horizon_(horizon) {
  METTA_CHECK(segments >= 1 && minibatch_segments >= 1 && minibatch_segments <= segments,
              "sampler: " << minibatch_segments << " of " << segments << " segments");
  const auto S = static_cast<std::size_t>(segments);
  prio_ = DeviceBuffer<float>(ctx.device, S);
  prob_ = DeviceBuffer<float>(ctx.device, S);
  keys_in_ = DeviceBuffer<float>(ctx.device, S);
  keys_out_ = DeviceBuffer<float>(ctx.device, S);
  idx_in_ = DeviceBuffer<std::int32_t>(ctx.device, S);
  idx_out_ = DeviceBuffer<std::int32_t>(ctx.device, S);
  weights_ = DeviceBuffer<float>(ctx.device, static_cast<std::size_t>(minibatch_segments));
  total_ = DeviceBuffer<float>(ctx.device, 1);
  total_sum_ = SegmentedSum(ctx, 1, segments);
  if (ctx.device == Device::CUDA) {
    sort_temp_bytes_ = cuda_sort_temp_bytes(segments);
    sort_temp_ = DeviceBuffer<std::uint8_t>(ctx.device, std::max<std::size_t>(sort_temp_bytes_, 1));
  }
}

void PrioritizedSampler::set_priorities(const Context& ctx, const float* advantages, float alpha) {
  METTA_DISPATCH(ctx, launch_priorities, ctx, advantages, segments_, horizon_, alpha, prio_.data());
  total_sum_.run(ctx, prio_.data(), total_.data());
  METTA_DISPATCH(ctx, launch_probabilities, ctx, prio_.data(), total_.data(), segments_, prob_.data());
}

void PrioritizedSampler::sample(const Context& ctx, std::uint64_t seed, std::uint32_t epoch, std::uint32_t minibatch,
                                float beta) {
  draw(ctx, seed, epoch, minibatch, beta, nullptr);
}

void PrioritizedSampler::sample(const Context& ctx, std::uint64_t seed, const UpdateStepScalars* device_step) {
  draw(ctx, seed, 0, 0, 0.0f, device_step);
}

void PrioritizedSampler::draw(const Context& ctx, std::uint64_t seed, std::uint32_t epoch, std::uint32_t minibatch,
                              float beta, const UpdateStepScalars* device_step) {
  METTA_DISPATCH(ctx, launch_sampling_keys, ctx, prob_.data(), segments_, seed, epoch, minibatch,
                 device_step ? sampler_key_of(device_step) : nullptr, keys_in_.data(), idx_in_.data());
  METTA_DISPATCH(ctx, launch_sort_desc, ctx, keys_in_.data(), keys_out_.data(), idx_in_.data(), idx_out_.data(),
                 segments_, sort_temp_.data(), sort_temp_bytes_);
  METTA_DISPATCH(ctx, launch_sample_weights, ctx, prob_.data(), idx_out_.data(), k_, segments_, beta,
                 device_step ? beta_of(device_step) : nullptr, weights_.data());
}

}  // namespace metta::kernels
