// The list of nn/ops.h launchers as (name, parameter list, argument list), expanded to declare the
// per-backend templates, instantiate them for float and double, and define the dispatching entry points.
#pragma once

#include "nn/ops.h"

#define METTA_NN_OPS(X, T)                                                                                     \
  X(T, tokens_to_box,                                                                                          \
    (const Context& ctx, const std::uint8_t* obs, std::int64_t n, int tokens, int height, int width, int features, \
     const T* inv_norm, T* box),                                                                               \
    (ctx, obs, n, tokens, height, width, features, inv_norm, box))                                             \
  X(T, im2col, (const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, int k, int s, int pad, T* cols), \
    (ctx, x, n, h, w, c, k, s, pad, cols))                                                                     \
  X(T, col2im, (const Context& ctx, const T* dcols, std::int64_t n, int h, int w, int c, int k, int s, int pad, T* dx), \
    (ctx, dcols, n, h, w, c, k, s, pad, dx))                                                                   \
  X(T, token_mask,                                                                                             \
    (const Context& ctx, const std::uint8_t* obs, std::int64_t n, int tokens, int height, int width, int features, \
     std::uint8_t* mask),                                                                                      \
    (ctx, obs, n, tokens, height, width, features, mask))                                                      \
  X(T, token_conv_forward,                                                                                     \
    (const Context& ctx, const std::uint8_t* obs, const std::uint8_t* mask, std::int64_t n, int tokens,        \
     const T* inv_norm, const T* wt, const T* bias, Activation act, int features, int out, int k, int s,       \
     int pad, int oh, int ow, T* y),                                                                           \
    (ctx, obs, mask, n, tokens, inv_norm, wt, bias, act, features, out, k, s, pad, oh, ow, y))                 \
  X(T, token_conv_backward_weights,                                                                            \
    (const Context& ctx, const std::uint8_t* obs, const std::uint8_t* mask, std::int64_t n, int tokens,        \
     const T* inv_norm, const T* dy, int features, int out, int k, int s, int pad, int oh, int ow, T* partial, \
     T* dwt),                                                                                                  \
    (ctx, obs, mask, n, tokens, inv_norm, dy, features, out, k, s, pad, oh, ow, partial, dwt))                 \
  X(T, conv_weights_to_kkio, (const Context& ctx, const T* w, int out, int in, int k, T* wt),                 \
    (ctx, w, out, in, k, wt))                                                                                  \
  X(T, kkio_add_to_conv_grads, (const Context& ctx, const T* dwt, int out, int in, int k, T* dw),            \
    (ctx, dwt, out, in, k, dw))                                                                                \
  X(T, permute_conv_weights, (const Context& ctx, const T* w, int out, int in, int k, T* wp),               \
    (ctx, w, out, in, k, wp))                                                                                  \
  X(T, unpermute_add_conv_grads, (const Context& ctx, const T* dwp, int out, int in, int k, T* dw),          \
    (ctx, dwp, out, in, k, dw))                                                                                \
  X(T, bias_activation, (const Context& ctx, T* y, const T* bias, std::int64_t rows, int cols, Activation act), \
    (ctx, y, bias, rows, cols, act))                                                                           \
  X(T, bias_activation_backward,                                                                               \
    (const Context& ctx, const T* y, T* dy, std::int64_t rows, int cols, Activation act, T* db, T* partial),   \
    (ctx, y, dy, rows, cols, act, db, partial))                                                                \
  X(T, nhwc_to_nchw, (const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, T* y),             \
    (ctx, x, n, h, w, c, y))                                                                                   \
  X(T, nchw_to_nhwc, (const Context& ctx, const T* x, std::int64_t n, int h, int w, int c, T* y),             \
    (ctx, x, n, h, w, c, y))                                                                                   \
  X(T, action_dist_forward,                                                                                    \
    (const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* actions,         \
     const std::int32_t* cum, int num_types, T* logp, T* entropy),                                             \
    (ctx, logits, n, num_logits, actions, cum, num_types, logp, entropy))                                      \
  X(T, action_dist_backward,                                                                                   \
    (const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* actions,         \
     const std::int32_t* cum, int num_types, const T* g_logp, const T* g_entropy, T* dlogits),                 \
    (ctx, logits, n, num_logits, actions, cum, num_types, g_logp, g_entropy, dlogits))                         \
  X(T, action_dist_sample,                                                                                     \
    (const Context& ctx, const T* logits, std::int64_t n, int num_logits, const std::int32_t* flat_type,       \
     const std::int32_t* flat_arg, std::uint64_t seed, std::uint32_t counter,                                 \
     const std::uint32_t* counter_base, std::int64_t row_base, std::int32_t* actions, T* logp),               \
    (ctx, logits, n, num_logits, flat_type, flat_arg, seed, counter, counter_base, row_base, actions, logp))   \
  X(T, add_into, (const Context& ctx, const T* x, T* y, std::int64_t n), (ctx, x, y, n))                     \
  X(T, transpose01, (const Context& ctx, const T* x, std::int64_t a, std::int64_t b, std::int64_t c, T* y),   \
    (ctx, x, a, b, c, y))                                                                                      \
  X(T, lstm_cell_forward,                                                                                      \
    (const Context& ctx, T* gates, const T* b_ih, const T* b_hh, const T* c_prev, T* c_out, T* h_out,          \
     std::int64_t n, int h),                                                                                   \
    (ctx, gates, b_ih, b_hh, c_prev, c_out, h_out, n, h))                                                      \
  X(T, lstm_cell_backward,                                                                                     \
    (const Context& ctx, const T* gates, const T* c_prev, const T* c_out, const T* dh, const T* dc_next,       \
     T* dgates, T* dc_prev, std::int64_t n, int h),                                                            \
    (ctx, gates, c_prev, c_out, dh, dc_next, dgates, dc_prev, n, h))

#define METTA_NN_DECLARE(T, name, params, args) \
  template <class T>                            \
  void name params;
#define METTA_NN_INSTANTIATE(T, name, params, args) template void name<T> params;
