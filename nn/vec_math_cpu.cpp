// See vec_math_cpu.h. Every loop touches distinct elements per iteration (omp simd says so to the
// compiler, which cannot see that g[j] and g[h + j] never meet).
#include "nn/vec_math_cpu.h"

#include <math.h>

#include "nn/lstm_cell_math.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
// glibc's libmvec has expf for 4, 8 and 16 lanes (_ZGV{b,c,d,e}N*v_expf); declaring expf as a SIMD
// function lets the vectoriser call them (glibc itself declares this only under -ffast-math).
extern "C" __attribute__((simd("notinbranch"))) float expf(float) noexcept;
#define METTA_VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define METTA_VEC_CLONES
#endif

namespace metta::nn::cpu {
namespace {
// Arguments are clamped where the result no longer changes, because libmvec's expf takes a scalar
// fallback, 5x slower, for a whole vector when one lane is outside about [-87, 88] (measured), and
// large pre-activations become common as training goes on. tanh: from |x| = 15 on the formula gives
// exactly +-1 in float, so the clamp changes nothing. sigmoid: below -80 the result (< 2e-35) is
// replaced by sigmoid(-80); above 80 it is exactly 1 either way. NaN passes through both.
inline float clamp_f(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
inline float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-clamp_f(x, -80.0f, 80.0f))); }
inline float tanh_f(float x) { return 1.0f - 2.0f / (expf(2.0f * clamp_f(x, -15.0f, 15.0f)) + 1.0f); }
}  // namespace

METTA_VEC_CLONES void tanh_inplace_f32(float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) y[j] = tanh_f(y[j]);
}

namespace {
struct ClampedSigmoid {
  float operator()(float x) const { return sigmoid_f(x); }
};
struct ClampedTanh {
  float operator()(float x) const { return tanh_f(x); }
};
}  // namespace

METTA_VEC_CLONES void lstm_cell_forward_row_f32(float* g, const float* b_ih, const float* b_hh, const float* c_prev,
                                                float* c_out, float* h_out, int h) {
#pragma omp simd
  for (int j = 0; j < h; ++j)
    lstm_cell_unit_forward(g, b_ih, b_hh, h, j, c_prev[j], c_out[j], h_out[j], ClampedSigmoid{}, ClampedTanh{});
}

namespace {
// The backward with the dc_next branch decided at compile time (a conditional load would keep the loop
// from vectorising on AVX2).
template <bool kNext>
__attribute__((always_inline)) inline void lstm_backward_row(const float* g, const float* c_prev, const float* c_out,
                                                             const float* dh, const float* dc_next, float* dg,
                                                             float* dc_prev, int h) {
#pragma omp simd
  for (int j = 0; j < h; ++j)
    lstm_cell_unit_backward(g, h, j, c_prev[j], c_out[j], dh[j], kNext ? dc_next[j] : 0.0f, dg, dc_prev[j],
                            ClampedTanh{});
}
}  // namespace

METTA_VEC_CLONES void lstm_cell_backward_row_f32(const float* g, const float* c_prev, const float* c_out,
                                                 const float* dh, const float* dc_next, float* dg, float* dc_prev,
                                                 int h) {
  if (dc_next) lstm_backward_row<true>(g, c_prev, c_out, dh, dc_next, dg, dc_prev, h);
  else lstm_backward_row<false>(g, c_prev, c_out, dh, dc_next, dg, dc_prev, h);
}

}  // namespace metta::nn::cpu
