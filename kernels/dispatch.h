// METTA_DISPATCH(ctx, fn, args...): calls cuda::fn(args...) for a CUDA context and cpu::fn(args...)
// otherwise, where cpu:: and cuda:: are the namespaces an x_impl.h launcher is compiled into (by g++
// from x_cpu.cpp and by nvcc from x_cuda.cu). In a build without CUDA the cuda:: branch is compiled
// out and a CUDA context throws, so no stubs are needed. Launchers return void.
#pragma once

#include "kernels/common.h"

namespace metta::kernels {
[[noreturn]] inline void fail_no_cuda_backend() {
  METTA_FAIL("a CUDA context reached a launcher in a build without the CUDA backend");
}
}  // namespace metta::kernels

#ifdef METTA_WITH_CUDA
#define METTA_DISPATCH(ctx, fn, ...) \
  ((ctx).device == ::metta::kernels::Device::CUDA ? cuda::fn(__VA_ARGS__) : cpu::fn(__VA_ARGS__))
#else
#define METTA_DISPATCH(ctx, fn, ...) \
  ((ctx).device == ::metta::kernels::Device::CUDA ? ::metta::kernels::fail_no_cuda_backend() : cpu::fn(__VA_ARGS__))
#endif

// Declares a launcher in both backend namespaces.
#define METTA_DECLARE_LAUNCHER(ret, name, ...) \
  namespace cpu {                              \
  ret name(__VA_ARGS__);                       \
  }                                            \
  namespace cuda {                             \
  ret name(__VA_ARGS__);                       \
  }
