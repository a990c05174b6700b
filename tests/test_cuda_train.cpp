// CUDA vs CPU for the learning side (skips without a GPU): the policy's forward and backward, the RL
// kernels, and a whole training epoch on the device that moves only scalars to the host.
// Tolerance: float32 everywhere; sums run in different orders, so values are compared with
// |a - b| <= 1e-4 + 1e-3 |b| (gradients: relative to the largest gradient of the tensor).
#include <gtest/gtest.h>

#include "gpu_test.h"

#include <cmath>
#include <random>

#include "api/train/trainer.h"
#include "engine/config_yaml.h"
#include "kernels/memory.h"

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
    std::vector<std::vector<float>> out[2];
    for (int dev = 0; dev < 2; ++dev) {
      const kernels::Context ctx = dev == 0 ? kernels::Context::cpu() : kernels::Context::cuda();
      nn::Policy<float> pol(ctx, nn::PolicyArch::by_name(preset, 22), nn::ActionSpace(kMaxArgs), norms, 7, rows, steps);
      kernels::DeviceBuffer<std::uint8_t> d_obs(ctx.device, obs.size());
      kernels::DeviceBuffer<std::int32_t> d_acts(ctx.device, acts.size());
      kernels::DeviceBuffer<float> d_g(ctx.device, g.size());
      d_obs.upload(ctx, obs);
      d_acts.upload(ctx, acts);
      d_g.upload(ctx, g);
      pol.forward(d_obs.data(), segs, steps, d_acts.data(), nullptr, nullptr, nullptr, nullptr);
      pol.zero_grads();
      pol.backward(d_g.data(), d_g.data(), d_g.data());
      kernels::synchronize(ctx);
      out[dev] = {to_host(ctx, pol.logp(), rows), to_host(ctx, pol.entropy(), rows), to_host(ctx, pol.value(), rows),
                  to_host(ctx, pol.grads(), static_cast<std::size_t>(pol.num_params()))};
    }
    const char* names[] = {"logp", "entropy", "value", "grads"};
    for (int k = 0; k < 4; ++k) expect_close(out[1][k], out[0][k], std::string(preset) + " " + names[k]);
  }
}

TEST(CudaTrain, EpochOnTheDeviceMovesOnlyScalarsAndMatchesCpuSizes) {
  METTA_REQUIRE_GPU();
  train::TrainSettings s;
  s.device = "cuda";
  s.agent = "fast";
  s.num_envs = 64;
  s.batch_size = 65536;
  s.minibatch_size = 8192;
  s.bptt_horizon = 16;
  train::Trainer t(s, engine::embedded_env_config("hearts_room"));
  t.run_epoch();
  const auto before = kernels::copy_stats();
  const auto allocs = kernels::alloc_count(kernels::Device::CUDA);
  const train::EpochStats st = t.run_epoch();
  const auto after = kernels::copy_stats();
  EXPECT_EQ(kernels::alloc_count(kernels::Device::CUDA), allocs);
  EXPECT_LE(after.device_to_host_bytes - before.device_to_host_bytes, 4096);
  EXPECT_EQ(after.host_to_device_bytes, before.host_to_device_bytes);
  for (float v : st.losses) EXPECT_TRUE(std::isfinite(v));
  std::printf("cuda epoch: %.0f agent-steps/s (rollout %.0f%%)\n", st.sps, 100.0 * st.rollout_seconds / st.seconds);
}
