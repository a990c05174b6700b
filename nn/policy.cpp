#include "nn/policy.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "kernels/log.h"
#include "nn/lstm_cudnn.h"

namespace metta::nn {

using kernels::DeviceBuffer;
using kernels::gemm;
using kernels::Trans;

PolicyArch PolicyArch::fast(int features) {
  PolicyArch a;
  a.name = "fast";
  a.features = features;
  a.convs = {{64, 5, 3, 0}, {64, 3, 1, 0}};
  a.fcs = {128, 128};
  a.lstm_layers = 2;
  a.hidden = 128;
  a.critic_hidden = 1024;
  a.actor_hidden = 512;
  return a;
}

PolicyArch PolicyArch::api_default(int features) {
  PolicyArch a;
  a.name = "api_default";
  a.features = features;
  a.convs = {{32, 3, 1, 1}, {64, 3, 1, 1}};
  a.fcs = {512};
  a.lstm_layers = 1;
  a.hidden = 512;
  a.critic_hidden = 0;
  a.actor_hidden = 512;
  return a;
}

PolicyArch PolicyArch::small(int features) {
  PolicyArch a = fast(features);
  a.name = "small";
  a.convs = {{32, 5, 3, 0}, {32, 3, 1, 0}};
  a.fcs = {64, 64};
  a.lstm_layers = 1;
  a.hidden = 64;
  a.critic_hidden = 128;
  a.actor_hidden = 128;
  return a;
}

PolicyArch PolicyArch::by_name(const std::string& spec, int features) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  PolicyArch a;
  if (name == "fast") a = fast(features);
  else if (name == "api_default") a = api_default(features);
  else if (name == "small") a = small(features);
  else METTA_FAIL("agent preset: got '" << name << "', expected 'fast', 'api_default' or 'small'");
  if (colon == std::string::npos) return a;
  // options: hidden_dim=N (the encoder's output and the LSTM's width), lstm_layers=N
  std::string rest = spec.substr(colon + 1);
  while (!rest.empty()) {
    const auto sep = rest.find(':');
    const std::string item = rest.substr(0, sep);
    rest = sep == std::string::npos ? "" : rest.substr(sep + 1);
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    int value = 0;
    try {
      std::size_t used = 0;
      value = eq == std::string::npos ? 0 : std::stoi(item.substr(eq + 1), &used);
      if (eq == std::string::npos || used != item.size() - eq - 1) value = 0;
    } catch (const std::exception&) {
      value = 0;
    }
    if (key == "hidden_dim") {
      METTA_CHECK(value >= 1 && value <= 4096,
                  "agent '" << spec << "': hidden_dim must be an integer in [1, 4096], got '" << item << "'");
      a.hidden = value;
      if (!a.fcs.empty()) a.fcs.back() = value;
    } else if (key == "lstm_layers") {
      METTA_CHECK(value >= 1 && value <= 8,
                  "agent '" << spec << "': lstm_layers must be an integer in [1, 8], got '" << item << "'");
      a.lstm_layers = value;
    } else {
      METTA_FAIL("agent '" << spec << "': unknown option '" << key << "', expected hidden_dim=N or lstm_layers=N");
    }
  }
  a.name = spec;
  return a;
}

ActionSpace::ActionSpace(std::vector<int> max_args_) : max_args(std::move(max_args_)) {
  cum.push_back(0);
  for (std::size_t t = 0; t < max_args.size(); ++t) {
    METTA_CHECK(max_args[t] >= 0, "action type " << t << ": max_arg " << max_args[t]);
    for (int a = 0; a <= max_args[t]; ++a) {
      flat_type.push_back(static_cast<std::int32_t>(t));
      flat_arg.push_back(a);
    }
    cum.push_back(cum.back() + max_args[t] + 1);
  }
  METTA_CHECK(!max_args.empty(), "empty action space");
}

namespace {
template <class T>
DeviceBuffer<T> upload(const kernels::Context& ctx, const std::vector<T>& v) {
  DeviceBuffer<T> b(ctx.device, v.size());
  b.upload(ctx, v);
  return b;
}
}  // namespace

