// Launchers of nn/ops.h written once against parallel_for, compiled by g++ (ops_cpu.cpp) and nvcc
// (ops_cuda.cu) into namespaces cpu / cuda, for float and double.
#pragma once

#include <cmath>

#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/rng.h"
#include "nn/lstm_cell_math.h"
#include "nn/ops.h"

#ifndef __CUDACC__
#include <type_traits>

#include "nn/vec_math_cpu.h"
#endif

#ifndef METTA_BACKEND_NS
#error "define METTA_BACKEND_NS before including ops_impl.h"
#endif

namespace metta::nn::METTA_BACKEND_NS {

using kernels::parallel_for;

// Single-precision math for float (an unqualified tanh(float) would run the double routine). tanh from
// one expf: 1 - 2 / (exp(2x) + 1), which saturates cleanly at +-1 and lets the compiler vectorise
// (glibc's tanhf goes through expm1f and was 15% of a training step); accurate to a few ulp.
METTA_HD inline float math_tanh(float x) { return 1.0f - 2.0f / (expf(2.0f * x) + 1.0f); }
METTA_HD inline double math_tanh(double x) { return tanh(x); }
METTA_HD inline float math_exp(float x) { return expf(x); }
METTA_HD inline double math_exp(double x) { return exp(x); }
METTA_HD inline float math_log(float x) { return logf(x); }
METTA_HD inline double math_log(double x) { return log(x); }

template <class T>
METTA_HD inline T apply_activation(T v, Activation act) {
  if (act == Activation::kRelu) return v > T(0) ? v : T(0);
  if (act == Activation::kTanh) return math_tanh(v);
  return v;
}

#if !METTA_DEVICE_PATH
// The CPU's bias and activation over one row, with the activation chosen outside the column loop so that
// it vectorises (a per-element form spent a tenth of a training step on index arithmetic).
template <class T>
inline void bias_activation_row(T* row, const T* bias, int cols, Activation act) {
  const T zero(0);
  if (bias)
    for (int j = 0; j < cols; ++j) row[j] += bias[j];
  if (act == Activation::kRelu)
    for (int j = 0; j < cols; ++j) row[j] = row[j] > zero ? row[j] : zero;
  else if (act == Activation::kTanh) {
    if constexpr (std::is_same_v<T, float>) tanh_inplace_f32(row, cols);
    else
      for (int j = 0; j < cols; ++j) row[j] = math_tanh(row[j]);
  }
}
#endif

template <class T>
void tokens_to_box(const Context& ctx, const std::uint8_t* obs, std::int64_t n, int tokens, int height, int width,
                   int features, const T* inv_norm, T* box) {
  const std::int64_t plane = static_cast<std::int64_t>(height) * width * features;
#if METTA_DEVICE_PATH
  // Zero the boxes with a thread per element (a warp writes contiguous memory), then scatter per row.
  parallel_for(ctx, n * plane, [=] METTA_HD(std::int64_t i) { box[i] = T(0); });
#endif
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t b) {
    T* out = box + b * plane;
#if !METTA_DEVICE_PATH
    for (std::int64_t i = 0; i < plane; ++i) out[i] = T(0);
#endif
    const std::uint8_t* tok = obs + b * tokens * 3;
    for (int t = 0; t < tokens; ++t) {
      const std::uint8_t loc = tok[t * 3], f = tok[t * 3 + 1];
      if (loc == 0xFF) continue;
      const int r = loc >> 4, c = loc & 15;
      if (r >= height || c >= width || f >= features) continue;  // outside the box: ignored
      out[(r * width + c) * features + f] = static_cast<T>(tok[t * 3 + 2]) * inv_norm[f];
    }
  });
}

