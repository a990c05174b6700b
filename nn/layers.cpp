#include "nn/layers.h"

#include <algorithm>

namespace metta::nn {

using kernels::gemm;
using kernels::Trans;

namespace {
// y [rows, out] = act(x [rows, in] wᵀ + b): inside the GEMM where the context asks for it and cuBLASLt
// can (bias with ReLU or none), else the GEMM and a pass of bias_activation.
template <class T>
void affine_forward(const Context& ctx, const T* x, const T* w, const T* b, std::int64_t rows, int in, int out,
                    Activation act, T* y) {
  const int m = static_cast<int>(rows);
  if (act != Activation::kTanh &&
      kernels::gemm_bias_epilogue(ctx, m, out, in, x, w, b, act == Activation::kRelu, y))
    return;
  gemm<T>(ctx, Trans::kNo, Trans::kYes, m, out, in, T(1), x, w, T(0), y);
  bias_activation<T>(ctx, y, b, rows, out, act);
}
}  // namespace

template <class T>
void linear_forward(const Context& ctx, const LinearView<T>& l, const T* x, std::int64_t rows, T* y) {
  affine_forward<T>(ctx, x, l.w, l.b, rows, l.in, l.out, l.act, y);
}

template <class T>
void linear_backward(const Context& ctx, const LinearView<T>& l, const T* x, const T* y, T* dy, std::int64_t rows,
                     T* dx) {
  bias_activation_backward<T>(ctx, y, dy, rows, l.out, l.act, l.db, l.bias_partial);
  gemm<T>(ctx, Trans::kYes, Trans::kNo, l.out, l.in, static_cast<int>(rows), T(1), dy, x, T(1), l.dw);
  if (dx) gemm<T>(ctx, Trans::kNo, Trans::kNo, static_cast<int>(rows), l.in, l.out, T(1), dy, l.w, T(0), dx);
}

template <class T>
void bilinear_forward(const Context& ctx, const BilinearView<T>& l, const T* x, std::int64_t rows, T* q, T* logits) {
  const int n = static_cast<int>(rows);
  gemm<T>(ctx, Trans::kNo, Trans::kNo, n, l.embed, l.in, T(1), x, l.w, T(0), q);
  bias_activation<T>(ctx, q, nullptr, rows, l.embed, Activation::kTanh);
  gemm<T>(ctx, Trans::kNo, Trans::kYes, n, l.out, l.embed, T(1), q, l.emb, T(0), logits);
  bias_activation<T>(ctx, logits, l.b, rows * l.out, 1, Activation::kNone);
}

template <class T>
void bilinear_backward(const Context& ctx, const BilinearView<T>& l, const T* x, const T* q, const T* dlogits,
                       std::int64_t rows, T* dq, T* dx) {
  const int n = static_cast<int>(rows);
  // one bias shared by every logit: dlogits is read as a single column (dlogits is not written: no activation)
  bias_activation_backward<T>(ctx, nullptr, const_cast<T*>(dlogits), rows * l.out, 1, Activation::kNone, l.db,
                              l.bias_partial);
  gemm<T>(ctx, Trans::kYes, Trans::kNo, l.out, l.embed, n, T(1), dlogits, q, T(1), l.demb);
  gemm<T>(ctx, Trans::kNo, Trans::kNo, n, l.embed, l.out, T(1), dlogits, l.emb, T(0), dq);
  bias_activation_backward<T>(ctx, q, dq, rows, l.embed, Activation::kTanh, nullptr, nullptr);
  gemm<T>(ctx, Trans::kYes, Trans::kNo, l.in, l.embed, n, T(1), x, dq, T(1), l.dw);
  if (dx) gemm<T>(ctx, Trans::kNo, Trans::kYes, n, l.in, l.embed, T(1), dq, l.w, T(0), dx);
}

template <class T>
void conv_forward(const Context& ctx, const ConvView<T>& c, const T* x, std::int64_t n, T* cols, T* y) {
  im2col<T>(ctx, x, n, c.h, c.w_in, c.in, c.k, c.stride, c.pad, cols);
  const std::int64_t rows = n * c.out_h() * c.out_w();
  const int patch = c.in * c.k * c.k;
  permute_conv_weights<T>(ctx, c.w, c.out, c.in, c.k, c.w_perm);
  affine_forward<T>(ctx, cols, c.w_perm, c.b, rows, patch, c.out, c.act, y);
}

template <class T>
void conv_backward(const Context& ctx, const ConvView<T>& c, const T* cols, const T* y, T* dy, std::int64_t n,
                   T* dcols, T* dx) {
  const std::int64_t rows = n * c.out_h() * c.out_w();
  const int patch = c.in * c.k * c.k;
  bias_activation_backward<T>(ctx, y, dy, rows, c.out, c.act, c.db, c.bias_partial);
  gemm<T>(ctx, Trans::kYes, Trans::kNo, c.out, patch, static_cast<int>(rows), T(1), dy, cols, T(0), c.dw_perm);
  unpermute_add_conv_grads<T>(ctx, c.dw_perm, c.out, c.in, c.k, c.dw);
  if (dx) {  // w_perm still holds this step's weights (the forward refreshed it)
    gemm<T>(ctx, Trans::kNo, Trans::kNo, static_cast<int>(rows), patch, c.out, T(1), dy, c.w_perm, T(0), dcols);
    col2im<T>(ctx, dcols, n, c.h, c.w_in, c.in, c.k, c.stride, c.pad, dx);
  }
}

template <class T>
LstmWorkspace<T>::LstmWorkspace(kernels::Device d, int layers_, std::int64_t max_rows_, std::int64_t max_batch_,
                                int hidden_, int max_in)
    : layers(layers_), hidden(hidden_), max_rows(max_rows_), max_batch(max_batch_) {
  const std::size_t R = static_cast<std::size_t>(max_rows_), B = static_cast<std::size_t>(max_batch_),
                    H = static_cast<std::size_t>(hidden_);
  gates = kernels::DeviceBuffer<T>(d, layers_ * R * 4 * H);
  h = kernels::DeviceBuffer<T>(d, layers_ * (R + B) * H);
  c = kernels::DeviceBuffer<T>(d, layers_ * (R + B) * H);
  dgates = kernels::DeviceBuffer<T>(d, R * 4 * H);
  dh = kernels::DeviceBuffer<T>(d, B * H);
  dc = kernels::DeviceBuffer<T>(d, B * H);
  dc_prev = kernels::DeviceBuffer<T>(d, B * H);
  dx = kernels::DeviceBuffer<T>(d, R * std::max<std::size_t>(max_in, H));
}

template <class T>
void lstm_forward(const Context& ctx, const std::vector<LstmLayerView<T>>& layers, int hidden, const T* x, int steps,
                  std::int64_t batch, const T* h0, const T* c0, LstmWorkspace<T>& ws, T* y, T* h_out, T* c_out) {
  METTA_CHECK(steps * batch <= ws.max_rows && batch <= ws.max_batch && static_cast<int>(layers.size()) <= ws.layers,
              "LSTM workspace too small for " << steps << " steps x " << batch << " rows");
  const int H = hidden;
  const std::int64_t BH = batch * H, state = ws.state_stride();
  const T* in = x;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LstmLayerView<T>& L = layers[l];
    T* gates = ws.gates.data() + l * ws.gate_stride();
    T* hs = ws.h.data() + l * state;
    T* cs = ws.c.data() + l * state;
    if (h0) kernels::copy_bytes(ctx, ctx.device, hs, ctx.device, h0 + l * BH, BH * sizeof(T));
    else kernels::fill_bytes(ctx, hs, 0, BH * sizeof(T));
    if (c0) kernels::copy_bytes(ctx, ctx.device, cs, ctx.device, c0 + l * BH, BH * sizeof(T));
    else kernels::fill_bytes(ctx, cs, 0, BH * sizeof(T));
    // input projection of every step at once
    gemm<T>(ctx, Trans::kNo, Trans::kYes, static_cast<int>(steps * batch), 4 * H, L.in, T(1), in, L.w_ih, T(0), gates);
    for (int t = 0; t < steps; ++t) {
      T* g = gates + t * batch * 4 * H;
      gemm<T>(ctx, Trans::kNo, Trans::kYes, static_cast<int>(batch), 4 * H, H, T(1), hs + t * BH, L.w_hh, T(1), g);
      lstm_cell_forward<T>(ctx, g, L.b_ih, L.b_hh, cs + t * BH, cs + (t + 1) * BH, hs + (t + 1) * BH, batch, H);
    }
    if (h_out) kernels::copy_bytes(ctx, ctx.device, h_out + l * BH, ctx.device, hs + steps * BH, BH * sizeof(T));
    if (c_out) kernels::copy_bytes(ctx, ctx.device, c_out + l * BH, ctx.device, cs + steps * BH, BH * sizeof(T));
    in = hs + BH;  // this layer's outputs h_1 .. h_steps feed the next layer
  }
  kernels::copy_bytes(ctx, ctx.device, y, ctx.device, in, steps * BH * sizeof(T));
}

