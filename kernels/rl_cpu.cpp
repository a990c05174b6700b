// CPU build of the RL launchers, and the CPU sort.
#include <algorithm>
#include <numeric>

#define METTA_BACKEND_NS cpu
#include "kernels/rl_impl.h"

namespace metta::kernels::cpu {

// Descending by key; equal keys keep ascending index order (as CUB's stable radix sort does).
void launch_sort_desc(const Context&, const float* keys_in, float* keys_out, const std::int32_t* idx_in,
                      std::int32_t* idx_out, std::int64_t n, std::uint8_t*, std::size_t) {
  std::copy(idx_in, idx_in + n, idx_out);
  std::stable_sort(idx_out, idx_out + n, [&](std::int32_t a, std::int32_t b) { return keys_in[a] > keys_in[b]; });
  for (std::int64_t i = 0; i < n; ++i) keys_out[i] = keys_in[idx_out[i]];
}

}  // namespace metta::kernels::cpu

#ifndef METTA_WITH_CUDA
namespace metta::kernels {
std::size_t cuda_sort_temp_bytes(std::int64_t) { return 0; }
}  // namespace metta::kernels
#endif
