// Tests that must hold under every OpenBLAS kernel family (tests/CMakeLists.txt runs them again with
// OPENBLAS_CORETYPE set to each): the reason to skip when the requested family cannot run on this CPU or
// OpenBLAS did not load it, empty when the test should run.
#pragma once

#include <strings.h>

#include <cstdlib>
#include <string>

#include "kernels/blas_setup.h"

namespace metta::testing {

inline bool cpu_runs_blas_core(const std::string& core) {
#if defined(__x86_64__)
  if (core == "Prescott") return __builtin_cpu_supports("sse3");
  if (core == "Sandybridge") return __builtin_cpu_supports("avx");
  if (core == "Haswell" || core == "Zen") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (core == "SkylakeX")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
  return false;
}

inline std::string requested_blas_core_skip_reason() {
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  if (!core) return "";
  if (!cpu_runs_blas_core(core)) return std::string("this CPU cannot run OpenBLAS's ") + core + " kernels";
  const std::string loaded = kernels::blas_core_name();
  if (strcasecmp(loaded.c_str(), core) != 0)
    return "OpenBLAS runs " + loaded + " kernels, not the requested " + core;
  return "";
}

}  // namespace metta::testing
