// Error macros for CUDA runtime, cuBLAS and cuDNN calls (nvcc translation units only). Each throws
// metta::Error with the call text, file:line and the library's own message. The _NOTHROW variant logs to
// stderr and is the one to use in destructors.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/common.h"

#define METTA_CUDA_CHECK(call)                                                                   \
  do {                                                                                           \
    cudaError_t metta_err_ = (call);                                                             \
    if (metta_err_ != cudaSuccess)                                                               \
      ::metta::detail::throw_error(#call, __FILE__, __LINE__,                                    \
                                   std::string("CUDA error: ") + cudaGetErrorString(metta_err_)); \
  } while (0)

#define METTA_CUDA_CHECK_NOTHROW(call)                                                               \
  do {                                                                                               \
    cudaError_t metta_err_ = (call);                                                                 \
    if (metta_err_ != cudaSuccess)                                                                   \
      std::fprintf(stderr, "metta: %s failed at %s:%d: %s\n", #call, __FILE__, __LINE__,             \
                   cudaGetErrorString(metta_err_));                                                  \
  } while (0)