template <class T>
Policy<T>::Policy(const kernels::Context& ctx, const PolicyArch& arch, const ActionSpace& actions,
                  const std::vector<float>& feature_norms, std::uint64_t seed, std::int64_t max_rows, int max_steps,
                  LstmBackend lstm)
    : ctx_(ctx), arch_(arch), actions_(actions), max_rows_(max_rows), max_steps_(max_steps) {
  METTA_CHECK(static_cast<int>(feature_norms.size()) == arch.features,
              "feature normalizations: got " << feature_norms.size() << ", expected " << arch.features);
  METTA_CHECK(actions.num_logits() + 1 <= arch.num_embeddings,
              actions.num_logits() << " actions need more than " << arch.num_embeddings << " action embeddings");
  METTA_CHECK(max_rows >= 1 && max_steps >= 1, "policy sized for " << max_rows << " rows, " << max_steps << " steps");
  // ---- parameter table (torch names and shapes)
  int h = arch.obs_h, w = arch.obs_w, c = arch.features;
  for (std::size_t i = 0; i < arch.convs.size(); ++i) {
    const ConvSpec& s = arch.convs[i];
    const std::string name = "cnn" + std::to_string(i + 1);
    table_.add(name + ".weight", {s.out, c, s.k, s.k});
    table_.add(name + ".bias", {s.out});
    h = (h + 2 * s.pad - s.k) / s.stride + 1;
    w = (w + 2 * s.pad - s.k) / s.stride + 1;
    METTA_CHECK(h >= 1 && w >= 1, "convolution " << name << " leaves no output");
    c = s.out;
  }
  conv_out_h_ = h;
  conv_out_w_ = w;
  flat_size_ = c * h * w;
  std::vector<std::string> fc_names;
  for (std::size_t i = 0; i < arch.fcs.size(); ++i)
    fc_names.push_back(i + 1 == arch.fcs.size() ? "encoded_obs" : "fc" + std::to_string(i + 1));
  int in = flat_size_;
  for (std::size_t i = 0; i < arch.fcs.size(); ++i) {
    table_.add(fc_names[i] + ".weight", {arch.fcs[i], in});
    table_.add(fc_names[i] + ".bias", {arch.fcs[i]});
    in = arch.fcs[i];
  }
  const int H = arch.hidden;
  for (int l = 0; l < arch.lstm_layers; ++l) {
    const std::string s = std::to_string(l);
    table_.add("lstm.weight_ih_l" + s, {4 * H, l == 0 ? in : H});
    table_.add("lstm.weight_hh_l" + s, {4 * H, H});
    table_.add("lstm.bias_ih_l" + s, {4 * H});
    table_.add("lstm.bias_hh_l" + s, {4 * H});
  }
  if (arch.critic_hidden > 0) {
    table_.add("critic_1.weight", {arch.critic_hidden, H});
    table_.add("critic_1.bias", {arch.critic_hidden});
  }
  table_.add("value.weight", {1, arch.critic_hidden > 0 ? arch.critic_hidden : H});
  table_.add("value.bias", {1});
  table_.add("actor_1.weight", {arch.actor_hidden, H});
  table_.add("actor_1.bias", {arch.actor_hidden});
  table_.add("action_embeds.weight", {arch.num_embeddings, arch.embed_dim});
  table_.add("action.W", {1, arch.actor_hidden, arch.embed_dim});
  table_.add("action.bias", {1});

  // ---- initialization (host, double)
  std::vector<double> init(static_cast<std::size_t>(table_.total()), 0.0);
  std::uint32_t stream = 0;
  for (const ParamInfo& p : table_.all()) {
    double* dst = init.data() + p.offset;
    ++stream;
    const bool is_bias = p.shape.size() == 1 || p.name == "action.bias";
    if (p.name.rfind("lstm.bias", 0) == 0) {
      std::fill(dst, dst + p.count, 1.0);
    } else if (p.name == "action.W" || p.name == "action.bias") {
      init_uniform(dst, p.count, 1.0 / std::sqrt(static_cast<double>(arch.actor_hidden)), seed, stream);
    } else if (p.name == "action_embeds.weight") {
      init_orthogonal(dst, p.shape[0], p.shape[1], 1.0, seed, stream);
      double mx = 0;
      for (std::int64_t i = 0; i < p.count; ++i) mx = std::max(mx, std::abs(dst[i]));
      for (std::int64_t i = 0; i < p.count; ++i) dst[i] *= 0.1 / mx;
    } else if (!is_bias) {
      const double gain = p.name == "critic_1.weight" ? std::sqrt(2.0) : 1.0;  // Tanh layers get sqrt(2)
      init_orthogonal(dst, p.shape[0], p.count / p.shape[0], gain, seed, stream);
    }
  }
  params_ = DeviceBuffer<T>(ctx.device, init.size());
  params_.upload(ctx, std::vector<T>(init.begin(), init.end()));
  grads_ = DeviceBuffer<T>(ctx.device, init.size());
  zero_grads();
  std::vector<T> inv(feature_norms.size());
  for (std::size_t f = 0; f < inv.size(); ++f) inv[f] = static_cast<T>(1.0 / feature_norms[f]);
  inv_norm_ = upload(ctx, inv);
  cum_ = upload(ctx, actions.cum);
  flat_type_ = upload(ctx, actions.flat_type);
  flat_arg_ = upload(ctx, actions.flat_arg);
  // CUDA bias gradients sum chunks of rows into a workspace first (bias_activation_backward in ops.h)
  if (ctx.device == kernels::Device::CUDA) bias_partial_ = DeviceBuffer<T>(ctx.device, kBiasGradWorkspace);
  build_views();

  // ---- workspaces for max_rows rows
  const auto R = static_cast<std::size_t>(max_rows);
  const int A = actions.num_logits(), E = arch.embed_dim;
  // The first convolution runs from the tokens: its box and im2col buffers (the largest workspaces) are
  // then allocated only if the dense path is switched on (dense_first_conv_buffers).
  token_conv_ = !convs_.empty();
  std::size_t max_cols = 1;
  for (std::size_t i = 0; i < convs_.size(); ++i) {
    const ConvView<T>& cv = convs_[i];
    const std::size_t pix = R * cv.out_h() * cv.out_w();
    conv_cols_.emplace_back(ctx.device, i == 0 && token_conv_ ? 0 : pix * cv.in * cv.k * cv.k);
    conv_out_.emplace_back(ctx.device, pix * cv.out);
    dconv_.emplace_back(ctx.device, pix * cv.out);
    if (i > 0) max_cols = std::max(max_cols, pix * cv.in * cv.k * cv.k);  // dcols: only for dx, none for conv 0
  }
  if (!token_conv_) dense_first_conv_buffers();
  dcols_ = DeviceBuffer<T>(ctx.device, max_cols);
  if (conv_out_h_ * conv_out_w_ > 1) {  // kAuto's buffers now, so that no later step allocates
    if (fc_nhwc_possible() && max_rows > fcs_[0].out) flatten_buffers(true);
    flatten_buffers(false);
  }
  for (int f : arch.fcs) {
    fc_out_.emplace_back(ctx.device, R * f);
    dfc_.emplace_back(ctx.device, R * f);
  }
  const int fc_last = arch.fcs.empty() ? flat_size_ : arch.fcs.back();
  core_tm_in_ = DeviceBuffer<T>(ctx.device, R * fc_last);
  dlstm_in_tm_ = DeviceBuffer<T>(ctx.device, R * fc_last);
  core_tm_out_ = DeviceBuffer<T>(ctx.device, R * H);
  core_ = DeviceBuffer<T>(ctx.device, R * H);
  lstm_ws_ = LstmWorkspace<T>(ctx.device, arch.lstm_layers, max_rows, max_rows, H, fc_last);
  if (!arch.convs.empty()) {
    token_mask_ = DeviceBuffer<std::uint8_t>(ctx.device, R * arch.tokens);
    const ConvSpec& c0 = arch.convs[0];
    first_wt_ = DeviceBuffer<T>(ctx.device, static_cast<std::size_t>(c0.out) * arch.features * c0.k * c0.k);
    first_dwt_ = DeviceBuffer<T>(ctx.device, first_wt_.size());
  }
  const bool want_cudnn =
      ctx.device == kernels::Device::CUDA && (lstm == LstmBackend::kCudnn || lstm == LstmBackend::kAuto);
  if (want_cudnn) {
    if constexpr (std::is_same_v<T, float> && kCudnnLstmBuilt) {
#ifdef METTA_WITH_CUDNN
      if (lstm == LstmBackend::kCudnn) {
        cudnn_lstm_ = make_cudnn_lstm(ctx, lstm_, H, max_rows, max_rows, max_steps);
      } else {
        // kAuto: cuDNN only when it works here and agrees with our LSTM on a small case; otherwise say
        // why through the log callback and keep the native LSTM (a wrong fast path is worse than a slow
        // right one).
        try {
          cudnn_lstm_ = make_cudnn_lstm(ctx, lstm_, H, max_rows, max_rows, max_steps);
          const std::string why = cudnn_disagreement(ctx, fc_last);
          if (!why.empty()) {
            log_message(LogLevel::kWarning, "policy: not using the cuDNN LSTM: " + why + "; using the native LSTM");
            cudnn_lstm_.reset();
          }
        } catch (const metta::Error& e) {
          log_message(LogLevel::kWarning,
                      std::string("policy: the cuDNN LSTM failed (") + e.what() + "); using the native LSTM");
          cudnn_lstm_.reset();
        }
        zero_grads();
      }
#endif
    } else if (lstm == LstmBackend::kCudnn) {
      METTA_FAIL("the cuDNN LSTM needs float weights and a build with cuDNN (METTA_WITH_CUDNN)");
    }
  }
  if (arch.critic_hidden > 0) {
    critic_h_ = DeviceBuffer<T>(ctx.device, R * arch.critic_hidden);
    dcritic_ = DeviceBuffer<T>(ctx.device, R * arch.critic_hidden);
  }
  value_ = DeviceBuffer<T>(ctx.device, R);
  dvalue_ = DeviceBuffer<T>(ctx.device, R);
  actor_h_ = DeviceBuffer<T>(ctx.device, R * arch.actor_hidden);
  dactor_ = DeviceBuffer<T>(ctx.device, R * arch.actor_hidden);
  q_ = DeviceBuffer<T>(ctx.device, R * E);
  dq_ = DeviceBuffer<T>(ctx.device, R * E);
  logits_ = DeviceBuffer<T>(ctx.device, R * A);
  dlogits_ = DeviceBuffer<T>(ctx.device, R * A);
  logp_ = DeviceBuffer<T>(ctx.device, R);
  entropy_ = DeviceBuffer<T>(ctx.device, R);
  dcore_ = DeviceBuffer<T>(ctx.device, R * H);
  dcore_c_ = DeviceBuffer<T>(ctx.device, R * H);
  dcore_tm_ = DeviceBuffer<T>(ctx.device, R * H);
}