template <class T>
void im2col(const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, int k, int s, int pad, T* cols) {
  const int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  const std::int64_t patch = static_cast<std::int64_t>(c) * k * k;
#if METTA_DEVICE_PATH
  parallel_for(ctx, n * oh * ow * patch, [=] METTA_HD(std::int64_t i) {  // one output element per thread
    const std::int64_t row = i / patch;
    const int e = static_cast<int>(i % patch), ci = e % c, kx = (e / c) % k, ky = e / (c * k);
    const std::int64_t b = row / (oh * ow);
    const int p = static_cast<int>(row % (oh * ow));
    const int yy = (p / ow) * s - pad + ky, xx = (p % ow) * s - pad + kx;
    cols[i] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? x[((b * h + yy) * w + xx) * c + ci] : T(0);
  });
#else
  // CPU: per output pixel, k rows of k * c contiguous input values (or zeros outside).
  parallel_for(ctx, n * oh * ow, [=](std::int64_t row) {
    const std::int64_t b = row / (oh * ow);
    const int p = static_cast<int>(row % (oh * ow)), y0 = (p / ow) * s - pad, x0 = (p % ow) * s - pad;
    T* out = cols + row * patch;
    const bool x_inside = x0 >= 0 && x0 + k <= w;
    for (int ky = 0; ky < k; ++ky) {
      const int yy = y0 + ky;
      T* dst = out + static_cast<std::int64_t>(ky) * k * c;
      if (yy < 0 || yy >= h) {
        for (int j = 0; j < k * c; ++j) dst[j] = T(0);
        continue;
      }
      if (x_inside) {  // the whole kernel row is one run of k * c input values
        const T* src = x + ((b * h + yy) * w + x0) * c;
        for (int j = 0; j < k * c; ++j) dst[j] = src[j];
        continue;
      }
      for (int kx = 0; kx < k; ++kx) {
        const int xx = x0 + kx;
        T* d = dst + kx * c;
        if (xx < 0 || xx >= w) {
          for (int ci = 0; ci < c; ++ci) d[ci] = T(0);
        } else {
          const T* src = x + ((b * h + yy) * w + xx) * c;
          for (int ci = 0; ci < c; ++ci) d[ci] = src[ci];
        }
      }
    }
  });
#endif
}

template <class T>
void col2im(const Context& ctx, const T* dcols, std::int64_t n, int h, int w, int c, int k, int s, int pad, T* dx) {
  const int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  const std::int64_t patch = static_cast<std::int64_t>(c) * k * k;
#if METTA_DEVICE_PATH
  // Gather per input element (race-free, deterministic): every (ky, kx) whose patch covers it.
  parallel_for(ctx, n * h * w * c, [=] METTA_HD(std::int64_t i) {
    const int ci = static_cast<int>(i % c);
    const std::int64_t pix = i / c;
    const int xx = static_cast<int>(pix % w), yy = static_cast<int>((pix / w) % h);
    const std::int64_t b = pix / (static_cast<std::int64_t>(w) * h);
    // kernel offsets that reach this pixel: ky = (yy + pad) - s * oy for output rows oy in range
    T acc = T(0);
    const int ty = yy + pad, tx = xx + pad;
    // ascending (oy, ox), the order in which the CPU adds the patches: the same sums bit for bit
    const int oy_hi = ty / s < oh - 1 ? ty / s : oh - 1, ox_hi = tx / s < ow - 1 ? tx / s : ow - 1;
    const int oy_lo = ty - k + 1 <= 0 ? 0 : (ty - k + s) / s, ox_lo = tx - k + 1 <= 0 ? 0 : (tx - k + s) / s;
    for (int oy = oy_lo; oy <= oy_hi; ++oy) {
      const int ky = ty - s * oy;
      for (int ox = ox_lo; ox <= ox_hi; ++ox) {
        const int kx = tx - s * ox;
        acc += dcols[((b * oh + oy) * ow + ox) * patch + (ky * k + kx) * c + ci];
      }
    }
    dx[i] = acc;
  });
#else
  // CPU: per sample, zero its dx, then add every patch's contiguous c-runs in output order (for every
  // element the same summation order as the gather above).
  const std::int64_t plane = static_cast<std::int64_t>(h) * w * c;
  parallel_for(ctx, n, [=](std::int64_t b) {
    T* out = dx + b * plane;
    for (std::int64_t j = 0; j < plane; ++j) out[j] = T(0);
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const T* src = dcols + ((b * oh + oy) * ow + ox) * patch;
        for (int ky = 0; ky < k; ++ky) {
          const int yy = oy * s - pad + ky;
          if (yy < 0 || yy >= h) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int xx = ox * s - pad + kx;
            if (xx < 0 || xx >= w) continue;
            T* d = out + (static_cast<std::int64_t>(yy) * w + xx) * c;
            const T* g = src + (ky * k + kx) * c;
            for (int ci = 0; ci < c; ++ci) d[ci] += g[ci];
          }
        }
      }
  });
#endif
}

