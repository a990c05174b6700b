// cuBLAS side of kernels/gemm.h. cuBLAS is column-major: a row-major C = op(A)·op(B) is the
// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands are passed swapped.
#include <cublasLt.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

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

// ---- cuBLASLt: the GEMMs with a bias (and ReLU) epilogue
cublasLtHandle_t lt_handle() {
  static cublasLtHandle_t h = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { METTA_CUBLAS_CHECK(cublasLtCreate(&h)); });
  return h;
}

// The largest power of two up to 16 that divides the address: cuBLASLt picks its algorithms by the
// operands' alignment, and our layers are views into one flat parameter buffer (4-byte aligned at least).
std::uint32_t alignment_of(const void* p) {
  const auto v = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t a = 16;
  while (a > 4 && v % a != 0) a /= 2;
  return a;
}

// One matmul plan per (shape, epilogue, math mode, alignments): its descriptors and the algorithm the
// heuristic chose, found once (the heuristic query costs far more than a launch). ok = false when the
// heuristic offers none: the caller falls back to the plain GEMM for good.
struct LtPlan {
  bool ok = false;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulAlgo_t algo{};
};
using LtKey = std::tuple<int, int, int, bool, int, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>;

cublasComputeType_t lt_compute(MathMode m) {
  return m == MathMode::kTf32   ? CUBLAS_COMPUTE_32F_FAST_TF32
         : m == MathMode::kBf16 ? CUBLAS_COMPUTE_32F_FAST_16BF
                                : CUBLAS_COMPUTE_32F;
}

// Column-major view of the row-major layer (see the top of this file): Yᶜ [n, m] = op_T(Wᶜ [k, n]) · Xᶜ
// [k, m], the bias [n] along Yᶜ's rows, which is what the BIAS epilogue broadcasts over the columns.
LtPlan make_plan(const LtKey& key, const float* bias) {
  const auto [m, n, k, relu, math, align_w, align_x, align_y, align_bias] = key;
  (void)align_bias;
  LtPlan p;
  METTA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, lt_compute(static_cast<MathMode>(math)), CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  METTA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  METTA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  const cublasLtEpilogue_t epi = relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  METTA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
  // the heuristic reads the bias pointer's value for its alignment
  METTA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  METTA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.w, CUDA_R_32F, k, n, k));
  METTA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.x, CUDA_R_32F, k, m, k));
  METTA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.y, CUDA_R_32F, n, m, n));
  cublasLtMatmulPreference_t pref = nullptr;
  METTA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  // No workspace: launches on different streams never share one, and no split-K scheme (each needs
  // workspace) reduces a shape's sums in another order.
  const std::uint64_t workspace = 0;
  METTA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                                          sizeof workspace));
  const std::pair<cublasLtMatmulPreferenceAttributes_t, std::uint32_t> alignments[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_w},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_x},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_y},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_y}};
  for (const auto& [attribute, bytes] : alignments)
    METTA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &bytes, sizeof bytes));
  cublasLtMatmulHeuristicResult_t found{};
  int count = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(lt_handle(), p.op, p.w, p.x, p.y, p.y, pref, 1, &found, &count);
  METTA_CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
  p.ok = st == CUBLAS_STATUS_SUCCESS && count > 0 && found.state == CUBLAS_STATUS_SUCCESS;
  if (p.ok) p.algo = found.algo;
  return p;
}

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

bool cuda_gemm_bias_epilogue(const Context& ctx, int m, int n, int k, const float* a, const float* b,
                             const float* bias, bool relu, float* c) {
  static std::mutex mu;  // the plans, and each plan's bias pointer from setting it to the launch
  static std::map<LtKey, LtPlan> plans;
  const LtKey key{m, n, k, relu, static_cast<int>(ctx.math), alignment_of(b), alignment_of(a), alignment_of(c),
                  alignment_of(bias)};
  std::lock_guard<std::mutex> lock(mu);
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(key, bias)).first;
  LtPlan& p = it->second;
  if (!p.ok) return false;
  METTA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  const float one = 1.0f, zero = 0.0f;
  const cublasStatus_t st = cublasLtMatmul(lt_handle(), p.op, &one, b, p.w, a, p.x, &zero, c, p.y, c, p.y, &p.algo,
                                           nullptr, 0, static_cast<cudaStream_t>(ctx.stream));
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) {  // refused before launching anything: the plain GEMM from now on
    p.ok = false;
    return false;
  }
  METTA_CUBLAS_CHECK(st);
  return true;
}

}  // namespace detail
}  // namespace metta::kernels
