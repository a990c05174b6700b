#include "kernels/blas_setup.h"

#include <cblas.h>
#include <strings.h>

namespace metta::kernels {

std::string blas_core_name() {
  const char* n = openblas_get_corename();
  return n ? n : "unknown";
}

std::string better_blas_core() {
#if defined(__x86_64__)
  const std::string core = blas_core_name();
  const char* better = nullptr;
  if (__builtin_cpu_supports("avx512f")) better = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) better = "Haswell";
  if (!better || strcasecmp(core.c_str(), better) == 0) return "";
  for (const char* fast : {"SkylakeX", "CooperLake", "SapphireRapids", "Zen"})
    if (strcasecmp(core.c_str(), fast) == 0) return "";  // already a fast family
  return better;
#else
  return "";
#endif
}

}  // namespace metta::kernels