// permute_conv_weights maps [out, C, h, w] <-> [out, h, w, C], for a square h = w
template <class T>
bool Policy<T>::fc_nhwc_possible() const {
  return conv_out_h_ * conv_out_w_ > 1 && !fcs_.empty() && conv_out_h_ == conv_out_w_;
}

// The buffers of one flatten mode, allocated once: kAuto transposes only batches of at most
// fcs_[0].out rows where the permuted path exists.
template <class T>
void Policy<T>::flatten_buffers(bool nhwc) {
  if (nhwc) {
    if (fc0_wperm_.size() > 0) return;
    fc0_wperm_ = DeviceBuffer<T>(ctx_.device, static_cast<std::size_t>(fcs_[0].out) * flat_size_);
    fc0_dwperm_ = DeviceBuffer<T>(ctx_.device, fc0_wperm_.size());
    return;
  }
  std::int64_t rows = max_rows_;
  if (flatten_mode_ == FlattenMode::kAuto && fc_nhwc_possible()) rows = std::min<std::int64_t>(rows, fcs_[0].out);
  const auto need = static_cast<std::size_t>(rows) * flat_size_;
  if (flat_.size() >= need) return;
  flat_ = DeviceBuffer<T>(ctx_.device, need);
  dflat_ = DeviceBuffer<T>(ctx_.device, need);
}