// [out, in, k, k] (torch) <-> [out, k, k, in] (the patch order of im2col).
template <class T>
void permute_conv_weights(const Context& ctx, const T* w, int out, int in, int k, T* wp) {
  const std::int64_t per = static_cast<std::int64_t>(in) * k * k;
#if METTA_DEVICE_PATH
  parallel_for(ctx, out * per, [=] METTA_HD(std::int64_t i) {  // i indexes wp
    const std::int64_t o = i / per;
    const int e = static_cast<int>(i % per), ci = e % in, kk = e / in;  // kk = ky * k + kx
    wp[i] = w[o * per + static_cast<std::int64_t>(ci) * k * k + kk];
  });
#else
  // CPU: an output channel per iteration, contiguous reads (also permutes the first linear layer's
  // weights, out x 7,744 for api_default, for its NHWC input)
  const int kk_n = k * k;
  parallel_for(ctx, out, [=](std::int64_t o) {
    for (int ci = 0; ci < in; ++ci) {
      const T* src = w + o * per + static_cast<std::int64_t>(ci) * kk_n;
      T* dst = wp + o * per + ci;
      for (int kk = 0; kk < kk_n; ++kk) dst[static_cast<std::int64_t>(kk) * in] = src[kk];
    }
  });
#endif
}

template <class T>
void unpermute_add_conv_grads(const Context& ctx, const T* dwp, int out, int in, int k, T* dw) {
  const std::int64_t per = static_cast<std::int64_t>(in) * k * k;
  parallel_for(ctx, out * per, [=] METTA_HD(std::int64_t i) {  // i indexes dw
    const std::int64_t o = i / per;
    const int e = static_cast<int>(i % per), kk = e % (k * k), ci = e / (k * k);
    dw[i] += dwp[o * per + static_cast<std::int64_t>(kk) * in + ci];
  });
}

// ---- the first convolution straight from the tokens (ops.h: token_conv_*)

template <class T>
void token_mask(const Context& ctx, const std::uint8_t* obs, std::int64_t n, int tokens, int height, int width,
                int features, std::uint8_t* mask) {
#if METTA_DEVICE_PATH
  // A thread per token, no bitmap (8 KB of stack per thread would be local memory reserved for every
  // resident thread): kept when inside the box and no later token of the row has its cell and feature.
  parallel_for(ctx, n * tokens, [=] METTA_HD(std::int64_t i) {
    const std::int64_t b = i / tokens;
    const int t = static_cast<int>(i % tokens);
    const std::uint8_t* tok = obs + b * tokens * 3;
    const std::uint8_t loc = tok[t * 3], f = tok[t * 3 + 1];
    const int r = loc >> 4, c = loc & 15;
    std::uint8_t keep = loc != 0xFF && r < height && c < width && f < features;
    for (int u = t + 1; keep && u < tokens; ++u)
      if (tok[u * 3] == loc && tok[u * 3 + 1] == f) keep = 0;
    mask[i] = keep;
  });
#else
  parallel_for(ctx, n, [=](std::int64_t b) {
    const std::uint8_t* tok = obs + b * tokens * 3;
    std::uint8_t* m = mask + b * tokens;
    // Walk backwards so the last token of a (cell, feature) pair is the one kept. The seen-set is a
    // bitmap over cells x features (at most 16 x 16 cells of 256 features: 1,024 words).
    std::uint64_t seen[1024];
    const int words = (height * width * features + 63) / 64;
    for (int i = 0; i < words; ++i) seen[i] = 0;
    for (int t = tokens - 1; t >= 0; --t) {
      const std::uint8_t loc = tok[t * 3], f = tok[t * 3 + 1];
      const int r = loc >> 4, c = loc & 15;
      m[t] = 0;
      if (loc == 0xFF || r >= height || c >= width || f >= features) continue;
      const int bit = (r * width + c) * features + f;
      if (seen[bit >> 6] & (std::uint64_t(1) << (bit & 63))) continue;
      seen[bit >> 6] |= std::uint64_t(1) << (bit & 63);
      m[t] = 1;
    }
  });
#endif
}

