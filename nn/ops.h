// Elementwise and layout operations of the policy network, forward and backward, on both backends and
// in float and double (double serves the finite-difference gradient checks). Activations are row-major
// [rows, features]; images are NHWC. Backward functions that produce parameter gradients accumulate
// (+=) into them; those that produce activation gradients overwrite (=).
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace metta::nn {

using kernels::Context;

enum class Activation : std::uint8_t { kNone, kRelu, kTanh };

// Observation tokens [n, tokens, 3] -> box [n, H, W, F] (NHWC): zero, then box[loc>>4, loc&15, f] =
// value / norm[f] for each token whose location is not 0xFF; a later token wins.
template <class T>
void tokens_to_box(const Context& ctx, const std::uint8_t* obs, std::int64_t n, int tokens, int height, int width,
                   int features, const T* inv_norm, T* box);

// im2col of x [n, H, W, C] for a k x k kernel, stride s, zero padding pad -> [n * OH * OW, k * k * C],
// columns ordered (kh, kw, c): each kernel row is k * C contiguous values of the NHWC input, which the
// CPU copies as runs. A torch conv weight [out, in, kh, kw] matches it after permute_conv_weights.
template <class T>
void im2col(const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, int k, int s, int pad, T* cols);
// The adjoint: dx [n, H, W, C] = sum over the patches that read each input element (overwrites dx).
template <class T>
void col2im(const Context& ctx, const T* dcols, std::int64_t n, int h, int w, int c, int k, int s, int pad, T* dx);
// The first convolution computed from the observation tokens instead of the scattered box: the same
// sums as tokens_to_box + im2col + GEMM, over the few kept tokens instead of every cell.
// token_mask: mask [n, tokens] = 1 for the tokens the box would hold (inside it, and the last of each
// (cell, feature) pair: the last token wins), else 0.
template <class T>
void token_mask(const Context& ctx, const std::uint8_t* obs, std::int64_t n, int tokens, int height, int width,
                int features, std::uint8_t* mask);
// y [n, oh, ow, out] = act(conv of the box + bias) (wt [k, k, features, out], from conv_weights_to_kkio;
// bias [out] may be null): the epilogue of bias_activation fused into the convolution, in the same order
// of operations, so the same bits as the convolution followed by bias_activation.
template <class T>
void token_conv_forward(const Context& ctx, const std::uint8_t* obs, const std::uint8_t* mask, std::int64_t n,
                        int tokens, const T* inv_norm, const T* wt, const T* bias, Activation act, int features,
                        int out, int k, int s, int pad, int oh, int ow, T* y);
// dwt [k, k, features, out] = the weight gradient for dy [n, oh, ow, out] (overwritten).
// The CPU walks the rows in order per block of output channels and needs no workspace (partial may be
// null). The device variant runs a thread per (chunk of rows, output channel), each summing its chunk
// into partial [chunks, k, k, features, out], then adds the chunks in order: parallel, and a fixed order
// of sums for a given n. partial holds token_conv_weight_workspace(n, ...) elements.
template <class T>
void token_conv_backward_weights(const Context& ctx, const std::uint8_t* obs, const std::uint8_t* mask,
                                 std::int64_t n, int tokens, const T* inv_norm, const T* dy, int features, int out,
                                 int k, int s, int pad, int oh, int ow, T* partial, T* dwt);
// The device variant's chunks of rows: at least 16 rows each, at most 1,024 chunks, and a workspace of
// at most 2^24 elements (64 MB of floats: 436 chunks for `fast` on 24 features).
inline std::int64_t token_conv_weight_chunks(std::int64_t n, int k, int features, int out) {
  const std::int64_t wsize = static_cast<std::int64_t>(k) * k * features * out;
  std::int64_t chunks = (n + 15) / 16;
  if (chunks > 1024) chunks = 1024;
  if (chunks * wsize > (std::int64_t(1) << 24)) chunks = (std::int64_t(1) << 24) / wsize;
  return chunks < 1 ? 1 : chunks;
}
inline std::int64_t token_conv_weight_workspace(std::int64_t n, int k, int features, int out) {
  return token_conv_weight_chunks(n, k, features, out) * k * k * features * out;
}
// w [out, in, k, k] -> wt [k, k, in, out], and the gradient back: dw += dwt permuted.
template <class T>
void conv_weights_to_kkio(const Context& ctx, const T* w, int out, int in, int k, T* wt);
template <class T>
void kkio_add_to_conv_grads(const Context& ctx, const T* dwt, int out, int in, int k, T* dw);
// w [out, in, k, k] -> wp [out, k, k, in], and the gradient back: dw [out, in, k, k] += dwp permuted.
template <class T>
void permute_conv_weights(const Context& ctx, const T* w, int out, int in, int k, T* wp);
template <class T>
void unpermute_add_conv_grads(const Context& ctx, const T* dwp, int out, int in, int k, T* dw);

// y [rows, cols] += bias[cols], then the activation, in place.
template <class T>
void bias_activation(const Context& ctx, T* y, const T* bias, std::int64_t rows, int cols, Activation act);
// The backward of bias_activation in one pass over dy [rows, cols]: dy *= act'(y) in place, from the
// activation's output y (ReLU: y > 0; Tanh: 1 - y^2; kNone: dy unchanged), and, when db is not null,
// db[cols] += the column sums of the result. The CPU walks the rows in order per block of 32 columns. The
// device variant runs a thread per (chunk of rows, column), neighbouring threads on neighbouring columns,
// each summing its chunk into partial [chunks, cols]; then a thread per column adds the chunks in order:
// parallel, coalesced, and a fixed order of sums for a given shape. partial holds
// bias_grad_workspace(rows, cols) elements on CUDA (the CPU ignores it; unused when db is null).
template <class T>
void bias_activation_backward(const Context& ctx, const T* y, T* dy, std::int64_t rows, int cols, Activation act,
                              T* db, T* partial);
// The device variant's chunks: ceil(rows / 32) of them (so at most 32 rows each), unless that passes
// 4,096 chunks or a workspace of kBiasGradWorkspace elements (4 MB of floats; enough for any layer of up
// to 2^20 columns): then fewer, of more rows.
constexpr std::int64_t kBiasGradWorkspace = std::int64_t(1) << 20;
inline std::int64_t bias_grad_chunks(std::int64_t rows, int cols) {
  std::int64_t chunks = (rows + 31) / 32;
  if (chunks > 4096) chunks = 4096;
  if (chunks * cols > kBiasGradWorkspace) chunks = kBiasGradWorkspace / cols;
  return chunks < 1 ? 1 : chunks;
}
inline std::int64_t bias_grad_workspace(std::int64_t rows, int cols) { return bias_grad_chunks(rows, cols) * cols; }

// [n, H, W, C] <-> [n, C, H, W] (torch's flatten order for linear layers after convolutions).
template <class T>
void nhwc_to_nchw(const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, T* y);
template <class T>
void nchw_to_nhwc(const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, T* y);

// y[i] += x[i]
template <class T>
void add_into(const Context& ctx, const T* x, T* y, std::int64_t n);

// The action distribution over A flat logits per row (log-softmax, no masking; trainer.md §5).
// flat index of action (type, arg) = cum[type] + arg. Rows whose action is out of range get index 0.
// Forward: logp[r] of the given action and the entropy -sum p log p.
template <class T>
void action_dist_forward(const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* actions,
                         const std::int32_t* cum, int num_types, T* logp, T* entropy);
// dlogits[r, j] = g_logp[r] (1[j = a] - p_j) - g_entropy[r] p_j (log p_j + H)   (overwrites dlogits)
template <class T>
void action_dist_backward(const Context& ctx, const T* logits, std::int64_t n, int num_logits,
                          const std::int32_t* actions, const std::int32_t* cum, int num_types, const T* g_logp,
                          const T* g_entropy, T* dlogits);
// Samples one action per row by inverse CDF with u from the counter RNG keyed (seed, counter, row_base +
// row); writes actions [n, 2] (type, arg) via the flat -> (type, arg) tables and its log-prob. row_base
// places a rank's agents in a data-parallel run's global numbering (0 in a plain run). counter_base,
// when not null, is a device counter added to `counter` (a recorded CUDA graph replays fixed arguments,
// so what changes per replay lives in device memory).
template <class T>
void action_dist_sample(const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* flat_type,
                        const std::int32_t* flat_arg, std::uint64_t seed, std::uint32_t counter,
                        const std::uint32_t* counter_base, std::int64_t row_base, std::int32_t* actions, T* logp);

// [a, b, c] -> [b, a, c] (segment-major <-> time-major).
template <class T>
void transpose01(const Context& ctx, const T* x, std::int64_t a, std::int64_t b, std::int64_t c, T* y);

// LSTM cell, torch gate order (i, f, g, o), for one time step of n rows and hidden size h.
// gates [n, 4h] holds x W_ih^T + h_prev W_hh^T on entry and the activated gates on exit; adds b_ih + b_hh.
// c_out = f c_prev + i g, h_out = o tanh(c_out).
template <class T>
void lstm_cell_forward(const Context& ctx, T* gates, const T* b_ih, const T* b_hh, const T* c_prev, T* c_out,
                       T* h_out, std::int64_t n, int h);
// From dh (grad of h_out, including the recurrent part) and dc_next (grad of c_out from step t+1): writes
// the pre-activation gate grads dgates [n, 4h] and dc_prev (grad of c_prev). gates are the activated ones.
template <class T>
void lstm_cell_backward(const Context& ctx, const T* gates, const T* c_prev, const T* c_out, const T* dh,
                        const T* dc_next, T* dgates, T* dc_prev, std::int64_t n, int h);

}  // namespace metta::nn