template <class T>
void Policy<T>::dense_first_conv_buffers() {
  if (box_.size() > 0) return;
  const auto R = static_cast<std::size_t>(max_rows_);
  box_ = DeviceBuffer<T>(ctx_.device, R * arch_.obs_h * arch_.obs_w * arch_.features);
  if (!convs_.empty()) {
    const ConvView<T>& cv = convs_[0];
    conv_cols_[0] = DeviceBuffer<T>(ctx_.device, R * cv.out_h() * cv.out_w() * cv.in * cv.k * cv.k);
  }
}

template <class T>
void Policy<T>::token_conv_buffers() {
  if (ctx_.device != kernels::Device::CUDA || first_dwt_partial_.size() > 0) return;
  const ConvSpec& c0 = arch_.convs[0];
  first_dwt_partial_ = DeviceBuffer<T>(
      ctx_.device, static_cast<std::size_t>(token_conv_weight_workspace(max_rows_, c0.k, arch_.features, c0.out)));
}

template <class T>
void Policy<T>::build_views() {
  int h = arch_.obs_h, w = arch_.obs_w, c = arch_.features;
  convs_.clear();
  conv_wperm_.clear();
  conv_dwperm_.clear();
  for (std::size_t i = 0; i < arch_.convs.size(); ++i) {
    const ConvSpec& s = arch_.convs[i];
    const std::string name = "cnn" + std::to_string(i + 1);
    ConvView<T> v;
    v.w = param_of(name + ".weight");
    v.b = param_of(name + ".bias");
    v.dw = grad_of(name + ".weight");
    v.db = grad_of(name + ".bias");
    v.in = c;
    v.out = s.out;
    v.k = s.k;
    v.stride = s.stride;
    v.pad = s.pad;
    v.h = h;
    v.w_in = w;
    v.act = Activation::kRelu;
    v.bias_partial = bias_partial_.data();
    conv_wperm_.emplace_back(ctx_.device, static_cast<std::size_t>(s.out) * c * s.k * s.k);
    conv_dwperm_.emplace_back(ctx_.device, static_cast<std::size_t>(s.out) * c * s.k * s.k);
    v.w_perm = conv_wperm_.back().data();
    v.dw_perm = conv_dwperm_.back().data();
    h = v.out_h();
    w = v.out_w();
    c = s.out;
    convs_.push_back(v);
  }
  auto linear = [&](const std::string& name, Activation act) {
    const ParamInfo& p = table_.at(name + ".weight");
    LinearView<T> v;
    v.w = param_of(name + ".weight");
    v.b = param_of(name + ".bias");
    v.dw = grad_of(name + ".weight");
    v.db = grad_of(name + ".bias");
    v.out = static_cast<int>(p.shape[0]);
    v.in = static_cast<int>(p.shape[1]);
    v.act = act;
    v.bias_partial = bias_partial_.data();
    return v;
  };
  fcs_.clear();
  for (std::size_t i = 0; i < arch_.fcs.size(); ++i)
    fcs_.push_back(linear(i + 1 == arch_.fcs.size() ? "encoded_obs" : "fc" + std::to_string(i + 1), Activation::kRelu));
  lstm_.clear();
  for (int l = 0; l < arch_.lstm_layers; ++l) {
    const std::string s = std::to_string(l);
    LstmLayerView<T> v;
    v.w_ih = param_of("lstm.weight_ih_l" + s);
    v.w_hh = param_of("lstm.weight_hh_l" + s);
    v.b_ih = param_of("lstm.bias_ih_l" + s);
    v.b_hh = param_of("lstm.bias_hh_l" + s);
    v.dw_ih = grad_of("lstm.weight_ih_l" + s);
    v.dw_hh = grad_of("lstm.weight_hh_l" + s);
    v.db_ih = grad_of("lstm.bias_ih_l" + s);
    v.db_hh = grad_of("lstm.bias_hh_l" + s);
    v.in = static_cast<int>(table_.at("lstm.weight_ih_l" + s).shape[1]);
    v.bias_partial = bias_partial_.data();
    lstm_.push_back(v);
  }
  if (arch_.critic_hidden > 0) critic_ = linear("critic_1", Activation::kTanh);
  value_layer_ = linear("value", Activation::kNone);
  actor_ = linear("actor_1", Activation::kRelu);
  // the bilinear head reads the active embeddings 1 .. A (row 0 is the reference's unused padding row)
  const int E = arch_.embed_dim;
  head_.w = param_of("action.W");
  head_.dw = grad_of("action.W");
  head_.emb = param_of("action_embeds.weight") + E;
  head_.demb = grad_of("action_embeds.weight") + E;
  head_.b = param_of("action.bias");
  head_.db = grad_of("action.bias");
  head_.in = arch_.actor_hidden;
  head_.embed = E;
  head_.out = actions_.num_logits();
  head_.bias_partial = bias_partial_.data();
}