// For one row's tokens: calls visit(value, tap, pixel) for every kept token (mask) and every output
// pixel whose k x k patch (stride s, padding pad) covers the token's cell, where value is the normalised
// token value (zeros skipped), tap = (ky * k + kx) * features + f indexes the rows of wt [k, k,
// features, out] and pixel = oy * ow + ox. The forward and the weight gradient share it.
template <class T, class Visit>
METTA_HD inline void for_each_token_tap(const std::uint8_t* tok, const std::uint8_t* mask, int tokens,
                                        const T* inv_norm, int features, int k, int s, int pad, int oh, int ow,
                                        Visit visit) {
  for (int t = 0; t < tokens; ++t) {
    if (!mask[t]) continue;
    const int r = tok[t * 3] >> 4, c = tok[t * 3] & 15, f = tok[t * 3 + 1];
    const T v = static_cast<T>(tok[t * 3 + 2]) * inv_norm[f];
    if (v == T(0)) continue;
    for (int oy = 0; oy < oh; ++oy) {
      const int ky = r + pad - oy * s;
      if (ky < 0 || ky >= k) continue;
      for (int ox = 0; ox < ow; ++ox) {
        const int kx = c + pad - ox * s;
        if (kx < 0 || kx >= k) continue;
        visit(v, (ky * k + kx) * features + f, oy * ow + ox);
      }
    }
  }
}

template <class T>
void token_conv_forward(const Context& ctx, const std::uint8_t* obs, const std::uint8_t* mask, std::int64_t n,
                        int tokens, const T* inv_norm, const T* wt, const T* bias, Activation act, int features,
                        int out, int k, int s, int pad, int oh, int ow, T* y) {
  const std::int64_t plane = static_cast<std::int64_t>(oh) * ow * out;
#if METTA_DEVICE_PATH
  // A thread per (row, output channel): neighbouring threads read the same tokens (broadcast) and write
  // neighbouring outputs; each output element gets the CPU's products in the CPU's order.
  parallel_for(ctx, n * out, [=] METTA_HD(std::int64_t i) {
    const int o = static_cast<int>(i % out);
    const std::int64_t b = i / out;
    T* yb = y + b * plane + o;
    for (int p = 0; p < oh * ow; ++p) yb[static_cast<std::int64_t>(p) * out] = T(0);
    for_each_token_tap(obs + b * tokens * 3, mask + b * tokens, tokens, inv_norm, features, k, s, pad, oh, ow,
                       [&](T v, int tap, int pixel) {
                         yb[static_cast<std::int64_t>(pixel) * out] += v * wt[static_cast<std::int64_t>(tap) * out + o];
                       });
    const T b_o = bias ? bias[o] : T(0);  // bias_activation's epilogue, as its device variant computes it
    for (int p = 0; p < oh * ow; ++p) {
      T& v = yb[static_cast<std::int64_t>(p) * out];
      v = apply_activation(v + b_o, act);
    }
  });
#else
  // CPU: per row, each kept token adds value x one weight row (contiguous over outputs) to the output
  // pixels whose patch covers its cell.
  parallel_for(ctx, n, [=](std::int64_t b) {
    T* yb = y + b * plane;
    for (std::int64_t j = 0; j < plane; ++j) yb[j] = T(0);
    for_each_token_tap(obs + b * tokens * 3, mask + b * tokens, tokens, inv_norm, features, k, s, pad, oh, ow,
                       [&](T v, int tap, int pixel) {
                         const T* w = wt + static_cast<std::int64_t>(tap) * out;
                         T* dst = yb + static_cast<std::int64_t>(pixel) * out;
                         for (int o = 0; o < out; ++o) dst[o] += v * w[o];
                       });
    for (int p = 0; p < oh * ow; ++p) bias_activation_row(yb + static_cast<std::int64_t>(p) * out, bias, out, act);
  });
#endif
}

