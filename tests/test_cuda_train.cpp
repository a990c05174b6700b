// CUDA vs CPU for the learning side (skips without a GPU): the policy's forward and backward, the RL
// kernels, and a whole training epoch on the device that moves only scalars to the host.
// Tolerance: float32 everywhere; sums run in different orders, so values are compared with
// |a - b| <= 1e-4 + 1e-3 |b| (gradients: relative to the largest gradient of the tensor).
#include <gtest/gtest.h>

#include "gpu_test.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <random>

#include "train/trainer.h"
#include "engine/config_yaml.h"
#include "kernels/gemm.h"
#include "kernels/memory.h"
#include "nn/ops.h"
#include "nn/lstm_cudnn.h"

using namespace metta;


namespace {
const std::vector<int> kMaxArgs = {0, 1, 3, 0, 0, 9, 0, 0, 3};

template <class T>
std::vector<T> to_host(const kernels::Context& ctx, const T* p, std::size_t n) {
  std::vector<T> v(n);
  if (ctx.device == kernels::Device::CPU) std::copy(p, p + n, v.begin());
  else kernels::download_bytes(ctx, v.data(), p, n * sizeof(T));
  return v;
}

void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  float scale = 0;
  for (float v : cpu) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < cpu.size(); ++i)
    ASSERT_NEAR(gpu[i], cpu[i], 1e-4f + 1e-3f * scale) << what << " [" << i << "]";
}
}  // namespace

namespace {
// A fast-agent trainer on hearts_room (64 envs) after `epochs` epochs: its weights, then every epoch's
// losses (the recorded-graph tests compare these bit for bit).
std::vector<float> weights_and_losses(const train::TrainerConfig& s, int epochs) {
  train::Trainer t(s, engine::embedded_env_config("hearts_room"), 64, "fast");
  std::vector<float> losses;
  for (int e = 0; e < epochs; ++e) {
    const train::EpochStats st = t.run_epoch();
    losses.insert(losses.end(), st.losses, st.losses + kernels::kPpoStatCount);
  }
  nn::Policy<float>& p = t.policy();
  std::vector<float> w = to_host(p.context(), p.params(), static_cast<std::size_t>(p.num_params()));
  w.insert(w.end(), losses.begin(), losses.end());
  return w;
}

struct Backend {
  const char* name;
  bool cuda;
  nn::LstmBackend lstm;
  bool token_conv;  // the first convolution from the tokens (CPU default) or dense (CUDA default)
  nn::FlattenMode flatten = nn::FlattenMode::kAuto;  // api_default's first linear layer: both ways on CUDA
  bool fused_epilogues = false;  // bias and ReLU inside the GEMMs (cuBLASLt epilogues)
};
std::vector<Backend> gpu_backends() {
  std::vector<Backend> b = {
      {"cuda native LSTM", true, nn::LstmBackend::kNative, false, nn::FlattenMode::kTransposeRows},
      {"cuda token conv", true, nn::LstmBackend::kNative, true, nn::FlattenMode::kPermuteWeights},
      {"cuda fused epilogues", true, nn::LstmBackend::kNative, false, nn::FlattenMode::kTransposeRows, true}};
  if (nn::kCudnnLstmBuilt)
    b.push_back({"cuda cuDNN LSTM", true, nn::LstmBackend::kCudnn, false, nn::FlattenMode::kPermuteWeights});
  return b;
}
}  // namespace

