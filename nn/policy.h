// The agent's policy network (trainer.md §2–6): token -> box encoder, convolutions, fully connected
// layers, a multi-layer LSTM, a critic and the bilinear actor over action embeddings, with a hand-written
// backward pass. Two presets: `fast` (the trainer's default agent) and `api_default` (hidden 512, one
// LSTM layer). All weights live in one flat buffer (ParamTable names them as torch does); all workspaces
// are allocated at construction for the largest batch, so forward and backward allocate nothing.
//
// Rows are segment-major: row = segment * steps + t. The LSTM runs time-major inside. Training replays
// each segment from a zero state (or a given one); the rollout forward is steps = 1 with the per-agent
// state carried in and out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/memory.h"
#include "nn/layers.h"
#include "nn/params.h"

namespace metta::nn {

struct ConvSpec {
  int out, k, stride, pad;
};

struct PolicyArch {
  std::string name;
  int obs_h = 11, obs_w = 11, features = 22, tokens = 200;
  std::vector<ConvSpec> convs;
  std::vector<int> fcs;          // sizes after the flatten
  int lstm_layers = 2, hidden = 128;
  int critic_hidden = 1024;      // 0: the value is read from the core directly
  int actor_hidden = 512;
  int embed_dim = 16, num_embeddings = 100;

  static PolicyArch fast(int features);
  static PolicyArch api_default(int features);
  // A scaled-down fast (32 channels, 64-wide layers, one LSTM layer of 64) for quick CPU runs and tests.
  static PolicyArch small(int features);
  // "fast" | "api_default" | "small", optionally with options: "api_default:hidden_dim=256:lstm_layers=2"
  // (hidden_dim sets the encoder's output and the LSTM's width). The spec is the arch's name, which
  // checkpoints record, so a policy loads back with the same shapes.
  static PolicyArch by_name(const std::string& spec, int features);
};

// The flat action space of trainer.md §5: logit index = cum[type] + arg.
struct ActionSpace {
  explicit ActionSpace(std::vector<int> max_args);
  std::vector<int> max_args;
  std::vector<std::int32_t> cum;                  // [types + 1]
  std::vector<std::int32_t> flat_type, flat_arg;  // [logits]
  int num_types() const { return static_cast<int>(max_args.size()); }
  int num_logits() const { return cum.back(); }
};

// Which LSTM implementation a CUDA policy uses: kAuto = cuDNN when the build has it and it agrees with
// our kernels on a small case (otherwise our kernels, said through the log callback), kCudnn = cuDNN or
// an error, kNative = our own kernels.
// CPU policies always use the native LSTM.
enum class LstmBackend { kAuto, kNative, kCudnn };

// How the first linear layer reads a convolution output with a spatial extent (torch flattens it NCHW,
// our convolutions write NHWC): kTransposeRows transposes each row's activations (and gradients back);
// kPermuteWeights reads NHWC with the layer's weight columns permuted once per forward (and the weight
// gradient permuted back), which moves less data when the batch has more rows than the layer has
// outputs. kAuto picks by that rule. Both give the same function; float sums differ in order.
enum class FlattenMode { kAuto, kTransposeRows, kPermuteWeights };

class CudnnLstm;

template <class T>
class Policy {
 public:
  // max_rows: the largest segments * steps of a training forward; max_steps: the largest steps; the
  // rollout forward (steps = 1) may use up to max_rows rows as well.
  Policy(const kernels::Context& ctx, const PolicyArch& arch, const ActionSpace& actions,
         const std::vector<float>& feature_norms, std::uint64_t seed, std::int64_t max_rows, int max_steps,
         LstmBackend lstm = LstmBackend::kAuto);

  // Forward over obs [segments, steps, tokens, 3]. With `actions` given ([rows, 2]), the log-probs and
  // entropies of those actions; otherwise actions are sampled (seed, counter) into `sampled` [rows, 2]
  // (counter_base: a device counter added to `counter`, or null; see nn::action_dist_sample).
  // h0, c0: [layers, segments, H] initial state or null (zeros); h_out, c_out: final state or null.
  void forward(const std::uint8_t* obs, std::int64_t segments, int steps, const std::int32_t* actions,
               const T* h0, const T* c0, T* h_out, T* c_out, std::uint64_t seed = 0, std::uint32_t counter = 0,
               std::int32_t* sampled = nullptr, const std::uint32_t* counter_base = nullptr);
  // Backward of the last forward (which must have been given actions): accumulates into grads().
  // extra_dlogits ([rows, A], optional): a further gradient of the logits (kickstarter distillation).
  void backward(const T* d_logp, const T* d_entropy, const T* d_value, const T* extra_dlogits = nullptr);
  void zero_grads();

  // Outputs of the last forward, [rows] on the device.
  const T* logp() const { return logp_.data(); }
  const T* entropy() const { return entropy_.data(); }
  const T* value() const { return value_.data(); }
  const T* logits() const { return logits_.data(); }  // [rows, A]