template <class T>
void token_conv_backward_weights(const Context& ctx, const std::uint8_t* obs, const std::uint8_t* mask,
                                 std::int64_t n, int tokens, const T* inv_norm, const T* dy, int features, int out,
                                 int k, int s, int pad, int oh, int ow, T* partial, T* dwt) {
  const std::int64_t wsize = static_cast<std::int64_t>(k) * k * features * out, taps = wsize / out;
  const std::int64_t pixels = static_cast<std::int64_t>(oh) * ow;
#if METTA_DEVICE_PATH
  // Pass 1, a thread per (chunk, output channel): the chunk's rows in order into its own column of
  // partial (neighbouring threads write neighbouring elements). Pass 2, a thread per element of dwt:
  // the chunks in order. The order of the sums depends on n only.
  const std::int64_t chunks = token_conv_weight_chunks(n, k, features, out);
  const std::int64_t per_chunk = (n + chunks - 1) / chunks;
  parallel_for(ctx, chunks * out, [=] METTA_HD(std::int64_t i) {
    const int o = static_cast<int>(i % out);
    const std::int64_t c = i / out;
    T* part = partial + c * wsize + o;
    for (std::int64_t tap = 0; tap < taps; ++tap) part[tap * out] = T(0);
    const std::int64_t end = (c + 1) * per_chunk < n ? (c + 1) * per_chunk : n;
    for (std::int64_t b = c * per_chunk; b < end; ++b) {
      const T* g = dy + b * pixels * out + o;
      for_each_token_tap(obs + b * tokens * 3, mask + b * tokens, tokens, inv_norm, features, k, s, pad, oh, ow,
                         [&](T v, int tap, int pixel) {
                           part[static_cast<std::int64_t>(tap) * out] += v * g[static_cast<std::int64_t>(pixel) * out];
                         });
    }
  });
  parallel_for(ctx, wsize, [=] METTA_HD(std::int64_t i) {
    T acc = partial[i];
    for (std::int64_t c = 1; c < chunks; ++c) acc += partial[c * wsize + i];
    dwt[i] = acc;
  });
#else
  // Parallel over blocks of output channels: each block walks every row and token in order, so the sums
  // do not depend on the thread count. Blocks of 32 (two AVX-512 registers) keep the token walk,
  // repeated per block, to two passes for the presets' 64.
  (void)partial;
  constexpr int kBlock = 32;
  const int blocks = (out + kBlock - 1) / kBlock;
  parallel_for(ctx, blocks, [=](std::int64_t blk) {
    const int o0 = static_cast<int>(blk) * kBlock, width = out - o0 < kBlock ? out - o0 : kBlock;
    for (std::int64_t j = 0; j < taps; ++j)
      for (int o = 0; o < width; ++o) dwt[j * out + o0 + o] = T(0);
    for (std::int64_t b = 0; b < n; ++b) {
      const T* dyb = dy + b * pixels * out;
      for_each_token_tap(obs + b * tokens * 3, mask + b * tokens, tokens, inv_norm, features, k, s, pad, oh, ow,
                         [&](T v, int tap, int pixel) {
                           T* dw = dwt + static_cast<std::int64_t>(tap) * out + o0;
                           const T* g = dyb + static_cast<std::int64_t>(pixel) * out + o0;
                           if (width == kBlock)  // a fixed trip count, which the compiler unrolls
                             for (int o = 0; o < kBlock; ++o) dw[o] += v * g[o];
                           else
                             for (int o = 0; o < width; ++o) dw[o] += v * g[o];
                         });
    }
  });
#endif
}

// w [out, in, k, k] (torch) <-> wt [k, k, in, out] (the token convolution's order).
template <class T>
void conv_weights_to_kkio(const Context& ctx, const T* w, int out, int in, int k, T* wt) {
#if METTA_DEVICE_PATH
  const std::int64_t total = static_cast<std::int64_t>(out) * in * k * k;
  parallel_for(ctx, total, [=] METTA_HD(std::int64_t i) {  // i indexes wt
    const int o = static_cast<int>(i % out);
    const std::int64_t rest = i / out;
    const int ci = static_cast<int>(rest % in), kk = static_cast<int>(rest / in);
    wt[i] = w[(static_cast<std::int64_t>(o) * in + ci) * k * k + kk];
  });
#else
  // CPU: plain loops (it runs before every forward; index division per element cost more than the copy)
  (void)ctx;
  const int kk_n = k * k;
  for (int o = 0; o < out; ++o)
    for (int ci = 0; ci < in; ++ci) {
      const T* src = w + (static_cast<std::int64_t>(o) * in + ci) * kk_n;
      for (int kk = 0; kk < kk_n; ++kk) wt[(static_cast<std::int64_t>(kk) * in + ci) * out + o] = src[kk];
    }
#endif
}

template <class T>
void kkio_add_to_conv_grads(const Context& ctx, const T* dwt, int out, int in, int k, T* dw) {
  const std::int64_t total = static_cast<std::int64_t>(out) * in * k * k;
  parallel_for(ctx, total, [=] METTA_HD(std::int64_t i) {  // i indexes dw [out, in, k, k]
    const int kk = static_cast<int>(i % (k * k));
    const std::int64_t rest = i / (k * k);
    const int ci = static_cast<int>(rest % in), o = static_cast<int>(rest / in);
    dw[i] += dwt[(static_cast<std::int64_t>(kk) * in + ci) * out + o];
  });
}

