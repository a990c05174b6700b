// METTA_REQUIRE_GPU(): skips the current test, with the reason, when no CUDA device can be used.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "kernels/device.h"

#define METTA_REQUIRE_GPU()                                                        \
  do {                                                                             \
    const std::string metta_why_ = ::metta::kernels::cuda_unavailable_reason();   \
    if (!metta_why_.empty()) GTEST_SKIP() << "GPU test skipped: " << metta_why_;   \
  } while (0)