  T* params() { return params_.data(); }
  const T* params() const { return params_.data(); }
  T* grads() { return grads_.data(); }
  std::int64_t num_params() const { return table_.total(); }
  const ParamTable& table() const { return table_; }
  const PolicyArch& arch() const { return arch_; }
  const ActionSpace& action_space() const { return actions_; }
  const kernels::Context& context() const { return ctx_; }
  int state_size() const { return arch_.lstm_layers * arch_.hidden; }  // per row, h or c
  bool uses_cudnn() const { return cudnn_lstm_ != nullptr; }
  // The first convolution straight from the tokens (the default on both backends: it skips the box and
  // im2col, 2,662 values per row for ~40 tokens) or dense over the scattered box (cuDNN-free GEMMs on
  // the im2col columns; trainer.first_conv: dense). Switching allocates the other path's workspaces on
  // the next forward.
  void set_token_conv(bool on) { token_conv_ = on && !convs_.empty(); }
  // FlattenMode above; a forced mode allocates its buffers on the next forward that uses them.
  void set_flatten_mode(FlattenMode m) { flatten_mode_ = m; }
  bool token_conv() const { return token_conv_; }
  // Sampled actions are keyed by (seed, counter, row_base + row): a data-parallel rank sets its first
  // agent's global index, so its draws are those its agents get in one process holding every rank's envs.
  void set_sample_row_base(std::int64_t row_base) { sample_row_base_ = row_base; }
  // Epoch breakdowns (train/epoch_timing.h): while set, each sampling forward adds the seconds its
  // sampling took to *seconds (synchronizing around it on CUDA); nullptr, the default, is off.
  void time_sampling(double* seconds) { sample_seconds_ = seconds; }

 private:
  void build_views();
  void dense_first_conv_buffers();  // allocates the dense first convolution's workspaces once
  void token_conv_buffers();        // the token convolution's weight-gradient workspace (CUDA only), once
#ifdef METTA_WITH_CUDNN
  std::string cudnn_disagreement(const kernels::Context& ctx, int in);  // "" when cuDNN agrees
#endif
  T* grad_of(const std::string& name) { return grads_.data() + table_.at(name).offset; }
  const T* param_of(const std::string& name) const { return params_.data() + table_.at(name).offset; }

  kernels::Context ctx_;
  std::int64_t sample_row_base_ = 0;
  double* sample_seconds_ = nullptr;  // time_sampling
  PolicyArch arch_;
  ActionSpace actions_;
  ParamTable table_;
  std::int64_t max_rows_;
  int max_steps_;
  kernels::DeviceBuffer<T> params_, grads_, inv_norm_;
  kernels::DeviceBuffer<T> bias_partial_;  // CUDA only: the bias gradients' chunk sums (empty on the CPU)
  kernels::DeviceBuffer<std::int32_t> cum_, flat_type_, flat_arg_;
  std::vector<ConvView<T>> convs_;
  std::vector<kernels::DeviceBuffer<T>> conv_wperm_, conv_dwperm_;  // per conv, the views' scratch
  std::vector<LinearView<T>> fcs_;
  std::vector<LstmLayerView<T>> lstm_;
  LinearView<T> critic_, value_layer_, actor_;
  BilinearView<T> head_;
  int flat_size_ = 0, conv_out_h_ = 0, conv_out_w_ = 0;

  // activations
  kernels::DeviceBuffer<T> box_, flat_, core_tm_in_, core_tm_out_, core_, critic_h_, actor_h_, q_;
  std::vector<kernels::DeviceBuffer<T>> conv_cols_, conv_out_, fc_out_;
  kernels::DeviceBuffer<T> logits_, logp_, entropy_, value_;
  LstmWorkspace<T> lstm_ws_;
  std::shared_ptr<CudnnLstm> cudnn_lstm_;  // the GPU LSTM, when used
  bool token_conv_ = false;
  kernels::DeviceBuffer<std::uint8_t> token_mask_;  // [rows, tokens]
  kernels::DeviceBuffer<T> first_wt_, first_dwt_;   // the first conv's weights [k, k, in, out] and gradient
  kernels::DeviceBuffer<T> first_dwt_partial_;       // CUDA: the token weight gradient's chunk sums
  // FlattenMode: the permuted first-layer weights and their gradient (fc0_*), or the transposed rows
  // (flat_, dflat_); the mode of the last forward is the one its backward uses.
  FlattenMode flatten_mode_ = FlattenMode::kAuto;
  bool last_fc_nhwc_ = false;
  kernels::DeviceBuffer<T> fc0_wperm_, fc0_dwperm_;
  bool fc_nhwc_possible() const;
  void flatten_buffers(bool nhwc);
  const std::uint8_t* last_obs_ = nullptr;
  const T* lstm_in_ = nullptr;  // the last forward's LSTM input (time-major), which backward reads again
  // gradients of activations
  kernels::DeviceBuffer<T> dlogits_, dq_, dactor_, dvalue_, dcritic_, dcore_, dcore_c_, dcore_tm_, dlstm_in_tm_;
  std::vector<kernels::DeviceBuffer<T>> dfc_, dconv_;
  kernels::DeviceBuffer<T> dflat_, dcols_;
  // last forward's shape and actions
  std::int64_t rows_ = 0, segments_ = 0;
  int steps_ = 0;
  const std::int32_t* last_actions_ = nullptr;
};

}  // namespace metta::nn