template <class T>
void lstm_backward(const Context& ctx, const std::vector<LstmLayerView<T>>& layers, int hidden, const T* x, int steps,
                   std::int64_t batch, const T* dy, LstmWorkspace<T>& ws, T* dx) {
  const int H = hidden;
  const std::int64_t BH = batch * H, state = ws.state_stride();
  const int n = static_cast<int>(steps * batch);
  const T* dout = dy;  // gradient of this layer's outputs [steps, batch, H]
  for (int l = static_cast<int>(layers.size()) - 1; l >= 0; --l) {
    const LstmLayerView<T>& L = layers[l];
    const T* gates = ws.gates.data() + l * ws.gate_stride();
    const T* hs = ws.h.data() + l * state;
    const T* cs = ws.c.data() + l * state;
    const T* in = l == 0 ? x : ws.h.data() + (l - 1) * state + BH;
    T* dgates = ws.dgates.data();
    T* dh = ws.dh.data();
    kernels::fill_bytes(ctx, dh, 0, BH * sizeof(T));       // recurrent gradient from step t+1
    kernels::fill_bytes(ctx, ws.dc.data(), 0, BH * sizeof(T));
    for (int t = steps - 1; t >= 0; --t) {
      add_into<T>(ctx, dout + t * BH, dh, BH);  // dh = recurrent gradient + gradient of the output at t
      lstm_cell_backward<T>(ctx, gates + t * batch * 4 * H, cs + t * BH, cs + (t + 1) * BH, dh, ws.dc.data(),
                            dgates + t * batch * 4 * H, ws.dc_prev.data(), batch, H);
      std::swap(ws.dc, ws.dc_prev);
      // recurrent gradient for step t-1: dh = dgates_t W_hh
      gemm<T>(ctx, Trans::kNo, Trans::kNo, static_cast<int>(batch), H, 4 * H, T(1), dgates + t * batch * 4 * H, L.w_hh,
              T(0), dh);
    }
    gemm<T>(ctx, Trans::kYes, Trans::kNo, 4 * H, H, n, T(1), dgates, hs, T(1), L.dw_hh);
    gemm<T>(ctx, Trans::kYes, Trans::kNo, 4 * H, L.in, n, T(1), dgates, in, T(1), L.dw_ih);
    bias_activation_backward<T>(ctx, nullptr, dgates, n, 4 * H, Activation::kNone, L.db_ih, L.bias_partial);
    bias_activation_backward<T>(ctx, nullptr, dgates, n, 4 * H, Activation::kNone, L.db_hh, L.bias_partial);
    T* dinput = l == 0 ? dx : ws.dx.data();
    if (dinput) gemm<T>(ctx, Trans::kNo, Trans::kNo, n, L.in, 4 * H, T(1), dgates, L.w_ih, T(0), dinput);
    dout = ws.dx.data();
  }
}

