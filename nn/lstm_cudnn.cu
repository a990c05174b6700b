#include "nn/lstm_cudnn.h"

#include <cudnn.h>

#include <string>

#include "kernels/cuda_check.h"
#include "kernels/memory.h"

#define METTA_CUDNN_CHECK(call) \
  METTA_STATUS_CHECK_(call, #call, CUDNN_STATUS_SUCCESS, "cuDNN", cudnnGetErrorString)

namespace metta::nn {
namespace {
__global__ void fill_int(std::int32_t* p, std::int64_t n, std::int32_t v) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    p[i] = v;
}
__global__ void add_floats(float* dst, const float* src, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    dst[i] += src[i];
}
int blocks_for(std::int64_t n) { return static_cast<int>(std::min<std::int64_t>((n + 255) / 256, 4096)); }

// One weight or bias tensor: where cuDNN wants it, and where it lives in our buffers.
struct Piece {
  float* cudnn;         // in the weight space
  const float* ours;    // our parameter
  float* our_grad;      // our gradient
  std::int64_t offset;  // in the weight space, in floats
  std::int64_t count;
};
}  // namespace

std::shared_ptr<CudnnLstm> make_cudnn_lstm(const Context& ctx, const std::vector<LstmLayerView<float>>& layers,
                                           int hidden, std::int64_t max_rows, std::int64_t max_batch, int max_steps) {
  return std::make_shared<CudnnLstm>(ctx, layers, hidden, max_rows, max_batch, max_steps);
}

struct CudnnLstm::Impl {
  cudnnHandle_t handle = nullptr;
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t x_desc = nullptr, y_desc = nullptr;
  cudnnTensorDescriptor_t h_desc = nullptr;
  kernels::DeviceBuffer<std::uint8_t> dropout_states, workspace, reserve;
  kernels::DeviceBuffer<float> weights, dweights;  // only when not in place
  kernels::DeviceBuffer<float> h_tmp, c_tmp;       // the initial state when the final one overwrites it
  kernels::DeviceBuffer<std::int32_t> seq_lengths;
  std::vector<LstmLayerView<float>> layers;
  std::vector<Piece> pieces;
  int hidden = 0, num_layers = 0, in = 0;
  std::int64_t max_rows = 0, max_batch = 0;
  std::size_t weight_bytes = 0;
  bool in_place = false;
  float* weight_base = nullptr;   // the weight space used
  float* dweight_base = nullptr;  // its gradient
  // shape of the last call (descriptors are rebuilt when it changes)
  int steps = -1;
  std::int64_t batch = -1;
  cudnnForwardMode_t sized_mode = CUDNN_FWD_MODE_INFERENCE;  // the workspaces fit (steps, batch) in it
  bool training = false;
  const float *x = nullptr, *y = nullptr, *h0 = nullptr, *c0 = nullptr;

  void set_shape(const Context& ctx, int s, std::int64_t b, cudnnForwardMode_t mode) {
    // The device's sequence lengths are written at every call, not only when the shape changes: a
    // replayed graph (trainer.rollout_graph, trainer.update_graph) writes its own shape's there, which
    // this host-side record of the last shape does not see.
    fill_int<<<blocks_for(b), 256, 0, static_cast<cudaStream_t>(ctx.stream)>>>(seq_lengths.data(), b, s);
    METTA_CUDA_CHECK(cudaGetLastError());
    if (s == steps && b == batch && mode == sized_mode) return;  // the rollout repeats one shape
    sized_mode = mode;
    if (s != steps || b != batch) {
      steps = s;
      batch = b;
      std::vector<int> lengths(static_cast<std::size_t>(b), s);
      METTA_CUDNN_CHECK(cudnnSetRNNDataDescriptor(x_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, s,
                                                  static_cast<int>(b), in, lengths.data(), nullptr));
      METTA_CUDNN_CHECK(cudnnSetRNNDataDescriptor(y_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, s,
                                                  static_cast<int>(b), hidden, lengths.data(), nullptr));
      const int dims[3] = {num_layers, static_cast<int>(b), hidden};
      const int strides[3] = {static_cast<int>(b) * hidden, hidden, 1};
      METTA_CUDNN_CHECK(cudnnSetTensorNdDescriptor(h_desc, CUDNN_DATA_FLOAT, 3, dims, strides));
    }
    // cuDNN's temporary sizes are not monotonic in the shape, so ask for this shape and mode; the
    // buffers sized at construction usually suffice, and grow (once per new maximum) when they do not.
    std::size_t work = 0, res = 0;
    METTA_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, rnn, mode, x_desc, &work, &res));
    if (work > workspace.size()) workspace = kernels::DeviceBuffer<std::uint8_t>(kernels::Device::CUDA, work);
    if (mode == CUDNN_FWD_MODE_TRAINING && res > reserve.size())
      reserve = kernels::DeviceBuffer<std::uint8_t>(kernels::Device::CUDA, res);
  }

  ~Impl() {  // also runs when the constructor throws half-way
    if (h_desc) cudnnDestroyTensorDescriptor(h_desc);
    if (y_desc) cudnnDestroyRNNDataDescriptor(y_desc);
    if (x_desc) cudnnDestroyRNNDataDescriptor(x_desc);
    if (dropout) cudnnDestroyDropoutDescriptor(dropout);
    if (rnn) cudnnDestroyRNNDescriptor(rnn);
    if (handle) cudnnDestroy(handle);
  }
};

