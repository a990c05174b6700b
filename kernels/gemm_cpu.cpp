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

// Large products are split into row or column blocks of C, one per OpenMP thread, each a single-threaded
// BLAS call: this uses every core without OpenBLAS's own thread pool, which fights OpenMP for them.
// OpenBLAS computes an element differently in a full register tile and in an edge tile, so the blocks
// start at multiples of 64 rows or columns (a multiple of the register tiles of its x86 kernels): each
// element then lands in the same kind of tile as in one whole call, and the results are the same bits for
// any thread count (tests/test_kernels.cpp and test_trainer.cpp check it). A product with few rows and many columns (a rollout step's batch
// against a wide layer) is split by columns, so each block packs only its part of B.
template <class T>
void cpu_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
              int ldb, T beta, T* c, int ldc) {
  single_thread_blas_once();
  const bool by_cols = n > m;
  const int side = by_cols ? n : m;
  const int threads_max = ctx.num_threads > 0 ? ctx.num_threads : omp_get_max_threads();
  const bool small = static_cast<double>(m) * n * k < 5e5;  // not worth a parallel region: one call
  const int block = small ? side : ((side + threads_max - 1) / threads_max + 63) / 64 * 64;
  const int blocks = (side + block - 1) / block;
  const auto run = [&](int blk) {
    const int i0 = blk * block, len = std::min(block, side - i0);
    if (by_cols) {  // C[:, i0 : i0 + len] = op(A) op(B)[:, i0 : i0 + len]
      const T* b0 = tb == Trans::kNo ? b + i0 : b + static_cast<std::int64_t>(i0) * ldb;
      blas(ta, tb, m, len, k, alpha, a, lda, b0, ldb, beta, c + i0, ldc);
    } else {  // C[i0 : i0 + len, :] = op(A)[i0 : i0 + len, :] op(B)
      const T* a0 = ta == Trans::kNo ? a + static_cast<std::int64_t>(i0) * lda : a + i0;
      blas(ta, tb, len, n, k, alpha, a0, lda, b, ldb, beta, c + static_cast<std::int64_t>(i0) * ldc, ldc);
    }
  };
  const int threads = std::min(blocks, threads_max);
  if (threads <= 1) {
    const FlushDenormals ftz;
    for (int blk = 0; blk < blocks; ++blk) run(blk);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const FlushDenormals ftz;
#pragma omp for schedule(static) nowait  // the region's end is the one barrier
    for (int blk = 0; blk < blocks; ++blk) run(blk);
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
