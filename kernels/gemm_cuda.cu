// cuBLAS side of kernels/gemm.h. cuBLAS is column-major: a row-major C = op(A)·op(B) is the
// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands are passed swapped.
#include <mutex>

#include "kernels/cublas_check.h"
#include "kernels/cuda_check.h"
#include "kernels/gemm.h"

namespace metta::kernels {
namespace {

cublasHandle_t handle() {
  static cublasHandle_t h = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { METTA_CUBLAS_CHECK(cublasCreate(&h)); });
  return h;
}

cublasOperation_t to_cublas(Trans t) { return t == Trans::kNo ? CUBLAS_OP_N : CUBLAS_OP_T; }

}  // namespace

namespace detail {

void cuda_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda,
                      const float* b, int ldb, float beta, float* c, int ldc) {
  cublasHandle_t h = handle();
  METTA_CUBLAS_CHECK(cublasSetStream(h, static_cast<cudaStream_t>(ctx.stream)));
  if (ctx.math == MathMode::kBf16) {
    // fp32 operands and result; the products on bf16 tensor cores, accumulated in fp32
    METTA_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    METTA_CUBLAS_CHECK(cublasGemmEx(h, to_cublas(tb), to_cublas(ta), n, m, k, &alpha, b, CUDA_R_32F, ldb, a, CUDA_R_32F,
                                    lda, &beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    return;
  }
  METTA_CUBLAS_CHECK(cublasSetMathMode(h, ctx.math == MathMode::kTf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  METTA_CUBLAS_CHECK(cublasSgemm(h, to_cublas(tb), to_cublas(ta), n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

void cuda_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, double alpha, const double* a,
                       int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  cublasHandle_t h = handle();
  METTA_CUBLAS_CHECK(cublasSetStream(h, static_cast<cudaStream_t>(ctx.stream)));
  METTA_CUBLAS_CHECK(cublasDgemm(h, to_cublas(tb), to_cublas(ta), n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

}  // namespace detail
}  // namespace metta::kernels