CudnnLstm::CudnnLstm(const Context& ctx, const std::vector<LstmLayerView<float>>& layers, int hidden,
                     std::int64_t max_rows, std::int64_t max_batch, int max_steps)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  METTA_CHECK(ctx.device == kernels::Device::CUDA, "the cuDNN LSTM needs a CUDA context");
  METTA_CHECK(!layers.empty(), "cuDNN LSTM: no layers");
  m.layers = layers;
  m.hidden = hidden;
  m.num_layers = static_cast<int>(layers.size());
  m.in = layers[0].in;
  m.max_rows = max_rows;
  m.max_batch = max_batch;
  METTA_CUDNN_CHECK(cudnnCreate(&m.handle));
  METTA_CUDNN_CHECK(cudnnCreateRNNDescriptor(&m.rnn));
  METTA_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&m.dropout));
  METTA_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&m.x_desc));
  METTA_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&m.y_desc));
  METTA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&m.h_desc));
  std::size_t state_bytes = 0;
  METTA_CUDNN_CHECK(cudnnDropoutGetStatesSize(m.handle, &state_bytes));
  m.dropout_states = kernels::DeviceBuffer<std::uint8_t>(kernels::Device::CUDA, std::max<std::size_t>(state_bytes, 1));
  METTA_CUDNN_CHECK(cudnnSetDropoutDescriptor(m.dropout, m.handle, 0.0f, m.dropout_states.data(), state_bytes, 0));
  METTA_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(m.rnn, CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS,
                                             CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
                                             CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, m.in, hidden, hidden, m.num_layers,
                                             m.dropout, CUDNN_RNN_PADDED_IO_DISABLED));
  METTA_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(m.handle, m.rnn, &m.weight_bytes));

  // Is cuDNN's layout ours? Ask where each tensor goes with our first weight as the base.
  float* base = const_cast<float*>(layers[0].w_ih);
  float* gbase = layers[0].dw_ih;
  struct TensorDescs {  // destroyed on every way out of this block
    cudnnTensorDescriptor_t m = nullptr, b = nullptr;
    ~TensorDescs() {
      if (m) cudnnDestroyTensorDescriptor(m);
      if (b) cudnnDestroyTensorDescriptor(b);
    }
  } descs;
  METTA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&descs.m));
  METTA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&descs.b));
  cudnnTensorDescriptor_t mdesc = descs.m, bdesc = descs.b;
  bool same = true;
  std::int64_t total = 0;
  for (int l = 0; l < m.num_layers; ++l) {
    const LstmLayerView<float>& v = layers[static_cast<std::size_t>(l)];
    for (int id = 0; id < 8; ++id) {
      void *maddr = nullptr, *baddr = nullptr;
      METTA_CUDNN_CHECK(cudnnGetRNNWeightParams(m.handle, m.rnn, l, m.weight_bytes, base, id, mdesc, &maddr, bdesc,
                                                &baddr));
      const int gate = id % 4;
      const std::int64_t cols = id < 4 ? v.in : hidden;
      const std::int64_t mcount = static_cast<std::int64_t>(hidden) * cols;
      const float* our_w = (id < 4 ? v.w_ih : v.w_hh) + gate * mcount;
      float* our_dw = (id < 4 ? v.dw_ih : v.dw_hh) + gate * mcount;
      const float* our_b = (id < 4 ? v.b_ih : v.b_hh) + gate * hidden;
      float* our_db = (id < 4 ? v.db_ih : v.db_hh) + gate * hidden;
      const std::int64_t moff = static_cast<float*>(maddr) - base, boff = static_cast<float*>(baddr) - base;
      m.pieces.push_back({nullptr, our_w, our_dw, moff, mcount});
      m.pieces.push_back({nullptr, our_b, our_db, boff, hidden});
      same = same && static_cast<float*>(maddr) == our_w && static_cast<float*>(baddr) == our_b &&
             (our_dw - gbase) == moff && (our_db - gbase) == boff;
      total += mcount + hidden;
    }
  }
  m.in_place = same && static_cast<std::size_t>(total) * sizeof(float) == m.weight_bytes;
  if (m.in_place) {
    m.weight_base = base;
    m.dweight_base = gbase;
  } else {
    m.weights = kernels::DeviceBuffer<float>(kernels::Device::CUDA, m.weight_bytes / sizeof(float) + 1);
    m.dweights = kernels::DeviceBuffer<float>(kernels::Device::CUDA, m.weight_bytes / sizeof(float) + 1);
    m.weight_base = m.weights.data();
    m.dweight_base = m.dweights.data();
    for (Piece& p : m.pieces) p.cudnn = m.weight_base + p.offset;
  }
  // Workspaces for the largest shapes: training over max_rows, and inference over max_batch.
  m.seq_lengths = kernels::DeviceBuffer<std::int32_t>(kernels::Device::CUDA, static_cast<std::size_t>(max_batch));
  std::size_t work = 0, res = 0;
  // Every step count a call may use, each with the largest batch that fits (the sizes grow with it).
  for (std::int64_t steps = 1; steps <= max_steps; ++steps) {
    const std::int64_t batch = std::min(max_batch, max_rows / steps);
    if (batch < 1) break;
    std::vector<int> lengths(static_cast<std::size_t>(batch), static_cast<int>(steps));
    METTA_CUDNN_CHECK(cudnnSetRNNDataDescriptor(m.x_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED,
                                                static_cast<int>(steps), static_cast<int>(batch), m.in, lengths.data(),
                                                nullptr));
    for (cudnnForwardMode_t mode : {CUDNN_FWD_MODE_TRAINING, CUDNN_FWD_MODE_INFERENCE}) {
      std::size_t w = 0, r = 0;
      METTA_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(m.handle, m.rnn, mode, m.x_desc, &w, &r));
      work = std::max(work, w);
      if (mode == CUDNN_FWD_MODE_TRAINING) res = std::max(res, r);
    }
  }
  m.workspace = kernels::DeviceBuffer<std::uint8_t>(kernels::Device::CUDA, std::max<std::size_t>(work, 1));
  m.h_tmp = kernels::DeviceBuffer<float>(kernels::Device::CUDA, static_cast<std::size_t>(m.num_layers * max_batch * hidden));
  m.c_tmp = kernels::DeviceBuffer<float>(kernels::Device::CUDA, static_cast<std::size_t>(m.num_layers * max_batch * hidden));
  m.reserve = kernels::DeviceBuffer<std::uint8_t>(kernels::Device::CUDA, std::max<std::size_t>(res, 1));
}

