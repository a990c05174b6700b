// The PPO loss of one minibatch as a fused forward + backward (trainer.md §9). Inputs per element
// (n = rows x H, row-major): the new log-prob, entropy and value from the training forward; the old
// log-prob, old value and return stored at sampling time; the raw advantage (recomputed with the new
// ratio, a constant for autograd) and a per-row importance weight. Writes dL/dnew_logp, dL/dentropy,
// dL/dnew_value and the statistics below to device memory; the host reads nothing.
//   adv' = w (adv - mean) / (std + 1e-8)          (norm_adv; unbiased std over the minibatch)
//   pg   = mean(max(-adv' r, -adv' clip(r, 1-eps, 1+eps))),  r = exp(new_logp - old_logp)
//   v    = 0.5 mean(max((V - R)^2, (V_old + clip(V - V_old, -vc, vc) - R)^2))   (clip_vloss)
//   loss = pg - ent_coef mean(entropy) + vf_coef v
#pragma once

#include <cstdint>

#include "kernels/collective.h"
#include "kernels/memory.h"
#include "kernels/reduce.h"

namespace metta::kernels {

// Values come from the trainer's config (train::ppo_loss_params), which holds their one default.
struct PpoLossParams {
  float clip_coef, vf_clip_coef, ent_coef, vf_coef;
  bool clip_vloss, norm_adv;
};

struct PpoLossInputs {
  const float *new_logp, *entropy, *new_value;  // [n]
  const float *old_logp, *old_value, *returns;  // [n]
  const float* adv;                             // [n] raw advantage
  const float* row_weight;                      // [n / horizon] or null (= 1)
  std::int64_t n;
  int horizon;
};

struct PpoLossGrads {
  float *d_new_logp, *d_entropy, *d_new_value;  // [n], overwritten
};

// Statistics written by PpoLoss::run, indices into its stats() buffer.
enum PpoStat : int {
  kPpoLoss = 0, kPpoPolicyLoss, kPpoValueLoss, kPpoEntropy, kPpoApproxKl, kPpoClipFrac, kPpoImportance,
  kPpoLogpMean, kPpoAdvMean, kPpoAdvStd, kPpoStatCount
};
// Their names, as the metrics log them under losses/ (trainer.md §16).
inline constexpr const char* kPpoStatNames[kPpoStatCount] = {
    "loss", "policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "importance", "current_logprobs",
    "advantage_mean", "advantage_std"};

class PpoLoss {
 public:
  PpoLoss() = default;
  // Workspace for minibatches of up to n elements.
  PpoLoss(const Context& ctx, std::int64_t n);
  // With `across` (data-parallel training, world > 1) the advantage mean and std are those of every
  // rank's minibatch together; the gradients stay this rank's (the trainer averages them).
  void run(const Context& ctx, const PpoLossInputs& in, const PpoLossParams& params, const PpoLossGrads& grads,
           const RankSum* across = nullptr);
  const float* stats() const { return stats_.data(); }  // [kPpoStatCount] on the device

 private:
  std::int64_t capacity_ = 0;
  DeviceBuffer<float> terms_;     // [kTermCount, n] per-element terms to sum
  DeviceBuffer<float> sums_;      // [kTermCount + 2]
  DeviceBuffer<float> stats_;     // [kPpoStatCount]
  SegmentedSum adv_sum_, term_sums_;
};

// Naive reference in double on host pointers (tests): fills grads and stats[kPpoStatCount].
void ppo_loss_reference(const PpoLossInputs& in, const PpoLossParams& params, const PpoLossGrads& grads, float* stats);

}  // namespace metta::kernels