// The training forward over segments x steps and the whole backward, on each GPU LSTM backend.
TEST(CudaTrain, PolicyForwardAndBackwardMatchCpu) {
  METTA_REQUIRE_GPU();
  for (const char* preset : {"fast", "api_default"}) {
    const int segs = 8, steps = 4, rows = segs * steps;
    std::vector<float> norms(22, 1.0f);
    std::mt19937 rng(1);
    std::vector<std::uint8_t> obs(rows * 600, 0xFF);
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < 30; ++t) {
        obs[(r * 200 + t) * 3] = static_cast<std::uint8_t>(((rng() % 11) << 4) | (rng() % 11));
        obs[(r * 200 + t) * 3 + 1] = static_cast<std::uint8_t>(rng() % 22);
        obs[(r * 200 + t) * 3 + 2] = static_cast<std::uint8_t>(rng() % 8);
      }
    std::vector<std::int32_t> acts;
    for (int r = 0; r < rows; ++r) {
      const int t = static_cast<int>(rng() % 9);
      acts.push_back(t);
      acts.push_back(static_cast<int>(rng() % (kMaxArgs[t] + 1)));
    }
    std::vector<float> g(rows, 0.25f);
    // a nonzero initial state, [layers, segs, H]
    const nn::PolicyArch arch = nn::PolicyArch::by_name(preset, 22);
    std::vector<float> h0(static_cast<std::size_t>(arch.lstm_layers * segs * arch.hidden)), c0(h0.size());
    for (auto& v : h0) v = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
    for (auto& v : c0) v = static_cast<float>(rng() % 1000) / 500.0f - 1.0f;
    std::vector<Backend> backends = {{"cpu", false, nn::LstmBackend::kNative, true}};
    for (const Backend& b : gpu_backends()) backends.push_back(b);
    std::vector<std::vector<std::vector<float>>> out(backends.size());
    for (std::size_t dev = 0; dev < backends.size(); ++dev) {
      kernels::Context ctx = backends[dev].cuda ? kernels::Context::cuda() : kernels::Context::cpu();
      ctx.fused_epilogues = backends[dev].fused_epilogues;
      nn::Policy<float> pol(ctx, arch, nn::ActionSpace(kMaxArgs), norms, 7, rows, steps, backends[dev].lstm);
      EXPECT_EQ(pol.uses_cudnn(), backends[dev].lstm == nn::LstmBackend::kCudnn) << backends[dev].name;
      pol.set_token_conv(backends[dev].token_conv);
      pol.set_flatten_mode(backends[dev].flatten);
      kernels::DeviceBuffer<std::uint8_t> d_obs(ctx.device, obs.size());
      kernels::DeviceBuffer<std::int32_t> d_acts(ctx.device, acts.size());
      kernels::DeviceBuffer<float> d_g(ctx.device, g.size()), d_h(ctx.device, h0.size()), d_c(ctx.device, c0.size());
      d_obs.upload(ctx, obs);
      d_acts.upload(ctx, acts);
      d_g.upload(ctx, g);
      d_h.upload(ctx, h0);
      d_c.upload(ctx, c0);
      for (int start = 0; start < 2; ++start) {  // from zeros, then from the stored state
        pol.forward(d_obs.data(), segs, steps, d_acts.data(), start ? d_h.data() : nullptr,
                    start ? d_c.data() : nullptr, nullptr, nullptr);
        pol.zero_grads();
        pol.backward(d_g.data(), d_g.data(), d_g.data());
        kernels::synchronize(ctx);
        for (auto v : {to_host(ctx, pol.logp(), rows), to_host(ctx, pol.entropy(), rows),
                       to_host(ctx, pol.value(), rows),
                       to_host(ctx, pol.grads(), static_cast<std::size_t>(pol.num_params()))})
          out[dev].push_back(v);
      }
      // the rollout forward: one step, sampled actions, the state updated in place
      kernels::DeviceBuffer<std::int32_t> sampled(ctx.device, static_cast<std::size_t>(2 * segs));
      pol.forward(d_obs.data(), segs, 1, nullptr, d_h.data(), d_c.data(), d_h.data(), d_c.data(), 5, 9, sampled.data());
      kernels::synchronize(ctx);
      out[dev].push_back(to_host(ctx, pol.value(), segs));
      out[dev].push_back(to_host(ctx, d_h.data(), h0.size()));
      out[dev].push_back(to_host(ctx, d_c.data(), c0.size()));
    }
    const char* names[] = {"logp", "entropy", "value", "grads"};
    for (std::size_t dev = 1; dev < backends.size(); ++dev) {
      for (std::size_t k = 0; k < 8; ++k)
        expect_close(out[dev][k], out[0][k],
                     std::string(preset) + " " + backends[dev].name + (k < 4 ? " from zeros " : " from a state ") +
                         names[k % 4]);
      expect_close(out[dev][8], out[0][8], std::string(preset) + " " + backends[dev].name + " rollout value");
      expect_close(out[dev][9], out[0][9], std::string(preset) + " " + backends[dev].name + " rollout h (in place)");
      expect_close(out[dev][10], out[0][10], std::string(preset) + " " + backends[dev].name + " rollout c (in place)");
    }
  }
}