CudnnLstm::~CudnnLstm() = default;

bool CudnnLstm::in_place() const { return impl_->in_place; }

void CudnnLstm::forward(const Context& ctx, const float* x, int steps, std::int64_t batch, const float* h0,
                        const float* c0, float* y, float* h_out, float* c_out, bool training) {
  Impl& m = *impl_;
  METTA_CHECK(batch >= 1 && batch <= m.max_batch && steps * batch <= m.max_rows,
              "cuDNN LSTM: steps " << steps << " x batch " << batch << " over the capacity " << m.max_rows);
  const auto stream = static_cast<cudaStream_t>(ctx.stream);
  METTA_CUDNN_CHECK(cudnnSetStream(m.handle, stream));
  const cudnnForwardMode_t mode = training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  m.set_shape(ctx, steps, batch, mode);
  if (!m.in_place)
    for (const Piece& p : m.pieces)
      METTA_CUDA_CHECK(cudaMemcpyAsync(p.cudnn, p.ours, p.count * sizeof(float), cudaMemcpyDeviceToDevice, stream));
  // The rollout passes the same buffer as initial and final state; cuDNN does not promise that in-place
  // works, so the initial state is copied to scratch first (where it also stays unchanged for a
  // backward, which must see the forward's hx and cx).
  const std::size_t state_bytes = static_cast<std::size_t>(m.num_layers * batch * m.hidden) * sizeof(float);
  if (h0 && h_out == h0) {
    METTA_CUDA_CHECK(cudaMemcpyAsync(m.h_tmp.data(), h0, state_bytes, cudaMemcpyDeviceToDevice, stream));
    h0 = m.h_tmp.data();
  }
  if (c0 && c_out == c0) {
    METTA_CUDA_CHECK(cudaMemcpyAsync(m.c_tmp.data(), c0, state_bytes, cudaMemcpyDeviceToDevice, stream));
    c0 = m.c_tmp.data();
  }
  METTA_CUDNN_CHECK(cudnnRNNForward(m.handle, m.rnn, mode, m.seq_lengths.data(), m.x_desc, x, m.y_desc, y, m.h_desc,
                                    h0, h_out, m.h_desc, c0, c_out, m.weight_bytes, m.weight_base, m.workspace.size(),
                                    m.workspace.data(), training ? m.reserve.size() : 0,
                                    training ? m.reserve.data() : nullptr));
  m.training = training;
  m.x = x;
  m.y = y;
  m.h0 = h0;
  m.c0 = c0;
}