template <class T>
void bias_activation(const Context& ctx, T* y, const T* bias, std::int64_t rows, int cols, Activation act) {
  METTA_CHECK(rows * cols < (1ll << 32), "bias_activation over " << rows * cols << " elements");
#if METTA_DEVICE_PATH
  const std::uint32_t c32 = static_cast<std::uint32_t>(cols);
  parallel_for(ctx, rows * cols, [=] METTA_HD(std::int64_t i) {
    const T v = y[i] + (bias ? bias[static_cast<std::uint32_t>(i) % c32] : T(0));  // 32-bit modulo: cheap
    y[i] = apply_activation(v, act);
  });
#else
  parallel_for(ctx, rows, [=](std::int64_t r) { bias_activation_row(y + r * cols, bias, cols, act); });
#endif
}

template <class T>
METTA_HD inline T activation_grad(T y, T g, Activation act) {
  if (act == Activation::kRelu) return y > T(0) ? g : T(0);
  if (act == Activation::kTanh) return g * (T(1) - y * y);
  return g;
}

template <class T>
void bias_activation_backward(const Context& ctx, const T* y, T* dy, std::int64_t rows, int cols, Activation act,
                              T* db, T* partial) {
  if (act == Activation::kNone && !db) return;
#if METTA_DEVICE_PATH
  if (!db) {  // the activation alone: a thread per element
    parallel_for(ctx, rows * cols, [=] METTA_HD(std::int64_t i) { dy[i] = activation_grad(y[i], dy[i], act); });
    return;
  }
  METTA_CHECK(partial != nullptr && cols <= kBiasGradWorkspace,
              "bias gradient of " << rows << " x " << cols << " without its workspace");
  const std::int64_t chunks = bias_grad_chunks(rows, cols), per_chunk = (rows + chunks - 1) / chunks;
  parallel_for(ctx, chunks * cols, [=] METTA_HD(std::int64_t i) {
    const std::int64_t j = i % cols, c = i / cols;
    const std::int64_t end = (c + 1) * per_chunk < rows ? (c + 1) * per_chunk : rows;
    T acc = T(0);
    for (std::int64_t r = c * per_chunk; r < end; ++r) {
      const std::int64_t e = r * cols + j;
      const T g = activation_grad(act == Activation::kNone ? T(0) : y[e], dy[e], act);
      if (act != Activation::kNone) dy[e] = g;
      acc += g;
    }
    partial[i] = acc;
  });
  parallel_for(ctx, cols, [=] METTA_HD(std::int64_t j) {
    T acc = partial[j];
    for (std::int64_t c = 1; c < chunks; ++c) acc += partial[c * cols + j];
    db[j] += acc;
  });
#else
  (void)partial;
  const T zero(0), one(1);
  if (!db) {  // the activation alone: chunks of elements, the activation chosen outside the loop
    constexpr std::int64_t kChunk = 4096;
    const std::int64_t n = rows * cols;
    parallel_for(ctx, (n + kChunk - 1) / kChunk, [=](std::int64_t blk) {
      const std::int64_t i0 = blk * kChunk, i1 = i0 + kChunk < n ? i0 + kChunk : n;
      if (act == Activation::kRelu)
        for (std::int64_t i = i0; i < i1; ++i) dy[i] = y[i] > zero ? dy[i] : zero;
      else
        for (std::int64_t i = i0; i < i1; ++i) dy[i] *= one - y[i] * y[i];
    });
    return;
  }
  // Blocks of 32 columns, each walking the rows in order (the same order of sums for every column as a
  // plain loop, whatever the thread count) over contiguous memory; a fixed trip count vectorises.
  constexpr int kBlock = 32;
  const std::int64_t blocks = (cols + kBlock - 1) / kBlock;
  parallel_for(ctx, blocks, [=](std::int64_t blk) {
    const int j0 = static_cast<int>(blk) * kBlock, width = cols - j0 < kBlock ? cols - j0 : kBlock;
    T acc[kBlock];
    for (int j = 0; j < kBlock; ++j) acc[j] = zero;
    for (std::int64_t r = 0; r < rows; ++r) {
      T* g = dy + r * cols + j0;
      const T* a = act == Activation::kNone ? nullptr : y + r * cols + j0;  // y may be null without one
      if (width == kBlock) {
        if (act == Activation::kRelu)
          for (int j = 0; j < kBlock; ++j) g[j] = a[j] > zero ? g[j] : zero;
        else if (act == Activation::kTanh)
          for (int j = 0; j < kBlock; ++j) g[j] *= one - a[j] * a[j];
        for (int j = 0; j < kBlock; ++j) acc[j] += g[j];
      } else {
        for (int j = 0; j < width; ++j) {
          if (act != Activation::kNone) g[j] = activation_grad(a[j], g[j], act);
          acc[j] += g[j];
        }
      }
    }
    for (int j = 0; j < width; ++j) db[j0 + j] += acc[j];
  });
#endif
}