// kernels::gemm_bias_epilogue (cuBLASLt's BIAS and RELU_BIAS epilogues) against the GEMM followed by
// bias_activation, on aligned operands and on views one float off (as the flat parameter buffer gives).
// Another kernel sums in another order: within 1e-4 of the output's scale.
TEST(CudaTrain, GemmBiasEpilogueMatchesTheGemmAndItsPass) {
  METTA_REQUIRE_GPU();
  kernels::Context ctx = kernels::Context::cuda();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  int fused = 0, cases = 0;
  for (auto [m, k, n] : {std::array<int, 3>{1000, 64, 128}, std::array<int, 3>{4096, 300, 64},
                         std::array<int, 3>{7, 33, 5}})
    for (const int offset : {0, 1})
      for (const bool relu : {false, true}) {
        std::vector<float> x(static_cast<std::size_t>(m) * k + 1), w(static_cast<std::size_t>(n) * k + 1), b(n + 1);
        for (auto* v : {&x, &w, &b})
          for (float& e : *v) e = u(rng);
        kernels::DeviceBuffer<float> dx(ctx.device, x.size()), dw(ctx.device, w.size()), db(ctx.device, b.size());
        kernels::DeviceBuffer<float> y_fused(ctx.device, static_cast<std::size_t>(m) * n + 1),
            y_plain(ctx.device, static_cast<std::size_t>(m) * n);
        dx.upload(ctx, x);
        dw.upload(ctx, w);
        db.upload(ctx, b);
        ctx.fused_epilogues = true;
        const bool did = kernels::gemm_bias_epilogue(ctx, m, n, k, dx.data() + offset, dw.data() + offset,
                                                     db.data() + offset, relu, y_fused.data() + offset);
        ctx.fused_epilogues = false;
        EXPECT_FALSE(kernels::gemm_bias_epilogue(ctx, m, n, k, dx.data(), dw.data(), db.data(), relu, y_plain.data()))
            << "the epilogue ran with fused_epilogues off";
        kernels::gemm<float>(ctx, kernels::Trans::kNo, kernels::Trans::kYes, m, n, k, 1.0f, dx.data() + offset,
                             dw.data() + offset, 0.0f, y_plain.data());
        nn::bias_activation<float>(ctx, y_plain.data(), db.data() + offset, m, n,
                                   relu ? nn::Activation::kRelu : nn::Activation::kNone);
        ++cases;
        if (!did) continue;
        ++fused;
        std::vector<float> a = to_host(ctx, y_fused.data() + offset, static_cast<std::size_t>(m) * n),
                           e = to_host(ctx, y_plain.data(), static_cast<std::size_t>(m) * n);
        float scale = 0;
        for (float v : e) scale = std::max(scale, std::abs(v));
        for (std::size_t i = 0; i < e.size(); ++i)
          ASSERT_NEAR(a[i], e[i], 1e-4f * scale) << m << "x" << k << "x" << n << " offset " << offset
                                                  << (relu ? " relu" : "") << " [" << i << "]";
      }
  std::printf("cuBLASLt fused %d of %d cases\n", fused, cases);
  EXPECT_GE(fused, cases / 2) << "cuBLASLt offered no algorithm for most shapes";
}

TEST(CudaTrain, EpochOnTheDeviceMovesOnlyScalarsAndMatchesCpuSizes) {
  METTA_REQUIRE_GPU();
  train::TrainerConfig s;
  s.device = "cuda";
  s.total_timesteps = 1'000'000;
  s.batch_size = 65536;
  s.minibatch_size = 8192;
  s.bptt_horizon = 16;
  train::Trainer t(s, engine::embedded_env_config("hearts_room"), 64, "fast");
  t.run_epoch();
  const auto before = kernels::copy_stats();
  const auto allocs = kernels::alloc_count(kernels::Device::CUDA);
  const train::EpochStats st = t.run_epoch();
  const auto after = kernels::copy_stats();
  EXPECT_EQ(kernels::alloc_count(kernels::Device::CUDA), allocs);
  EXPECT_LE(after.device_to_host_bytes - before.device_to_host_bytes, 16384);  // statistics: sums, stat keys, derived entries
  EXPECT_EQ(after.host_to_device_bytes, before.host_to_device_bytes);
  for (float v : st.losses) EXPECT_TRUE(std::isfinite(v));
  std::printf("cuda epoch: %.0f agent-steps/s (rollout %.0f%%)\n", st.sps, 100.0 * st.rollout_seconds / st.seconds);
}