void CudnnLstm::backward(const Context& ctx, const float* dy, float* dx) {
  Impl& m = *impl_;
  METTA_CHECK(m.training, "cuDNN LSTM: backward needs a training forward first");
  const auto stream = static_cast<cudaStream_t>(ctx.stream);
  METTA_CUDNN_CHECK(cudnnSetStream(m.handle, stream));
  // The data gradient first (it reads the reserve space), then the weights (which adds into dweights).
  METTA_CUDNN_CHECK(cudnnRNNBackwardData_v8(m.handle, m.rnn, m.seq_lengths.data(), m.y_desc, m.y, dy, m.x_desc, dx,
                                            m.h_desc, m.h0, nullptr, nullptr, m.h_desc, m.c0, nullptr, nullptr,
                                            m.weight_bytes, m.weight_base, m.workspace.size(), m.workspace.data(),
                                            m.reserve.size(), m.reserve.data()));
  if (!m.in_place) METTA_CUDA_CHECK(cudaMemsetAsync(m.dweight_base, 0, m.weight_bytes, stream));
  METTA_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(m.handle, m.rnn, CUDNN_WGRAD_MODE_ADD, m.seq_lengths.data(), m.x_desc,
                                               m.x, m.h_desc, m.h0, m.y_desc, m.y, m.weight_bytes, m.dweight_base,
                                               m.workspace.size(), m.workspace.data(), m.reserve.size(),
                                               m.reserve.data()));
  if (!m.in_place)
    for (const Piece& p : m.pieces)
      add_floats<<<blocks_for(p.count), 256, 0, stream>>>(p.our_grad, m.dweight_base + p.offset, p.count);
  METTA_CUDA_CHECK(cudaGetLastError());
  m.training = false;  // the reserve space belongs to one forward
}

}  // namespace metta::nn
