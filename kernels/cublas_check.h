// METTA_CUBLAS_CHECK: throws metta::Error with the call text, file:line and cuBLAS's status name
// (nvcc translation units that use cuBLAS only).
#pragma once

#include <cublas_v2.h>

#include <string>

#include "kernels/common.h"

#define METTA_CUBLAS_CHECK(call)                                                                        \
  do {                                                                                                  \
    cublasStatus_t metta_st_ = (call);                                                                  \
    if (metta_st_ != CUBLAS_STATUS_SUCCESS)                                                             \
      ::metta::detail::throw_error(#call, __FILE__, __LINE__,                                           \
                                   std::string("cuBLAS error: ") + cublasGetStatusName(metta_st_));     \
  } while (0)
