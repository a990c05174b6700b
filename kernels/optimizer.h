// Optimizer kernels over one flat parameter buffer (every layer's weights are views into it, and the
// gradients into a twin buffer), so each step is a single elementwise launch:
// - GradNorm: global L2 norm of the gradients (chunked partial sums, then one sum), on the device.
// - adam_step: torch.optim.Adam's update, with clip_grad_norm's scale min(1, max_norm / (norm + 1e-6))
//   applied to the gradient inside the same pass (norm read on the device; the host reads nothing).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/memory.h"
#include "kernels/reduce.h"
#include "kernels/update_step.h"

namespace metta::kernels {

class GradNorm {
 public:
  GradNorm() = default;
  GradNorm(const Context& ctx, std::int64_t n);
  // Writes ||grads||_2 to norm() (device scalar).
  void run(const Context& ctx, const float* grads);
  const float* norm() const { return out_.data() + 1; }

 private:
  std::int64_t n_ = 0, chunks_ = 0;
  DeviceBuffer<float> partials_;
  DeviceBuffer<float> out_;  // [0] sum of squares, [1] norm
  SegmentedSum sum_;
};

// Moments of a flat parameter (or gradient) vector for logging, on the device: the sum, the sum of
// squares and, against a reference vector (may be null), the sum of squared differences. The three
// results stay on the device (out()[0..2]); the host reads them only when it logs (trainer.md §9, §16:
// l2_reg / l2_init losses and grad/{mean, variance, norm}).
class VectorMoments {
 public:
  VectorMoments() = default;
  VectorMoments(const Context& ctx, std::int64_t n);
  void run(const Context& ctx, const float* x, const float* reference);
  const float* out() const { return out_.data(); }
  std::int64_t size() const { return n_; }

 private:
  std::int64_t n_ = 0, chunks_ = 0;
  DeviceBuffer<float> partials_;  // [3, chunks]
  DeviceBuffer<float> out_;       // [3]
  SegmentedSum sum_;
};

// dst = alpha * dst + (1 - alpha) * src over n floats (the l2-init reference's moving average).
void ema_blend(const Context& ctx, float* dst, const float* src, std::int64_t n, float alpha);

// Values come from the trainer's config (train::adam_params), which holds their one default.
struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay;
};

// One Adam step (step = 1, 2, ...) over n parameters. grad_norm (device scalar) and max_norm > 0 enable
// clipping; pass grad_norm = nullptr for none.
void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
               const AdamParams& p, std::int64_t step, const float* grad_norm, float max_norm);
// The step's two scalars, as torch computes them (in double, then float): lr / (1 - beta1^step) and
// sqrt(1 - beta2^step). adam_step uses them; a recorded update's table holds them.
struct AdamStepScalars {
  float step_size, bias_correction2_sqrt;
};
AdamStepScalars adam_step_scalars(const AdamParams& p, std::int64_t step);
// The same step with its two scalars read from device memory (a recorded update's replays).
void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
               const AdamParams& p, const UpdateStepScalars* device_step, const float* grad_norm, float max_norm);

// Muon (heavyball 1.7.2 ForeachMuon as the reference describes, trainer.md §12): Nesterov momentum
// m = b1 m + g, u = g + b1 m; 1-D tensors use u; 2-D views [rows, cols] of larger tensors are
// orthogonalized, by 5 Newton-Schulz iterations (a, b, c) = (3.4445, -4.7750, 2.0315) on
// X = u / (||u||_F + 1e-7) (transposed when rows > cols) or, for square ones, by the Q of u's QR
// decomposition, then scaled by sqrt(max(1, rows / cols)); p = p (1 - wd lr) - lr update. We iterate in
// float (the reference uses bf16). Workspaces are sized at construction from the tensor shapes.
struct MuonTensor {
  std::int64_t offset, rows, cols;  // [dim0, prod(rest)]; a 1-D tensor is rows = size, cols = 1
  bool matrix = true;               // false for 1-D tensors (their update is the momentum direction)
};

class Muon {
 public:
  Muon() = default;
  Muon(const Context& ctx, std::vector<MuonTensor> tensors, std::int64_t total);
  // grad_norm / max_norm: the global clipping applied to the gradient first (grad_norm may be null).
  void step(const Context& ctx, float* params, const float* grads, const AdamParams& p, const float* grad_norm,
            float max_norm);
  const float* momentum() const { return m_.data(); }
  float* momentum() { return m_.data(); }

 private:
  std::vector<MuonTensor> tensors_;
  std::int64_t total_ = 0;
  DeviceBuffer<float> m_, u_, x_, xn_, a_, b_, partials_, norm_;
};

// Naive references on host pointers, in double (tests).
double grad_norm_reference(const float* grads, std::int64_t n);
// {sum x, sum x^2, sum (x - reference)^2} in double; reference may be null.
void vector_moments_reference(const float* x, const float* reference, std::int64_t n, double out[3]);
void muon_step_reference(float* params, const float* grads, float* m, const std::vector<MuonTensor>& tensors,
                         const AdamParams& p, double grad_norm, float max_norm);
void adam_step_reference(float* params, const float* grads, float* m, float* v, std::int64_t n, const AdamParams& p,
                         std::int64_t step, double grad_norm, float max_norm);

}  // namespace metta::kernels
