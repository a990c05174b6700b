// Parameterized layers of the policy: linear, the bilinear actor head, 2-D convolution (im2col + GEMM,
// NHWC) and a multi-layer LSTM over a time window. A layer is a view: pointers into the flat parameter and gradient buffers plus
// its sizes. Forward writes activations the backward pass reads again; backward accumulates (+=) the
// parameter gradients and overwrites the input gradient (skipped when dx is null).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/memory.h"
#include "nn/ops.h"

namespace metta::nn {

template <class T>
struct LinearView {
  const T* w = nullptr;  // [out, in]
  const T* b = nullptr;  // [out] or null
  T* dw = nullptr;
  T* db = nullptr;
  int in = 0, out = 0;
  Activation act = Activation::kNone;
  T* bias_partial = nullptr;  // CUDA: kBiasGradWorkspace elements for the bias gradient (ops.h), else null
};

// y [rows, out] = act(x [rows, in] W^T + b)
template <class T>
void linear_forward(const Context& ctx, const LinearView<T>& l, const T* x, std::int64_t rows, T* y);
// dy [rows, out] is the gradient of the layer's output; it is turned into the pre-activation gradient in
// place. dW += dy^T x, db += sum(dy), dx = dy W.
template <class T>
void linear_backward(const Context& ctx, const LinearView<T>& l, const T* x, const T* y, T* dy, std::int64_t rows,
                     T* dx);

// The bilinear actor head: q = tanh(x W) [rows, embed], then logits = q Emb^T + b [rows, out] over the
// active action embeddings, with one bias shared by every logit (the reference's MettaActorSingleHead).
template <class T>
struct BilinearView {
  const T* w = nullptr;    // [in, embed]
  const T* emb = nullptr;  // [out, embed]: the active rows of the embedding table
  const T* b = nullptr;    // [1]
  T* dw = nullptr;
  T* demb = nullptr;
  T* db = nullptr;
  int in = 0, embed = 0, out = 0;
  T* bias_partial = nullptr;  // as LinearView::bias_partial
};

// q [rows, embed] (kept for the backward) and logits [rows, out] from x [rows, in].
template <class T>
void bilinear_forward(const Context& ctx, const BilinearView<T>& l, const T* x, std::int64_t rows, T* q, T* logits);
// From the logits' gradient: dW += x^T dq, dEmb += dlogits^T q, db += sum(dlogits), dx = dq W^T, with
// dq [rows, embed] (scratch, overwritten) the gradient of q's pre-activation.
template <class T>
void bilinear_backward(const Context& ctx, const BilinearView<T>& l, const T* x, const T* q, const T* dlogits,
                       std::int64_t rows, T* dq, T* dx);

template <class T>
struct ConvView {
  const T* w = nullptr;  // [out, in, k, k] (torch layout)
  const T* b = nullptr;  // [out]
  T* dw = nullptr;
  T* db = nullptr;
  T* w_perm = nullptr;   // scratch [out, k, k, in]: w in im2col's patch order (refreshed every forward)
  T* dw_perm = nullptr;  // scratch of the same size for the weight gradient
  int in = 0, out = 0, k = 1, stride = 1, pad = 0;
  int h = 0, w_in = 0;  // input height and width
  Activation act = Activation::kNone;
  T* bias_partial = nullptr;  // as LinearView::bias_partial
  int out_h() const { return (h + 2 * pad - k) / stride + 1; }
  int out_w() const { return (w_in + 2 * pad - k) / stride + 1; }
};

// x [n, h, w, in] -> y [n, oh, ow, out]; cols is a workspace of n * oh * ow * in * k * k.
template <class T>
void conv_forward(const Context& ctx, const ConvView<T>& c, const T* x, std::int64_t n, T* cols, T* y);
// Needs the cols of the forward pass; dcols is a workspace of the same size (unused when dx is null).
template <class T>
void conv_backward(const Context& ctx, const ConvView<T>& c, const T* cols, const T* y, T* dy, std::int64_t n,
                   T* dcols, T* dx);

template <class T>
struct LstmLayerView {
  const T *w_ih = nullptr, *w_hh = nullptr, *b_ih = nullptr, *b_hh = nullptr;  // [4H, in], [4H, H], [4H], [4H]
  T *dw_ih = nullptr, *dw_hh = nullptr, *db_ih = nullptr, *db_hh = nullptr;
  int in = 0;
  T* bias_partial = nullptr;  // as LinearView::bias_partial
};

// Activations of a multi-layer LSTM (time-major), kept for BPTT. Sized by capacity: any call with
// steps * batch <= max_rows and batch <= max_batch fits.
template <class T>
struct LstmWorkspace {
  LstmWorkspace() = default;
  LstmWorkspace(kernels::Device d, int layers, std::int64_t max_rows, std::int64_t max_batch, int hidden, int max_in);
  int layers = 0, hidden = 0;
  std::int64_t max_rows = 0, max_batch = 0;
  kernels::DeviceBuffer<T> gates;   // per layer [steps, batch, 4H] activated gates (layer stride max_rows * 4H)
  kernels::DeviceBuffer<T> h, c;    // per layer [steps + 1, batch, H]; index 0 = initial state
  kernels::DeviceBuffer<T> dgates;  // [steps, batch, 4H]
  kernels::DeviceBuffer<T> dh, dc, dc_prev;  // [batch, H]
  kernels::DeviceBuffer<T> dx;      // [steps, batch, max(in, H)] gradient passed down between layers
  std::int64_t gate_stride() const { return max_rows * 4 * hidden; }
  std::int64_t state_stride() const { return (max_rows + max_batch) * hidden; }
};

// x [steps, batch, in] from state (h0, c0) [layers, batch, H] (null = zeros) -> y [steps, batch, H] (top
// layer); the final state goes to (h_out, c_out) [layers, batch, H] when they are not null.
template <class T>
void lstm_forward(const Context& ctx, const std::vector<LstmLayerView<T>>& layers, int hidden, const T* x, int steps,
                  std::int64_t batch, const T* h0, const T* c0, LstmWorkspace<T>& ws, T* y, T* h_out, T* c_out);
// dy [steps, batch, H]: gradient of y; the final state is treated as detached (no gradient).
template <class T>
void lstm_backward(const Context& ctx, const std::vector<LstmLayerView<T>>& layers, int hidden, const T* x, int steps,
                   std::int64_t batch, const T* dy, LstmWorkspace<T>& ws, T* dx);

}  // namespace metta::nn