template <class T>
void Policy<T>::zero_grads() {
  grads_.fill_bytes_with(ctx_, 0);
}

template <class T>
void Policy<T>::forward(const std::uint8_t* obs, std::int64_t segments, int steps, const std::int32_t* actions,
                        const T* h0, const T* c0, T* h_out, T* c_out, std::uint64_t seed, std::uint32_t counter,
                        std::int32_t* sampled, const std::uint32_t* counter_base) {
  const std::int64_t rows = segments * steps;
  METTA_CHECK(rows >= 1 && rows <= max_rows_ && steps <= max_steps_,
              "policy forward of " << segments << " x " << steps << " rows; sized for " << max_rows_ << " rows, "
                                   << max_steps_ << " steps");
  METTA_CHECK(actions || sampled, "policy forward needs actions to score or a buffer for sampled actions");
  rows_ = rows;
  segments_ = segments;
  steps_ = steps;
  last_actions_ = actions;
  const int H = arch_.hidden, A = actions_.num_logits();
  last_obs_ = obs;
  const T* x = box_.data();
  std::size_t first = 0;
  if (token_conv_) {
    const ConvView<T>& c = convs_[0];
    token_mask<T>(ctx_, obs, rows, arch_.tokens, arch_.obs_h, arch_.obs_w, arch_.features, token_mask_.data());
    conv_weights_to_kkio<T>(ctx_, c.w, c.out, c.in, c.k, first_wt_.data());
    token_conv_forward<T>(ctx_, obs, token_mask_.data(), rows, arch_.tokens, inv_norm_.data(), first_wt_.data(), c.b,
                          c.act, c.in, c.out, c.k, c.stride, c.pad, c.out_h(), c.out_w(), conv_out_[0].data());
    x = conv_out_[0].data();
    first = 1;
  } else {
    dense_first_conv_buffers();
    tokens_to_box<T>(ctx_, obs, rows, arch_.tokens, arch_.obs_h, arch_.obs_w, arch_.features, inv_norm_.data(),
                     box_.data());
    x = box_.data();
  }
  for (std::size_t i = first; i < convs_.size(); ++i) {
    conv_forward<T>(ctx_, convs_[i], x, rows, conv_cols_[i].data(), conv_out_[i].data());
    x = conv_out_[i].data();
  }
  const int spatial = conv_out_h_ * conv_out_w_;
  last_fc_nhwc_ = fc_nhwc_possible() && (flatten_mode_ == FlattenMode::kPermuteWeights ||
                                          (flatten_mode_ == FlattenMode::kAuto && rows > fcs_[0].out));
  if (last_fc_nhwc_) {  // torch flattens NCHW: permute the first layer's weight columns to NHWC instead
    flatten_buffers(true);
    permute_conv_weights<T>(ctx_, fcs_[0].w, fcs_[0].out, flat_size_ / spatial, conv_out_h_, fc0_wperm_.data());
  } else if (spatial > 1) {
    flatten_buffers(false);
    nhwc_to_nchw<T>(ctx_, x, rows, conv_out_h_, conv_out_w_, flat_size_ / spatial, flat_.data());
    x = flat_.data();
  }
  for (std::size_t i = 0; i < fcs_.size(); ++i) {
    LinearView<T> v = fcs_[i];
    if (i == 0 && last_fc_nhwc_) v.w = fc0_wperm_.data();
    linear_forward<T>(ctx_, v, x, rows, fc_out_[i].data());
    x = fc_out_[i].data();
  }
  const int fc_last = fcs_.empty() ? flat_size_ : fcs_.back().out;
  // The rows are segment-major, the LSTM's time-major: one layout when steps or segments is 1 (every
  // rollout step), so the transposes then give way to the buffers themselves.
  const bool one_layout = steps == 1 || segments == 1;
  if (!one_layout) transpose01<T>(ctx_, x, segments, steps, fc_last, core_tm_in_.data());
  lstm_in_ = one_layout ? x : core_tm_in_.data();
  T* lstm_out = one_layout ? core_.data() : core_tm_out_.data();
#ifdef METTA_WITH_CUDNN
  if constexpr (std::is_same_v<T, float>) {
    if (cudnn_lstm_) {
      // training forward (actions given): keep what backward needs
      cudnn_lstm_->forward(ctx_, lstm_in_, steps, segments, h0, c0, lstm_out, h_out, c_out, actions != nullptr);
    }
  }
#endif
  if (!cudnn_lstm_)
    lstm_forward<T>(ctx_, lstm_, H, lstm_in_, steps, segments, h0, c0, lstm_ws_, lstm_out, h_out, c_out);
  if (!one_layout) transpose01<T>(ctx_, core_tm_out_.data(), steps, segments, H, core_.data());
  const T* core = core_.data();
  if (arch_.critic_hidden > 0) {
    linear_forward<T>(ctx_, critic_, core, rows, critic_h_.data());
    linear_forward<T>(ctx_, value_layer_, critic_h_.data(), rows, value_.data());
  } else {
    linear_forward<T>(ctx_, value_layer_, core, rows, value_.data());
  }
  linear_forward<T>(ctx_, actor_, core, rows, actor_h_.data());
  bilinear_forward<T>(ctx_, head_, actor_h_.data(), rows, q_.data(), logits_.data());
  if (actions) {
    action_dist_forward<T>(ctx_, logits_.data(), rows, A, actions, cum_.data(), actions_.num_types(), logp_.data(),
                           entropy_.data());
  } else {
    using clock = std::chrono::steady_clock;
    clock::time_point t0{};
    if (sample_seconds_) {
      kernels::synchronize(ctx_);
      t0 = clock::now();
    }
    action_dist_sample<T>(ctx_, logits_.data(), rows, A, flat_type_.data(), flat_arg_.data(), seed, counter,
                          counter_base, sample_row_base_, sampled,
                          logp_.data());
    if (sample_seconds_) {
      kernels::synchronize(ctx_);
      *sample_seconds_ += std::chrono::duration<double>(clock::now() - t0).count();
    }
  }
}