template <class T>
void nhwc_to_nchw(const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, T* y) {
  parallel_for(ctx, n * h * w * c, [=] METTA_HD(std::int64_t i) {  // i indexes the NCHW output
    const std::int64_t hw = static_cast<std::int64_t>(h) * w;
    const std::int64_t b = i / (c * hw), rem = i % (c * hw), ci = rem / hw, p = rem % hw;
    y[i] = x[(b * hw + p) * c + ci];
  });
}

template <class T>
void nchw_to_nhwc(const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, T* y) {
  parallel_for(ctx, n * h * w * c, [=] METTA_HD(std::int64_t i) {  // i indexes the NHWC output
    const std::int64_t hw = static_cast<std::int64_t>(h) * w;
    const std::int64_t b = i / (c * hw), rem = i % (c * hw), p = rem / c, ci = rem % c;
    y[i] = x[(b * c + ci) * hw + p];
  });
}

template <class T>
METTA_HD inline int flat_action(const std::int32_t* actions, std::int64_t r, const std::int32_t* cum, int num_types,
                                int num_logits) {
  const int type = actions[r * 2], arg = actions[r * 2 + 1];
  if (type < 0 || type >= num_types) return 0;
  const int idx = cum[type] + arg;
  return idx >= cum[type] && idx < cum[type + 1] && idx < num_logits ? idx : 0;
}

// max and log-sum-exp of one row
template <class T>
METTA_HD inline T row_logsumexp(const T* z, int a) {
  T m = z[0];
  for (int j = 1; j < a; ++j) m = z[j] > m ? z[j] : m;
  T s = T(0);
  for (int j = 0; j < a; ++j) s += math_exp(z[j] - m);
  return m + math_log(s);
}

template <class T>
void action_dist_forward(const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* actions,
                         const std::int32_t* cum, int num_types, T* logp, T* entropy) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t r) {
    const T* z = logits + r * num_logits;
    const T lse = row_logsumexp(z, num_logits);
    T h = T(0);
    for (int j = 0; j < num_logits; ++j) {
      const T lp = z[j] - lse;
      h -= math_exp(lp) * lp;
    }
    entropy[r] = h;
    logp[r] = z[flat_action<T>(actions, r, cum, num_types, num_logits)] - lse;
  });
}

template <class T>
void action_dist_backward(const Context& ctx, const T* logits, std::int64_t n, int num_logits,
                          const std::int32_t* actions, const std::int32_t* cum, int num_types, const T* g_logp,
                          const T* g_entropy, T* dlogits) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t r) {
    const T* z = logits + r * num_logits;
    T* dz = dlogits + r * num_logits;
    const T lse = row_logsumexp(z, num_logits);
    T h = T(0);
    for (int j = 0; j < num_logits; ++j) {
      const T lp = z[j] - lse;
      h -= math_exp(lp) * lp;
    }
    const int a = flat_action<T>(actions, r, cum, num_types, num_logits);
    const T gl = g_logp ? g_logp[r] : T(0), ge = g_entropy ? g_entropy[r] : T(0);
    for (int j = 0; j < num_logits; ++j) {
      const T lp = z[j] - lse, p = math_exp(lp);
      dz[j] = gl * ((j == a ? T(1) : T(0)) - p) - ge * p * (lp + h);
    }
  });
}

