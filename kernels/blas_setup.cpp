#include "kernels/blas_setup.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace metta::kernels {

std::string blas_core_name() {
  const char* n = openblas_get_corename();
  return n ? n : "unknown";
}

void reexec_with_best_blas_core(int /*argc*/, char** argv) {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("METTA_NO_BLAS_REEXEC")) return;
  const std::string core = blas_core_name();
  const char* better = nullptr;
  if (__builtin_cpu_supports("avx512f")) better = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) better = "Haswell";
  if (!better || strcasecmp(core.c_str(), better) == 0) return;
  if (strcasecmp(core.c_str(), "SkylakeX") == 0 || strcasecmp(core.c_str(), "CooperLake") == 0 ||
      strcasecmp(core.c_str(), "SapphireRapids") == 0 || strcasecmp(core.c_str(), "Zen") == 0)
    return;  // already a fast family
  setenv("OPENBLAS_CORETYPE", better, 1);
  setenv("METTA_NO_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure; then carry on with what we have
#else
  (void)argv;
#endif
}

}  // namespace metta::kernels
