// METTA_CUBLAS_CHECK: throws metta::Error with the call text, file:line and cuBLAS's status name
// (nvcc translation units that use cuBLAS only).
#pragma once

#include <cublas_v2.h>

#include <string>

#include "kernels/cuda_check.h"

#define METTA_CUBLAS_CHECK(call) \
  METTA_STATUS_CHECK_(call, #call, CUBLAS_STATUS_SUCCESS, "cuBLAS", cublasGetStatusName)
