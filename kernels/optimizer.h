// Optimizer kernels over one flat parameter buffer (every layer's weights are views into it, and the
// gradients into a twin buffer), so each step is a single elementwise launch:
// - GradNorm: global L2 norm of the gradients (chunked partial sums, then one sum), on the device.
// - adam_step: torch.optim.Adam's update, with clip_grad_norm's scale min(1, max_norm / (norm + 1e-6))
//   applied to the gradient inside the same pass (norm read on the device; the host reads nothing).
#pragma once

#include <cstdint>

#include "kernels/memory.h"
#include "kernels/reduce.h"

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

struct AdamParams {
  float lr = 0.0004573146765703167f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-12f, weight_decay = 0.0f;
};

// One Adam step (step = 1, 2, ...) over n parameters. grad_norm (device scalar) and max_norm > 0 enable
// clipping; pass grad_norm = nullptr for none.
void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t n,
               const AdamParams& p, std::int64_t step, const float* grad_norm, float max_norm);

// Naive references on host pointers, in double (tests).
double grad_norm_reference(const float* grads, std::int64_t n);
void adam_step_reference(float* params, const float* grads, float* m, float* v, std::int64_t n, const AdamParams& p,
                         std::int64_t step, double grad_norm, float max_norm);

}  // namespace metta::kernels