template <class T>
void Policy<T>::backward(const T* d_logp, const T* d_entropy, const T* d_value, const T* extra_dlogits) {
  METTA_CHECK(last_actions_ != nullptr, "policy backward after a forward that sampled its actions");
  const std::int64_t rows = rows_;
  const int H = arch_.hidden, A = actions_.num_logits();
  action_dist_backward<T>(ctx_, logits_.data(), rows, A, last_actions_, cum_.data(), actions_.num_types(), d_logp,
                          d_entropy, dlogits_.data());
  if (extra_dlogits) add_into<T>(ctx_, extra_dlogits, dlogits_.data(), rows * A);
  bilinear_backward<T>(ctx_, head_, actor_h_.data(), q_.data(), dlogits_.data(), rows, dq_.data(), dactor_.data());
  const T* core = core_.data();
  linear_backward<T>(ctx_, actor_, core, actor_h_.data(), dactor_.data(), rows, dcore_.data());
  kernels::copy_bytes(ctx_, ctx_.device, dvalue_.data(), ctx_.device, d_value, rows * sizeof(T));
  if (arch_.critic_hidden > 0) {
    linear_backward<T>(ctx_, value_layer_, critic_h_.data(), value_.data(), dvalue_.data(), rows, dcritic_.data());
    linear_backward<T>(ctx_, critic_, core, critic_h_.data(), dcritic_.data(), rows, dcore_c_.data());
  } else {
    linear_backward<T>(ctx_, value_layer_, core, value_.data(), dvalue_.data(), rows, dcore_c_.data());
  }
  add_into<T>(ctx_, dcore_c_.data(), dcore_.data(), rows * H);
  const int fc_last = fcs_.empty() ? flat_size_ : fcs_.back().out;
  const int spatial = conv_out_h_ * conv_out_w_;
  // gradient of the flattened conv output: dflat_ (NCHW) when it was transposed, else directly the last
  // conv's (NHWC)
  const bool transposed = spatial > 1 && !last_fc_nhwc_;
  T* dflat = transposed ? dflat_.data() : dconv_.back().data();
  const T* flat_in = transposed ? flat_.data() : conv_out_.back().data();
  T* dlast = fcs_.empty() ? dflat : dfc_.back().data();
  const bool one_layout = steps_ == 1 || segments_ == 1;  // as in forward: no transposes
  if (!one_layout) transpose01<T>(ctx_, dcore_.data(), segments_, steps_, H, dcore_tm_.data());
  const T* dlstm_out = one_layout ? dcore_.data() : dcore_tm_.data();
  T* dlstm_in = one_layout ? dlast : dlstm_in_tm_.data();
#ifdef METTA_WITH_CUDNN
  if constexpr (std::is_same_v<T, float>) {
    if (cudnn_lstm_) cudnn_lstm_->backward(ctx_, dlstm_out, dlstm_in);
  }
#endif
  if (!cudnn_lstm_) lstm_backward<T>(ctx_, lstm_, H, lstm_in_, steps_, segments_, dlstm_out, lstm_ws_, dlstm_in);
  if (!one_layout) transpose01<T>(ctx_, dlstm_in_tm_.data(), steps_, segments_, fc_last, dlast);
  for (int i = static_cast<int>(fcs_.size()) - 1; i >= 0; --i) {
    const T* x = i == 0 ? flat_in : fc_out_[i - 1].data();
    T* dx = i == 0 ? dflat : dfc_[i - 1].data();
    if (i == 0 && last_fc_nhwc_) {  // the permuted weights' gradient, added back in torch's order
      LinearView<T> v = fcs_[0];
      v.w = fc0_wperm_.data();
      v.dw = fc0_dwperm_.data();
      fc0_dwperm_.fill_bytes_with(ctx_, 0);
      linear_backward<T>(ctx_, v, x, fc_out_[0].data(), dfc_[0].data(), rows, dx);
      unpermute_add_conv_grads<T>(ctx_, fc0_dwperm_.data(), v.out, flat_size_ / spatial, conv_out_h_, fcs_[0].dw);
      continue;
    }
    linear_backward<T>(ctx_, fcs_[i], x, fc_out_[i].data(), dfc_[i].data(), rows, dx);
  }
  if (transposed)
    nchw_to_nhwc<T>(ctx_, dflat_.data(), rows, conv_out_h_, conv_out_w_, flat_size_ / spatial, dconv_.back().data());
  for (int i = static_cast<int>(convs_.size()) - 1; i >= 0; --i) {
    if (i == 0 && token_conv_) {
      const ConvView<T>& c = convs_[0];
      const std::int64_t pix = rows * c.out_h() * c.out_w();
      bias_activation_backward<T>(ctx_, conv_out_[0].data(), dconv_[0].data(), pix, c.out, c.act, c.db,
                                  bias_partial_.data());
      token_conv_buffers();  // on the first backward: policies that only act (rollouts, teachers) need none
      token_conv_backward_weights<T>(ctx_, last_obs_, token_mask_.data(), rows, arch_.tokens, inv_norm_.data(),
                                     dconv_[0].data(), c.in, c.out, c.k, c.stride, c.pad, c.out_h(), c.out_w(),
                                     first_dwt_partial_.data(), first_dwt_.data());
      kkio_add_to_conv_grads<T>(ctx_, first_dwt_.data(), c.out, c.in, c.k, c.dw);
      continue;
    }
    T* dx = i == 0 ? nullptr : dconv_[i - 1].data();
    conv_backward<T>(ctx_, convs_[i], conv_cols_[i].data(), conv_out_[i].data(), dconv_[i].data(), rows,
                     dcols_.data(), dx);
  }
}

