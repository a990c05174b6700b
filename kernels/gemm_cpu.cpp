#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
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

// Large products are split into row or column blocks of C, each a single-threaded BLAS call that OpenMP
// threads share out: this uses every core without OpenBLAS's own thread pool, which fights OpenMP for
// them. The blocks depend on the shape only, never on the thread count, and K is never split: OpenBLAS
// computes an element differently in different tile shapes (its Haswell/Zen sgemm kernel tiles 24 rows,
// SkylakeX 16, and it has a separate small-matrix path), so the same product must always be the same
// sequence of calls; then the results are the same bits for any thread count, on any x86-64 CPU
// (tests/test_kernels.cpp and test_trainer.cpp check it, under every OpenBLAS core type the CPU runs).
// A product with few rows and many columns (a rollout step's batch against a wide layer) is split by
// columns, so each block packs only its part of B.
struct GemmBlocks {
  bool by_cols;
  int side, block, count;
};
GemmBlocks gemm_blocks(int m, int n, int k) {
  constexpr double kMinParallelMacs = 5e5;  // below: one call, not worth a parallel region
  constexpr double kMinBlockMacs = 2e6;     // a block amortises its packing of the shared operand
  constexpr int kTile = 64;                 // blocks are whole multiples of 64 rows or columns
  constexpr int kMaxBlocks = 16;            // enough to share out over 16 threads, few calls on one
  GemmBlocks g{n > m, n > m ? n : m, 0, 1};
  const double other_macs = static_cast<double>(g.by_cols ? m : n) * k;  // per row (or column) of the side
  if (other_macs * g.side < kMinParallelMacs) {
    g.block = g.side;
    return g;
  }
  const int tiles = (g.side + kTile - 1) / kTile;
  const int min_tiles = static_cast<int>(std::ceil(kMinBlockMacs / (other_macs * kTile)));
  const int per_block = std::max((tiles + kMaxBlocks - 1) / kMaxBlocks, std::max(min_tiles, 1));
  g.block = per_block * kTile;
  g.count = (g.side + g.block - 1) / g.block;
  return g;
}

template <class T>
void cpu_gemm(const Context& ctx, Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
              int ldb, T beta, T* c, int ldc) {
  single_thread_blas_once();
  const GemmBlocks g = gemm_blocks(m, n, k);
  const auto run = [&](int blk) {
    const int i0 = blk * g.block, len = std::min(g.block, g.side - i0);
    if (g.by_cols) {  // C[:, i0 : i0 + len] = op(A) op(B)[:, i0 : i0 + len]
      const T* b0 = tb == Trans::kNo ? b + i0 : b + static_cast<std::int64_t>(i0) * ldb;
      blas(ta, tb, m, len, k, alpha, a, lda, b0, ldb, beta, c + i0, ldc);
    } else {  // C[i0 : i0 + len, :] = op(A)[i0 : i0 + len, :] op(B)
      const T* a0 = ta == Trans::kNo ? a + static_cast<std::int64_t>(i0) * lda : a + i0;
      blas(ta, tb, len, n, k, alpha, a0, lda, b, ldb, beta, c + static_cast<std::int64_t>(i0) * ldc, ldc);
    }
  };
  const int threads_max = ctx.num_threads > 0 ? ctx.num_threads : omp_get_max_threads();
  const int threads = std::min(g.count, threads_max);
  if (threads <= 1) {
    const FlushDenormals ftz;
    for (int blk = 0; blk < g.count; ++blk) run(blk);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const FlushDenormals ftz;
#pragma omp for schedule(static) nowait  // the region's end is the one barrier
    for (int blk = 0; blk < g.count; ++blk) run(blk);
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

bool gemm_bias_epilogue(const Context& ctx, int m, int n, int k, const float* a, const float* b, const float* bias,
                        bool relu, float* c) {
  if (ctx.device != Device::CUDA || !ctx.fused_epilogues || m == 0 || n == 0 || !bias) return false;
  return detail::cuda_gemm_bias_epilogue(ctx, m, n, k, a, b, bias, relu, c);
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
bool cuda_gemm_bias_epilogue(const Context&, int, int, int, const float*, const float*, const float*, bool, float*) {
  return false;
}
}  // namespace detail
#endif

}  // namespace metta::kernels
