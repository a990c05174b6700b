// Prioritized segment sampling (trainer.md §11). From the full-buffer advantages [S, H]:
//   p_i = (sum_t |A[i,t]|)^alpha (NaN/inf -> 0),  P_i = (p_i + 1e-6) / (sum_j p_j + 1e-6)
// each minibatch draws k rows without replacement with probability proportional to P (Efraimidis-
// Spirakis: the k largest keys log(u_i) / P_i, u_i from the counter RNG), and weights
// w_i = (S P_i)^(-beta). Sorting: std::sort on the CPU, CUB radix sort on CUDA (stable, so equal keys
// keep index order on both).
#pragma once

#include <cstdint>

#include "kernels/memory.h"
#include "kernels/reduce.h"
#include "kernels/update_step.h"

namespace metta::kernels {

// beta annealed from beta0 toward 1 over training (trainer.md §11).
double calculate_anneal_beta(std::int64_t epoch, std::int64_t total_timesteps, std::int64_t batch_size,
                             double prio_beta0, double prio_alpha);

class PrioritizedSampler {
 public:
  PrioritizedSampler() = default;
  PrioritizedSampler(const Context& ctx, std::int64_t segments, int horizon, std::int64_t minibatch_segments);
  // Recomputes P from the full-buffer advantages (once per train phase).
  void set_priorities(const Context& ctx, const float* advantages, float alpha);
  // Draws one minibatch: rows() [k] (sorted by key, descending) and weights() [k] (w of each drawn row).
  void sample(const Context& ctx, std::uint64_t seed, std::uint32_t epoch, std::uint32_t minibatch, float beta);
  // The same draw with (epoch, minibatch, beta) read from device memory (a recorded update's replays).
  void sample(const Context& ctx, std::uint64_t seed, const UpdateStepScalars* device_step);
  const std::int32_t* rows() const { return idx_out_.data(); }
  const float* weights() const { return weights_.data(); }
  const float* probabilities() const { return prob_.data(); }  // [S]
  std::int64_t segments() const { return segments_; }
  std::int64_t minibatch_segments() const { return k_; }

 private:
  void draw(const Context& ctx, std::uint64_t seed, std::uint32_t epoch, std::uint32_t minibatch, float beta,
            const UpdateStepScalars* device_step);
  std::int64_t segments_ = 0, k_ = 0;
  int horizon_ = 0;
  DeviceBuffer<float> prio_, prob_, keys_in_, keys_out_, weights_, total_;
  DeviceBuffer<std::int32_t> idx_in_, idx_out_;
  DeviceBuffer<std::uint8_t> sort_temp_;
  std::size_t sort_temp_bytes_ = 0;
  SegmentedSum total_sum_;
};

}  // namespace metta::kernels
