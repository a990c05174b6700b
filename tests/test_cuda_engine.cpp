// CUDA backend of the engine against the CPU backend: bit-exact world state, observations, rewards and
// statistics over 1,000 steps of 64 envs with random actions (auto-resets included). Skips without a GPU.
#include <gtest/gtest.h>

#include "gpu_test.h"

#include "engine/batched_env.h"
#include "engine/config_yaml.h"
#include "kernels/captured_work.h"
#include "kernels/memory.h"
#include "kernels/reduce.h"

using namespace metta;


TEST(CudaEngine, BitExactWithCpuOver1000StepsOf64Envs) {
  METTA_REQUIRE_GPU();
  for (int envs : {64, 1, 63, 333}) {  // and counts that are not multiples of a block
  SCOPED_TRACE(std::to_string(envs) + " envs");
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 300;  // several episodes, so device-side resets are compared too
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv cpu(cfg, envs, 5, kernels::Context::cpu(), opt);
  engine::BatchedEnv gpu(cfg, envs, 5, kernels::Context::cuda(), opt);
  ASSERT_EQ(cpu.state_hash(), gpu.state_hash()) << "after reset";
  for (int t = 0; t < 1000; ++t) {
    cpu.random_actions(77, static_cast<std::uint32_t>(t));
    gpu.random_actions(77, static_cast<std::uint32_t>(t));
    cpu.step();
    gpu.step();
    if (t % 100 == 99 || t == 0) {
      ASSERT_EQ(cpu.state_hash(), gpu.state_hash()) << "step " << t;
      ASSERT_EQ(cpu.observations_host(), gpu.observations_host()) << "step " << t;
    }
  }
  auto a = cpu.completed_episodes(), b = gpu.completed_episodes();
  EXPECT_EQ(a.episodes, b.episodes);
  EXPECT_NEAR(a.mean_reward, b.mean_reward, 1e-6 + 1e-5 * std::abs(a.mean_reward));
  for (auto& [k, v] : a.agent) EXPECT_NEAR(v, b.agent[k], 1e-4 + 1e-5 * std::abs(v)) << k;
  }
}

// --graph-steps of metta sim: steps of random actions recorded once as a CUDA graph (on a stream of its
// own) and replayed give the plain loop's world bit for bit, replay after replay.
TEST(CudaEngine, CapturedStepsReplayAsThePlainLoop) {
  METTA_REQUIRE_GPU();
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 50;
  const kernels::OwnedStream stream(kernels::Context::cuda());
  engine::BatchedEnv plain(cfg, 37, 2, kernels::Context::cuda()), graphed(cfg, 37, 2, stream.context());
  graphed.set_action_counter(0);
  kernels::CapturedWork graph(stream.context(), [&] {
    for (int i = 0; i < 8; ++i) {
      graphed.random_actions_counted(9);
      graphed.step();
    }
  });
  for (int r = 0; r < 20; ++r) {
    graph.replay();
    for (int i = 0; i < 8; ++i) {
      plain.random_actions(9, static_cast<std::uint32_t>(r * 8 + i));
      plain.step();
    }
    kernels::synchronize(stream.context());
    ASSERT_EQ(plain.state_hash(), graphed.state_hash()) << "replay " << r;
    ASSERT_EQ(plain.observations_host(), graphed.observations_host()) << "replay " << r;
  }
  EXPECT_GT(plain.completed_episodes().episodes, 0);
}

TEST(CudaEngine, StepAllocatesNothingOnTheDevice) {
  METTA_REQUIRE_GPU();
  engine::BatchedEnv env(engine::default_env_config(), 256, 1, kernels::Context::cuda());
  env.random_actions(1, 0);
  env.step();
  const auto live = kernels::live_bytes(kernels::Device::CUDA);
  const auto allocs = kernels::alloc_count(kernels::Device::CUDA);
  const auto d2h = kernels::copy_stats().device_to_host_bytes;
  for (int t = 1; t < 200; ++t) {
    env.random_actions(1, static_cast<std::uint32_t>(t));
    env.step();
  }
  kernels::synchronize(env.context());
  EXPECT_EQ(kernels::live_bytes(kernels::Device::CUDA), live);
  EXPECT_EQ(kernels::alloc_count(kernels::Device::CUDA), allocs);
  EXPECT_EQ(kernels::copy_stats().device_to_host_bytes, d2h);
}

TEST(CudaEngine, SegmentedSumMatchesReference) {
  METTA_REQUIRE_GPU();
  const kernels::Context ctx = kernels::Context::cuda();
  const std::int64_t segs = 50, len = 1000;
  std::vector<float> in(static_cast<std::size_t>(segs * len));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 97) * 0.25f - 3.0f;
  kernels::DeviceBuffer<float> din(kernels::Device::CUDA, in.size()), dout(kernels::Device::CUDA, segs);
  din.upload(ctx, in);
  kernels::SegmentedSum sum(ctx, segs, len);
  sum.run(ctx, din.data(), dout.data());
  std::vector<float> ref(static_cast<std::size_t>(segs));
  kernels::segmented_sum_reference(in.data(), ref.data(), segs, len);
  const auto out = dout.to_host(ctx);
  for (std::int64_t s = 0; s < segs; ++s) EXPECT_NEAR(out[s], ref[s], 1e-3f + 1e-5f * std::abs(ref[s]));
}

// Tasks of two map sizes and object counts in one batch (issue 14): CUDA and CPU bit for bit.
TEST(CudaEngine, MixedMapSizesBitExactWithCpu) {
  METTA_REQUIRE_GPU();
  engine::EnvConfig small = engine::default_env_config(), large = engine::default_env_config();
  small.max_steps = 40;
  large.max_steps = 70;
  large.map_builder.room.at(0).width += 6;
  large.map_builder.room.at(0).height += 4;
  for (auto& [name, count] : small.map_builder.room.at(0).objects) count = count > 1 ? count / 2 : count;
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv cpu({small, large}, 77, 5, kernels::Context::cpu(), opt);
  engine::BatchedEnv gpu({small, large}, 77, 5, kernels::Context::cuda(), opt);
  for (int t = 0; t < 500; ++t) {
    cpu.random_actions(3, static_cast<std::uint32_t>(t));
    gpu.random_actions(3, static_cast<std::uint32_t>(t));
    cpu.step();
    gpu.step();
    if (t % 50 == 49) {
      ASSERT_EQ(cpu.state_hash(), gpu.state_hash()) << "step " << t;
      ASSERT_EQ(cpu.observations_host(), gpu.observations_host()) << "step " << t;
    }
  }
  EXPECT_EQ(cpu.completed_episodes().episodes, gpu.completed_episodes().episodes);
}
