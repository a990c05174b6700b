// FlushDenormals: while alive, the calling thread's SSE/AVX arithmetic treats subnormal inputs as zero
// and flushes subnormal results to zero (MXCSR DAZ and FTZ); the previous mode comes back on
// destruction. The CPU backend holds one in every thread of every parallel region and around BLAS
// calls: as training goes on, Adam's second moments, gradients and saturated activations drift into the
// subnormal range, where each operation takes a microcode assist (~100x slower). Measured here: the main
// job fell from 17k to under 9k agent-steps/s past 1M steps without it. Values below 1.2e-38 (float) or
// 2.2e-308 (double) become zero, which no result of ours depends on. A no-op off x86.
#pragma once

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace metta::kernels {

class FlushDenormals {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtz | kDaz); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFtz = 0x8000, kDaz = 0x0040;
  unsigned saved_;
#else
  FlushDenormals() = default;
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

}  // namespace metta::kernels
