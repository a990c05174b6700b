// parallel_for(ctx, n, body): runs body(i) for i in [0, n) on the context's backend.
// Compiled by g++ (from a .cpp) it is an OpenMP loop; compiled by nvcc (from a .cu) it is a grid-stride
// kernel on ctx.stream. A launcher written once against it in an `x_impl.h` therefore serves both
// backends; each translation unit asserts that the context matches the backend it was compiled for.
// Bodies must not depend on the order or grouping of i (results never depend on thread count).
#pragma once

#include <cstdint>

#include "kernels/device.h"

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#include "kernels/cuda_check.h"
#else
#include <omp.h>

#include "kernels/denormals.h"
#endif

// Launchers with a separate device-side variant (coalesced, a thread per element) select it with
// `#if METTA_DEVICE_PATH`: on under nvcc, and in host builds that define METTA_EMULATE_DEVICE_PATH,
// which the tests use to run the device variants' logic on the CPU against the CPU variants.
#if defined(__CUDACC__) || defined(METTA_EMULATE_DEVICE_PATH)
#define METTA_DEVICE_PATH 1
#else
#define METTA_DEVICE_PATH 0
#endif

namespace metta::kernels {

#if defined(__CUDACC__)
template <class F>
__global__ void parallel_for_kernel(std::int64_t n, F body) {
  const std::int64_t stride = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) body(i);
}

template <class F>
void parallel_for(const Context& ctx, std::int64_t n, F body, int block = 256) {
  METTA_CHECK(ctx.device == Device::CUDA, "CUDA launcher called with a CPU context");
  if (n <= 0) return;
  std::int64_t grid = (n + block - 1) / block;
  if (grid > 1 << 20) grid = 1 << 20;
  parallel_for_kernel<<<static_cast<unsigned>(grid), block, 0, static_cast<cudaStream_t>(ctx.stream)>>>(n, body);
  METTA_CUDA_CHECK(cudaGetLastError());
}
#else
template <class F>
void parallel_for(const Context& ctx, std::int64_t n, F body, int /*block*/ = 256) {
  METTA_CHECK(ctx.device == Device::CPU, "CPU launcher called with a CUDA context");
  if (n <= 0) return;
  const int threads = ctx.num_threads > 0 ? ctx.num_threads : omp_get_max_threads();
  if (threads <= 1 || n == 1) {
    const FlushDenormals ftz;
    for (std::int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const FlushDenormals ftz;  // per thread: the mode is thread state
#pragma omp for schedule(static) nowait  // the region's end is the one barrier
    for (std::int64_t i = 0; i < n; ++i) body(i);
  }
}
#endif

}  // namespace metta::kernels