// trainer.precision: tf32 and bf16 run the GEMMs on tensor cores; one epoch moves the weights as fp32
// does within a stated tolerance: the updates differ by at most 10 % (tf32: 10 mantissa bits per
// operand) or 30 % (bf16: 8 bits) of the fp32 update's norm. The rollout starts from the same weights,
// so its sampled actions differ only where rounding moves a draw across a boundary.
TEST(CudaTrain, TensorCoreEpochsMoveTheWeightsAsFp32Does) {
  METTA_REQUIRE_GPU();
  auto weights_after_epoch = [](const std::string& precision, std::vector<float>* initial) {
    train::TrainerConfig s;
    s.device = "cuda";
    s.precision = precision;
    s.total_timesteps = 1'000'000;
    s.batch_size = 65536;
    s.minibatch_size = 8192;
    s.bptt_horizon = 16;
    train::Trainer t(s, engine::embedded_env_config("hearts_room"), 64, "fast");
    nn::Policy<float>& p = t.policy();
    const auto n = static_cast<std::size_t>(p.num_params());
    if (initial) *initial = to_host(p.context(), p.params(), n);
    t.run_epoch();
    return to_host(p.context(), p.params(), n);
  };
  std::vector<float> w0;
  const std::vector<float> fp32 = weights_after_epoch("fp32", &w0);
  for (const auto& [precision, limit] : {std::pair<const char*, double>{"tf32", 0.1}, {"bf16", 0.3}}) {
    const std::vector<float> other = weights_after_epoch(precision, nullptr);
    double diff = 0, moved = 0;
    for (std::size_t i = 0; i < w0.size(); ++i) {
      diff += (double(other[i]) - fp32[i]) * (double(other[i]) - fp32[i]);
      moved += (double(fp32[i]) - w0[i]) * (double(fp32[i]) - w0[i]);
    }
    ASSERT_GT(moved, 0);
    std::printf("%s vs fp32 after one epoch: ||diff|| / ||update|| = %.3g\n", precision, std::sqrt(diff / moved));
    EXPECT_LE(std::sqrt(diff / moved), limit) << precision;
    EXPECT_GT(diff, 0) << precision << ": the same bits as fp32, so the setting did not reach the GEMMs";
  }
}

// trainer.rollout_graph on CUDA: the rollout recorded as one CUDA graph on the trainer's own stream and
// replayed each epoch gives the plain rollout's bits (fast agent, cuDNN LSTM when built; an even and an
// odd number of steps per rollout).
TEST(CudaTrain, RecordedRolloutGraphGivesThePlainRolloutsBits) {
  METTA_REQUIRE_GPU();
  for (const int horizon : {16, 5}) {
    auto run = [horizon](bool graph) {
      train::TrainerConfig s;
      s.device = "cuda";
      s.rollout_graph = graph;
      s.total_timesteps = 1'000'000;
      s.bptt_horizon = horizon;
      s.batch_size = horizon == 16 ? 65536 : 64 * 4 * 5 * 3;  // 64 envs x 4 agents: 3 segments of 5 (odd steps)
      s.minibatch_size = horizon == 16 ? 8192 : 64 * 4 * 5;
      return weights_and_losses(s, 3);
    };
    const std::vector<float> plain = run(false), recorded = run(true);
    EXPECT_TRUE(plain == recorded) << "horizon " << horizon;
  }
}

// trainer.update_graph on CUDA: one minibatch update recorded as a graph and replayed for every
// minibatch, its per-update scalars read from the epoch's table; 4 epochs give the plain updates' bits.
// Only the GPU can show a host-side value frozen at capture (the CPU re-runs its recorded closure with
// the trainer's current members): Adam with prioritized replay over 2 passes, and Muon under a cosine
// learning rate (a new rate per epoch must mean a new recording) with the rollout recorded as well.
TEST(CudaTrain, RecordedUpdateGraphGivesThePlainUpdatesBits) {
  METTA_REQUIRE_GPU();
  for (const bool muon : {false, true}) {
    auto run = [muon](bool graph) {
      train::TrainerConfig s;
      s.device = "cuda";
      s.update_graph = graph;
      s.total_timesteps = 4 * 65536;
      s.batch_size = 65536;
      s.minibatch_size = 8192;
      s.bptt_horizon = 16;
      s.update_epochs = 2;
      s.prioritized_experience_replay.prio_alpha = 0.6;
      if (muon) {  // with the rollout recorded too: both graphs, one cuDNN LSTM, shapes alternating
        s.optimizer.type = "muon";
        s.lr_scheduler.enabled = true;
        s.rollout_graph = graph;
      }
      return weights_and_losses(s, 4);
    };
    const std::vector<float> plain = run(false), recorded = run(true);
    EXPECT_TRUE(plain == recorded) << (muon ? "muon, cosine lr" : "adam");
  }
}
