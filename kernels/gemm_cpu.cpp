#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "kernels/denormals.h"
#include "kernels/gemm.h"

namespace metta::kernels {

namespace {
CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::kNo ? CblasNoTrans : CblasTrans; }

void blas(Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
          float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas(Trans ta, Trans tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
          double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Our products split themselves over OpenMP threads (below), so OpenBLAS runs one thread per call: set
// once, before the first product, for every program using the library (its own pthread pool would fight
// OpenMP for the cores, and its workers would not flush subnormals: kernels/denormals.h).
void single_thread_blas_once() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

// Large products are split into row blocks of C, one per OpenMP thread, each a single-threaded BLAS call:
// this uses every core without OpenBLAS's own thread pool, which fights OpenMP for them. Each element
// of C is still one call's full-K dot product, so results do not depend on how the rows are split.
template <class T>
void cpu_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
              int ldb, T beta, T* c, int ldc) {
  single_thread_blas_once();
  const int threads = ctx.num_threads > 0 ? ctx.num_threads : omp_get_max_threads();
  const double work = static_cast<double>(m) * n * k;
  if (threads <= 1 || work < 5e5 || m < 2 * threads) {
    const FlushDenormals ftz;
    blas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int block = (m + threads - 1) / threads;
#pragma omp parallel num_threads(threads)
  {
    const FlushDenormals ftz;
#pragma omp for schedule(static)
    for (int t = 0; t < threads; ++t) {
      const int i0 = t * block, rows = std::min(block, m - i0);
      if (rows <= 0) continue;
      const T* a0 = ta == Trans::kNo ? a + static_cast<std::int64_t>(i0) * lda : a + i0;
      blas(ta, tb, rows, n, k, alpha, a0, lda, b, ldb, beta, c + static_cast<std::int64_t>(i0) * ldc, ldc);
    }
  }
}
}  // namespace

template <>
void gemm<float>(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (ctx.device == Device::CUDA) return detail::cuda_gemm(ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  cpu_gemm<float>(ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, double alpha, const double* a, int lda,
                  const double* b, int ldb, double beta, double* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (ctx.device == Device::CUDA) return detail::cuda_gemm(ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  cpu_gemm<double>(ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
void gemm_reference(Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T beta,
                    T* c, int ldc) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int p = 0; p < k; ++p) {
        const T av = ta == Trans::kNo ? a[i * lda + p] : a[p * lda + i];
        const T bv = tb == Trans::kNo ? b[p * ldb + j] : b[j * ldb + p];
        acc += static_cast<double>(av) * bv;
      }
      c[i * ldc + j] = static_cast<T>(alpha * acc + (beta == T(0) ? 0.0 : static_cast<double>(beta) * c[i * ldc + j]));
    }
}
template void gemm_reference<float>(Trans, Trans, int, int, int, float, const float*, int, const float*, int, float,
                                    float*, int);
template void gemm_reference<double>(Trans, Trans, int, int, int, double, const double*, int, const double*, int,
                                     double, double*, int);

#ifndef METTA_WITH_CUDA
namespace detail {
void cuda_gemm(const Context&, Trans, Trans, int, int, int, float, const float*, int, const float*, int, float, float*,
               int) {
  METTA_FAIL("CUDA gemm requested in a build without the CUDA backend");
}
void cuda_gemm(const Context&, Trans, Trans, int, int, int, double, const double*, int, const double*, int, double,
               double*, int) {
  METTA_FAIL("CUDA gemm requested in a build without the CUDA backend");
}
}  // namespace detail
#endif

}  // namespace metta::kernels
