// Dense matrix products on the context's backend, row-major: C[M,N] = alpha * op(A) * op(B) + beta * C,
// op(X) = X or Xᵀ. OpenBLAS on the CPU (float and double: double serves the gradient checks), cuBLAS on
// CUDA (float; double too, for parity tests). Leading dimensions are row strides. Allocates nothing per
// call (the cuBLAS handle is created once per process on first use, at set-up time in practice).
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace metta::kernels {

enum class Trans { kNo, kYes };

template <class T>
void gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc);

// Convenience for contiguous matrices: A is [m,k] (or [k,m] when transposed), B [k,n] (or [n,k]).
template <class T>
void gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, const T* b, T beta, T* c) {
  gemm<T>(ctx, ta, tb, m, n, k, alpha, a, ta == Trans::kNo ? k : m, b, tb == Trans::kNo ? n : k, beta, c, n);
}

// The forward of a linear or convolution layer with its bias (and ReLU) inside the GEMM's epilogue:
// C [m, n] = act(A [m, k] Bᵀ + bias [n]) for B [n, k], act = ReLU or none (cuBLASLt's RELU_BIAS or BIAS
// epilogue: no second pass over C). Only on CUDA, for float, when ctx.fused_epilogues is set; returns
// false, having done nothing, anywhere else, or when cuBLASLt offers no algorithm for the shape and
// alignments. The caller then runs gemm and its own bias and activation pass.
bool gemm_bias_epilogue(const Context& ctx, int m, int n, int k, const float* a, const float* b, const float* bias,
                        bool relu, float* c);
template <class T>
bool gemm_bias_epilogue(const Context&, int, int, int, const T*, const T*, const T*, bool, T*) {
  return false;  // double: the gradient checks, on the CPU
}

namespace detail {
// CUDA implementations (gemm_cuda.cu); throw in a build without CUDA.
void cuda_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc);
void cuda_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, double alpha, const double* a, int lda,
               const double* b, int ldb, double beta, double* c, int ldc);
bool cuda_gemm_bias_epilogue(const Context& ctx, int m, int n, int k, const float* a, const float* b,
                             const float* bias, bool relu, float* c);
}  // namespace detail

// Naive triple loop (host pointers), used by tests.
template <class T>
void gemm_reference(Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T beta,
                    T* c, int ldc);

}  // namespace metta::kernels
