// Kickstarter (teacher distillation) terms of the loss (trainer.md §13, decision D4), fused forward +
// backward over n rows of A logits. With teacher log-probs from its logits, f the annealing factor:
//   ks_action = -mean_r sum_a softmax(teacher)_a * log softmax(student)_a * action_coef * f
//   ks_value  =  mean_r (V_teacher - V_student)^2 * value_coef * f          (elementwise)
// Adds dL/d student_logits into dlogits (+=) and dL/d student_value into d_value (+=); writes the two
// loss values to stats[0..1] on the device.
#pragma once

#include <cstdint>

#include "kernels/memory.h"
#include "kernels/reduce.h"

namespace metta::kernels {

// Values come from the trainer's config (train::kickstarter_params), which holds their one default.
struct KickstarterParams {
  float action_loss_coef, value_loss_coef;
  float anneal_ratio;
  double kickstart_steps;
};

// The annealing factor at agent_step: 1 until kickstart_steps (1 - anneal_ratio), then linear to 0 at
// kickstart_steps; 0 after it.
double kickstart_factor(const KickstarterParams& p, std::int64_t agent_step);

class KickstarterLoss {
 public:
  KickstarterLoss() = default;
  KickstarterLoss(const Context& ctx, std::int64_t n);
  void run(const Context& ctx, const float* student_logits, const float* teacher_logits, int num_logits,
           const float* student_value, const float* teacher_value, float action_coef, float value_coef,
           float* dlogits, float* d_value);
  const float* stats() const { return sums_.data(); }  // [0] ks_action, [1] ks_value

 private:
  std::int64_t n_ = 0;
  DeviceBuffer<float> terms_, sums_;
  SegmentedSum sum_;
};

// Naive reference in double (tests): adds into dlogits and d_value, returns {ks_action, ks_value}.
void kickstarter_reference(const float* student_logits, const float* teacher_logits, std::int64_t n, int num_logits,
                           const float* student_value, const float* teacher_value, float action_coef,
                           float value_coef, float* dlogits, float* d_value, double* losses);

}  // namespace metta::kernels