template <class T>
void action_dist_sample(const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* flat_type,
                        const std::int32_t* flat_arg, std::uint64_t seed, std::uint32_t counter,
                        const std::uint32_t* counter_base, std::int64_t row_base, std::int32_t* actions, T* logp) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t r) {
    const T* z = logits + r * num_logits;
    const T lse = row_logsumexp(z, num_logits);
    const std::int64_t key = row_base + r;
    const std::uint32_t c = counter + (counter_base ? counter_base[0] : 0u);
    const kernels::U32x4 w = kernels::rng_draw(seed, c, static_cast<std::uint32_t>(key),
                                               static_cast<std::uint32_t>(key >> 32), kernels::RngPurpose::kPolicySample, 0);
    const T u = static_cast<T>(kernels::uniform_unit(w.v[0]));
    int pick = num_logits - 1;  // fallback for rounding: the last action
    T cdf = T(0);
    for (int j = 0; j < num_logits; ++j) {
      cdf += math_exp(z[j] - lse);
      if (u < cdf) {
        pick = j;
        break;
      }
    }
    actions[r * 2] = flat_type[pick];
    actions[r * 2 + 1] = flat_arg[pick];
    logp[r] = z[pick] - lse;
  });
}

template <class T>
void add_into(const Context& ctx, const T* x, T* y, std::int64_t n) {
  parallel_for(ctx, n, [=] METTA_HD(std::int64_t i) { y[i] += x[i]; });
}

template <class T>
void transpose01(const Context& ctx, const T* x, std::int64_t a, std::int64_t b, std::int64_t c, T* y) {
  parallel_for(ctx, a * b, [=] METTA_HD(std::int64_t r) {  // r indexes the [b, a] rows of y
    const std::int64_t ia = r % a, ib = r / a;
    const T* src = x + (ia * b + ib) * c;
    T* dst = y + r * c;
    for (std::int64_t k = 0; k < c; ++k) dst[k] = src[k];
  });
}

template <class T>
METTA_HD inline T sigmoid(T x) {
  return T(1) / (T(1) + math_exp(-x));
}

// The activations as function objects for the shared cell arithmetic (nn/lstm_cell_math.h).
struct SigmoidOp {
  template <class T>
  METTA_HD T operator()(T x) const { return sigmoid(x); }
};
struct TanhOp {
  template <class T>
  METTA_HD T operator()(T x) const { return math_tanh(x); }
};

template <class T>
void lstm_cell_forward(const Context& ctx, T* gates, const T* b_ih, const T* b_hh, const T* c_prev, T* c_out,
                       T* h_out, std::int64_t n, int h) {
#if !METTA_DEVICE_PATH
  if constexpr (std::is_same_v<T, float>) {  // CPU float: a row at a time through the vectorised cell
    parallel_for(ctx, n, [=](std::int64_t r) {
      lstm_cell_forward_row_f32(gates + r * 4 * h, b_ih, b_hh, c_prev + r * h, c_out + r * h, h_out + r * h, h);
    });
    return;
  }
#endif
  parallel_for(ctx, n * h, [=] METTA_HD(std::int64_t idx) {
    const std::int64_t r = idx / h;
    const int j = static_cast<int>(idx % h);
    lstm_cell_unit_forward(gates + r * 4 * h, b_ih, b_hh, h, j, c_prev[idx], c_out[idx], h_out[idx], SigmoidOp{},
                           TanhOp{});
  });
}

template <class T>
void lstm_cell_backward(const Context& ctx, const T* gates, const T* c_prev, const T* c_out, const T* dh,
                        const T* dc_next, T* dgates, T* dc_prev, std::int64_t n, int h) {
#if !METTA_DEVICE_PATH
  if constexpr (std::is_same_v<T, float>) {
    parallel_for(ctx, n, [=](std::int64_t r) {
      const std::int64_t o = r * h;
      lstm_cell_backward_row_f32(gates + 4 * o, c_prev + o, c_out + o, dh + o, dc_next ? dc_next + o : nullptr,
                                 dgates + 4 * o, dc_prev + o, h);
    });
    return;
  }
#endif
  parallel_for(ctx, n * h, [=] METTA_HD(std::int64_t idx) {
    const std::int64_t r = idx / h;
    const int j = static_cast<int>(idx % h);
    lstm_cell_unit_backward(gates + r * 4 * h, h, j, c_prev[idx], c_out[idx], dh[idx],
                            dc_next ? dc_next[idx] : T(0), dgates + r * 4 * h, dc_prev[idx], TanhOp{});
  });
}

}  // namespace metta::nn::METTA_BACKEND_NS
