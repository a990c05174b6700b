// Error macros for CUDA runtime, cuBLAS and cuDNN calls (nvcc translation units only). Each throws
// metta::Error with the call text, file:line and the library's own message. The _NOTHROW variant hands the
// same text to the log callback (kernels/log.h) and is the one to use in destructors.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/common.h"
#include "kernels/log.h"

// The shared form: `call` returns a status of its library; anything but `ok` throws with the call's text,
// file:line and "<library> error: " + message(status).
#define METTA_STATUS_CHECK_(call, call_text, ok, library, message)                                   \
  do {                                                                                               \
    const auto metta_status_ = (call);                                                               \
    if (metta_status_ != (ok))                                                                       \
      ::metta::detail::throw_error(call_text, __FILE__, __LINE__,                                    \
                                   std::string(library " error: ") + message(metta_status_));        \
  } while (0)

#define METTA_CUDA_CHECK(call) METTA_STATUS_CHECK_(call, #call, cudaSuccess, "CUDA", cudaGetErrorString)

#define METTA_CUDA_CHECK_NOTHROW(call)                                                               \
  do {                                                                                               \
    cudaError_t metta_err_ = (call);                                                                 \
    if (metta_err_ != cudaSuccess) {                                                                 \
      char metta_msg_[512];                                                                          \
      std::snprintf(metta_msg_, sizeof metta_msg_, "%s failed at %s:%d: %s", #call, __FILE__,         \
                    __LINE__, cudaGetErrorString(metta_err_));                                       \
      ::metta::log_message(::metta::LogLevel::kWarning, metta_msg_);                                 \
    }                                                                                                \
  } while (0)
