// CUDA build of the RL launchers, and the CUB sort.
#include <cub/device/device_radix_sort.cuh>

#define METTA_BACKEND_NS cuda
#include "kernels/rl_impl.h"

namespace metta::kernels {

std::size_t cuda_sort_temp_bytes(std::int64_t n) {
  std::size_t bytes = 0;
  METTA_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, static_cast<const float*>(nullptr),
                                                             static_cast<float*>(nullptr),
                                                             static_cast<const std::int32_t*>(nullptr),
                                                             static_cast<std::int32_t*>(nullptr), static_cast<int>(n)));
  return bytes;
}

namespace cuda {
void launch_sort_desc(const Context& ctx, const float* keys_in, float* keys_out, const std::int32_t* idx_in,
                      std::int32_t* idx_out, std::int64_t n, std::uint8_t* temp, std::size_t temp_bytes) {
  std::size_t bytes = temp_bytes;
  METTA_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(temp, bytes, keys_in, keys_out, idx_in, idx_out,
                                                             static_cast<int>(n), 0, 32,
                                                             static_cast<cudaStream_t>(ctx.stream)));
}
}  // namespace cuda

}  // namespace metta::kernels
