// Reductions the engine needs: row sums of a [segments, len] float matrix (out[s] = Σ_j in[s·len + j]).
// CUB's DeviceSegmentedReduce on the GPU, a sequential loop per row on the CPU. Both are deterministic
// run to run; they may differ from each other in the last bits (summation order), so callers compare
// them with a tolerance. The workspace (CUB temp storage, segment offsets) is sized once at set-up.
#pragma once

#include <cstdint>

#include "kernels/memory.h"

namespace metta::kernels {

class SegmentedSum {
 public:
  SegmentedSum() = default;
  SegmentedSum(const Context& ctx, std::int64_t segments, std::int64_t len);
  // in: [segments, len] on the context's device; out: [segments] on the same device. Allocates nothing.
  void run(const Context& ctx, const float* in, float* out) const;
  std::int64_t segments() const { return segments_; }
  std::int64_t len() const { return len_; }

 private:
  std::int64_t segments_ = 0, len_ = 0;
  DeviceBuffer<std::int32_t> offsets_;   // CUDA only: segments + 1 row starts
  DeviceBuffer<std::uint8_t> temp_;      // CUDA only: CUB temp storage
  mutable std::size_t temp_bytes_ = 0;
};

// Naive reference (host pointers), used by tests.
void segmented_sum_reference(const float* in, float* out, std::int64_t segments, std::int64_t len);

}  // namespace metta::kernels
