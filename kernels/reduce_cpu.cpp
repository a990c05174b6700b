#include "kernels/reduce.h"

#include "kernels/parallel.h"

namespace metta::kernels {

void cuda_segmented_sum_setup(const Context& ctx, std::int64_t segments, std::int64_t len,
                              DeviceBuffer<std::int32_t>& offsets, DeviceBuffer<std::uint8_t>& temp,
                              std::size_t& temp_bytes);
void cuda_segmented_sum_run(const Context& ctx, const float* in, float* out, std::int64_t segments,
                            const std::int32_t* offsets, std::uint8_t* temp, std::size_t temp_bytes);

SegmentedSum::SegmentedSum(const Context& ctx, std::int64_t segments, std::int64_t len)
    : segments_(segments), len_(len) {
  METTA_CHECK(segments >= 0 && len >= 0, "segmented sum of " << segments << " x " << len);
  if (ctx.device == Device::CUDA) cuda_segmented_sum_setup(ctx, segments, len, offsets_, temp_, temp_bytes_);
}

void SegmentedSum::run(const Context& ctx, const float* in, float* out) const {
  if (ctx.device == Device::CUDA) {
    cuda_segmented_sum_run(ctx, in, out, segments_, offsets_.data(), const_cast<std::uint8_t*>(temp_.data()),
                           temp_bytes_);
    return;
  }
  const std::int64_t len = len_;
  parallel_for(ctx, segments_, [=](std::int64_t s) {
    float acc = 0.0f;
    for (std::int64_t j = 0; j < len; ++j) acc += in[s * len + j];
    out[s] = acc;
  });
}

void segmented_sum_reference(const float* in, float* out, std::int64_t segments, std::int64_t len) {
  for (std::int64_t s = 0; s < segments; ++s) {
    double acc = 0.0;
    for (std::int64_t j = 0; j < len; ++j) acc += in[s * len + j];
    out[s] = static_cast<float>(acc);
  }
}

#ifndef METTA_WITH_CUDA
void cuda_segmented_sum_setup(const Context&, std::int64_t, std::int64_t, DeviceBuffer<std::int32_t>&,
                              DeviceBuffer<std::uint8_t>&, std::size_t&) {
  METTA_FAIL("segmented sum on CUDA requested in a build without the CUDA backend");
}
void cuda_segmented_sum_run(const Context&, const float*, float*, std::int64_t, const std::int32_t*, std::uint8_t*,
                            std::size_t) {
  METTA_FAIL("segmented sum on CUDA requested in a build without the CUDA backend");
}
#endif

}  // namespace metta::kernels