#ifdef METTA_WITH_CUDNN
// Runs a few rows through both LSTMs (forward from a random state, and backward) and returns "" when
// y, the final state, dx and the weight gradients agree within 1e-3 of their scale, else what differs.
// Leaves the gradients dirty (the caller zeroes them).
template <class T>
std::string Policy<T>::cudnn_disagreement(const kernels::Context& ctx, int in) {
  if constexpr (!std::is_same_v<T, float>) {
    return "";
  } else {
    const int H = arch_.hidden, L = arch_.lstm_layers;
    const int steps = std::min(max_steps_, 2);
    const std::int64_t batch = std::max<std::int64_t>(1, std::min<std::int64_t>(3, max_rows_ / steps));
    std::uint32_t state = 12345;
    auto rnd = [&](std::size_t n) {
      std::vector<float> v(n);
      for (auto& x : v) {
        state = state * 1664525u + 1013904223u;
        x = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
      }
      return v;
    };
    const std::size_t xs = static_cast<std::size_t>(steps * batch * in), ys = static_cast<std::size_t>(steps * batch * H),
                      ss = static_cast<std::size_t>(L * batch * H);
    auto up = [&](const std::vector<float>& v) {
      DeviceBuffer<float> b(ctx.device, v.size());
      b.upload(ctx, v);
      return b;
    };
    DeviceBuffer<float> x = up(rnd(xs)), h0 = up(rnd(ss)), c0 = up(rnd(ss)), dy = up(rnd(ys));
    DeviceBuffer<float> y[2] = {DeviceBuffer<float>(ctx.device, ys), DeviceBuffer<float>(ctx.device, ys)};
    DeviceBuffer<float> h[2] = {DeviceBuffer<float>(ctx.device, ss), DeviceBuffer<float>(ctx.device, ss)};
    DeviceBuffer<float> c[2] = {DeviceBuffer<float>(ctx.device, ss), DeviceBuffer<float>(ctx.device, ss)};
    DeviceBuffer<float> dx[2] = {DeviceBuffer<float>(ctx.device, xs), DeviceBuffer<float>(ctx.device, xs)};
    std::vector<float> grads[2];
    lstm_forward<float>(ctx, lstm_, H, x.data(), steps, batch, h0.data(), c0.data(), lstm_ws_, y[0].data(), h[0].data(),
                        c[0].data());
    cudnn_lstm_->forward(ctx, x.data(), steps, batch, h0.data(), c0.data(), y[1].data(), h[1].data(), c[1].data(), true);
    zero_grads();
    lstm_backward<float>(ctx, lstm_, H, x.data(), steps, batch, dy.data(), lstm_ws_, dx[0].data());
    grads[0] = grads_.to_host(ctx);
    zero_grads();
    cudnn_lstm_->backward(ctx, dy.data(), dx[1].data());
    grads[1] = grads_.to_host(ctx);
    auto differs = [](const std::vector<float>& a, const std::vector<float>& b) {
      float scale = 0, worst = 0;
      for (float v : a) scale = std::max(scale, std::abs(v));
      for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
      return !(worst <= 1e-3f * std::max(scale, 1e-3f));  // NaN counts as a difference
    };
    const char* names[] = {"y", "final h", "final c", "dx", "weight gradients"};
    const std::vector<float> pairs[5][2] = {{y[0].to_host(ctx), y[1].to_host(ctx)},
                                            {h[0].to_host(ctx), h[1].to_host(ctx)},
                                            {c[0].to_host(ctx), c[1].to_host(ctx)},
                                            {dx[0].to_host(ctx), dx[1].to_host(ctx)},
                                            {grads[0], grads[1]}};
    for (int k = 0; k < 5; ++k)
      if (differs(pairs[k][0], pairs[k][1])) return std::string(names[k]) + " differ from our LSTM's";
    return "";
  }
}
#endif

template class Policy<float>;
template class Policy<double>;

}  // namespace metta::nn
