// CPU BLAS set-up. Two facts about Debian's OpenBLAS on our machines drive this:
// 1. Its runtime CPU detection does not recognise some virtualised Xeons and falls back to SSE3
//    ("Prescott") kernels, 2-4x slower than the AVX2/AVX-512 ones the CPU has. The kernel choice is made
//    when the library loads, so the fix is the OPENBLAS_CORETYPE variable: reexec_with_best_blas_core()
//    re-executes the program once with it set (programs call it first thing in main).
// 2. Its pthread pool and our OpenMP threads fight over the cores (yield storms); one BLAS thread while
//    OpenMP runs the rest measured 2x faster end to end on 2 cores. kernels::gemm, the one caller of
//    BLAS, sets that itself before its first product.
#pragma once

#include <string>

namespace metta::kernels {

// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core_name();
// If OPENBLAS_CORETYPE is unset and the loaded kernels are slower than the CPU supports, re-executes
// /proc/self/exe with it set (returns only when no re-exec was needed or possible).
void reexec_with_best_blas_core(int argc, char** argv);

}  // namespace metta::kernels
