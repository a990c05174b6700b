// CPU BLAS facts the programs need. Debian's OpenBLAS picks its kernels when it loads, from its own CPU
// detection, which falls back to SSE3 ("Prescott") kernels on some virtualised Xeons (2-4x slower than
// the AVX2/AVX-512 kernels the CPU has); the fix is the OPENBLAS_CORETYPE variable, set by the programs
// before they start (api/process/process_setup.h), never by the library. The library runs BLAS
// single-threaded itself (kernels::gemm splits products over OpenMP threads).
#pragma once

#include <string>

namespace metta::kernels {

// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core_name();
// A faster kernel family the CPU supports than the loaded one ("SkylakeX" or "Haswell"), or "" when the
// loaded one is already a fast family.
std::string better_blas_core();

}  // namespace metta::kernels
