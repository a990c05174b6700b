// The multi-layer LSTM through cuDNN (the GPU path of nn/; the CPU and the native CUDA path use
// lstm_forward / lstm_backward of layers.h). Same contract as those: time-major x [steps, batch, in],
// initial state (h0, c0) [layers, batch, H] or null for zeros, y [steps, batch, H] of the top layer,
// the final state detached (no gradient flows into it), weights and gradients in torch's layout
// (weight_ih [4H, in], weight_hh [4H, H], bias_ih, bias_hh per layer; gates i, f, g, o).
// cuDNN's weight space has that same layout when a layer's four tensors are contiguous and in that
// order, as ParamTable places them: then our parameter and gradient buffers are used in place.
// Otherwise (checked once with cudnnGetRNNWeightParams) the weights are copied in before each forward
// and the gradients added back after each backward. FP32 math without TF32, to match the CPU.
// Built only with METTA_WITH_CUDNN (the CUDA build finds cuDNN): create it with make_cudnn_lstm.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/layers.h"

namespace metta::nn {

#ifdef METTA_WITH_CUDNN
inline constexpr bool kCudnnLstmBuilt = true;
#else
inline constexpr bool kCudnnLstmBuilt = false;
#endif

class CudnnLstm {
 public:
  // max_rows: the largest steps * batch of any call; max_batch: the largest batch; max_steps: the
  // largest steps. The workspaces are sized for all of them at construction.
  CudnnLstm(const Context& ctx, const std::vector<LstmLayerView<float>>& layers, int hidden, std::int64_t max_rows,
            std::int64_t max_batch, int max_steps);
  ~CudnnLstm();
  CudnnLstm(const CudnnLstm&) = delete;
  CudnnLstm& operator=(const CudnnLstm&) = delete;

  // training = true keeps what backward needs (cuDNN's reserve space); the next backward uses it.
  void forward(const Context& ctx, const float* x, int steps, std::int64_t batch, const float* h0, const float* c0,
               float* y, float* h_out, float* c_out, bool training);
  // Adds the weight gradients into the layers' dw/db buffers and writes dx [steps, batch, in].
  void backward(const Context& ctx, const float* dy, float* dx);
  bool in_place() const;  // weights used in place (no copies)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The factory (its deleter lives with the cuDNN code, so users need not link it without cuDNN).
std::shared_ptr<CudnnLstm> make_cudnn_lstm(const Context& ctx, const std::vector<LstmLayerView<float>>& layers,
                                           int hidden, std::int64_t max_rows, std::int64_t max_batch, int max_steps);

}  // namespace metta::nn