#define METTA_LAYERS_INSTANTIATE(T)                                                                              \
  template void linear_forward<T>(const Context&, const LinearView<T>&, const T*, std::int64_t, T*);            \
  template void linear_backward<T>(const Context&, const LinearView<T>&, const T*, const T*, T*, std::int64_t, T*); \
  template void bilinear_forward<T>(const Context&, const BilinearView<T>&, const T*, std::int64_t, T*, T*);     \
  template void bilinear_backward<T>(const Context&, const BilinearView<T>&, const T*, const T*, const T*,       \
                                     std::int64_t, T*, T*);                                                      \
  template void conv_forward<T>(const Context&, const ConvView<T>&, const T*, std::int64_t, T*, T*);            \
  template void conv_backward<T>(const Context&, const ConvView<T>&, const T*, const T*, T*, std::int64_t, T*, T*); \
  template struct LstmWorkspace<T>;                                                                              \
  template void lstm_forward<T>(const Context&, const std::vector<LstmLayerView<T>>&, int, const T*, int,        \
                                std::int64_t, const T*, const T*, LstmWorkspace<T>&, T*, T*, T*);                \
  template void lstm_backward<T>(const Context&, const std::vector<LstmLayerView<T>>&, int, const T*, int,       \
                                 std::int64_t, const T*, LstmWorkspace<T>&, T*);
METTA_LAYERS_INSTANTIATE(float)
METTA_LAYERS_INSTANTIATE(double)

}  // namespace metta::nn
