// Backend layer: RNG known answers and independence, buffers and their counters, parallel_for, the
// segmented sum against its reference, device selection errors.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <random>
#include <array>
#include <numeric>
#include <set>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/memory.h"
#include "kernels/parallel.h"
#include "kernels/reduce.h"
#include "kernels/rng.h"
#include "tests/blas_core.h"

using namespace metta::kernels;

TEST(Philox, KnownAnswerVectors) {
  // Random123 known-answer tests for philox4x32-10.
  U32x4 z = philox4x32_10(U32x4{{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(z.v[0], 0x6627e8d5u);
  EXPECT_EQ(z.v[1], 0xe169c58du);
  EXPECT_EQ(z.v[2], 0xbc57ac4cu);
  EXPECT_EQ(z.v[3], 0x9b00dbd8u);
  U32x4 f = philox4x32_10(U32x4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(f.v[0], 0x408f276du);
  EXPECT_EQ(f.v[1], 0x41c83b0eu);
  EXPECT_EQ(f.v[2], 0xa20bc7c6u);
  EXPECT_EQ(f.v[3], 0x6d5451fdu);
  U32x4 pi = philox4x32_10(U32x4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, PurposesAndCountersGiveDistinctStreams) {
  std::set<std::uint32_t> seen;
  for (std::uint32_t p : {1u, 2u, 3u, 4u})
    for (std::uint32_t i = 0; i < 64; ++i) seen.insert(rng_draw(7, 1, 2, 3, static_cast<RngPurpose>(p), i).v[0]);
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_NE(rng_draw(7, 0, 0, 0, RngPurpose::kAgentOrder, 0).v[0], rng_draw(8, 0, 0, 0, RngPurpose::kAgentOrder, 0).v[0]);
}

TEST(Philox, UniformBelowIsInRangeAndRoughlyUniform) {
  std::vector<int> counts(6, 0);
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    const std::uint32_t v = uniform_below(rng_draw(1, 0, 0, 0, RngPurpose::kUser, static_cast<std::uint32_t>(i)).v[1], 6);
    ASSERT_LT(v, 6u);
    counts[v]++;
  }
  for (int c : counts) EXPECT_NEAR(c, n / 6, n / 6 * 0.05);  // 5 % band; expected deviation ~1 %
  for (int i = 0; i < 1000; ++i) {
    const float u = uniform_unit(rng_draw(2, 0, 0, 0, RngPurpose::kUser, static_cast<std::uint32_t>(i)).v[0]);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
  }
}

TEST(DeviceBuffer, CountsLiveBytesAndMoves) {
  const auto before = live_bytes(Device::CPU);
  {
    DeviceBuffer<float> a(Device::CPU, 1000);
    EXPECT_EQ(live_bytes(Device::CPU), before + 4000);
    DeviceBuffer<float> b = std::move(a);
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(b.size(), 1000u);
    EXPECT_EQ(live_bytes(Device::CPU), before + 4000);
    b.reset();
    EXPECT_EQ(live_bytes(Device::CPU), before);
    DeviceBuffer<int> c(Device::CPU, 10);
  }
  EXPECT_EQ(live_bytes(Device::CPU), before);
}

TEST(DeviceBuffer, UploadDownloadRoundTripIsCounted) {
  const Context ctx = Context::cpu(1);
  DeviceBuffer<int> buf(Device::CPU, 5);
  const auto s0 = copy_stats();
  buf.upload(ctx, std::vector<int>{1, 2, 3, 4, 5});
  const auto v = buf.to_host(ctx);
  EXPECT_EQ(v, (std::vector<int>{1, 2, 3, 4, 5}));
  const auto s1 = copy_stats();
  EXPECT_EQ(s1.calls - s0.calls, 2);
  EXPECT_EQ(s1.host_to_device_bytes - s0.host_to_device_bytes, 20);
  EXPECT_EQ(s1.device_to_host_bytes - s0.device_to_host_bytes, 20);
  EXPECT_THROW(buf.upload(ctx, std::vector<int>(6, 0)), metta::Error);
}

TEST(ParallelFor, CoversEveryIndexOnceWithAnyThreadCount) {
  for (int threads : {1, 2, 3}) {
    std::vector<std::atomic<int>> hits(1001);
    for (auto& h : hits) h = 0;
    parallel_for(Context::cpu(threads), 1001, [&](std::int64_t i) { hits[static_cast<std::size_t>(i)]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
  parallel_for(Context::cpu(2), 0, [&](std::int64_t) { FAIL() << "body ran for n = 0"; });
}

// Subnormal floats cost a microcode assist per operation on x86; the CPU backend flushes them to zero
// inside its kernels (kernels/denormals.h) and leaves the caller's floating-point mode as it was.
TEST(ParallelFor, FlushesSubnormalsInsideAndRestoresTheCallersMode) {
#if !(defined(__SSE__) || defined(__x86_64__))
  GTEST_SKIP() << "subnormals are flushed on x86 only";
#endif
  volatile float a = 1e-30f, b = 1e-10f;  // volatile: computed at run time, not folded
  const float outside_before = a * b;     // 1e-40, subnormal
  ASSERT_GT(outside_before, 0.0f);
  for (int threads : {1, 2}) {
    std::vector<float> inside(64, -1.0f);
    parallel_for(Context::cpu(threads), 64, [&](std::int64_t i) { inside[static_cast<std::size_t>(i)] = a * b; });
    for (float v : inside) EXPECT_EQ(v, 0.0f) << threads << " threads";
    EXPECT_EQ(a * b, outside_before) << "the caller's mode after " << threads << " threads";
  }
}

// A CPU product splits its rows or columns into blocks that depend on the shape only (kernels/gemm_cpu.cpp),
// each element still one full-K dot product: the results must be right and the same bits for any thread
// count. OpenBLAS picks its kernels per CPU (24-row tiles on Haswell/Zen, 16 on SkylakeX, a small-matrix
// path on some), so tests/CMakeLists.txt also runs this test under every OPENBLAS_CORETYPE; a core this CPU
// cannot run is skipped.
TEST(Gemm, CpuResultsDoNotDependOnTheThreadCount) {
  if (const std::string why = metta::testing::requested_blas_core_skip_reason(); !why.empty()) GTEST_SKIP() << why;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  // (m, n, k): row splits, column splits (few rows, wide), odd sizes, and products too small to split
  // whose sides are still longer than a block
  for (auto [m, n, k] : {std::array<int, 3>{300, 70, 130}, std::array<int, 3>{64, 1024, 128},
                         std::array<int, 3>{33, 517, 251}, std::array<int, 3>{1, 4096, 200},
                         std::array<int, 3>{130, 20, 10}, std::array<int, 3>{20, 300, 16},
                         std::array<int, 3>{1100, 97, 64}, std::array<int, 3>{200, 200, 200},
                         std::array<int, 3>{2500, 24, 40}})
    for (Trans ta : {Trans::kNo, Trans::kYes})
      for (Trans tb : {Trans::kNo, Trans::kYes}) {
        std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * n);
        for (auto& x : a) x = u(rng);
        for (auto& x : b) x = u(rng);
        std::vector<float> c0(static_cast<std::size_t>(m) * n, 0.25f);
        for (auto& x : c0) x = u(rng);
        std::vector<std::vector<float>> out;
        for (int threads : {1, 2, 3, 4}) {
          std::vector<float> c = c0;
          gemm<float>(Context::cpu(threads), ta, tb, m, n, k, 0.7f, a.data(), b.data(), 0.5f, c.data());
          out.push_back(c);
        }
        std::vector<float> ref = c0;  // every element computed, and right
        gemm_reference<float>(ta, tb, m, n, k, 0.7f, a.data(), ta == Trans::kNo ? k : m, b.data(),
                              tb == Trans::kNo ? n : k, 0.5f, ref.data(), n);
        for (std::size_t i = 0; i < ref.size(); ++i)
          ASSERT_NEAR(out[0][i], ref[i], 1e-4f * (1.0f + std::abs(ref[i]))) << m << "x" << n << "x" << k << " [" << i << "]";
        for (std::size_t t = 1; t < out.size(); ++t)
          ASSERT_EQ(out[t], out[0]) << m << "x" << n << "x" << k << " ta " << int(ta) << " tb " << int(tb)
                                    << ": " << t + 1 << " threads differ from 1";
      }
}

TEST(SegmentedSum, MatchesReference) {
  const Context ctx = Context::cpu(2);
  const std::int64_t segs = 37, len = 129;
  std::vector<float> in(static_cast<std::size_t>(segs * len));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 7919) % 1000) / 100.0f - 5.0f;
  DeviceBuffer<float> din(Device::CPU, in.size()), dout(Device::CPU, static_cast<std::size_t>(segs));
  din.upload(ctx, in);
  SegmentedSum sum(ctx, segs, len);
  sum.run(ctx, din.data(), dout.data());
  std::vector<float> ref(static_cast<std::size_t>(segs));
  segmented_sum_reference(in.data(), ref.data(), segs, len);
  const auto out = dout.to_host(ctx);
  for (std::int64_t s = 0; s < segs; ++s) EXPECT_NEAR(out[s], ref[s], 1e-3f + 1e-5f * std::abs(ref[s])) << s;
}

TEST(Device, ParsingAndCudaAvailability) {
  EXPECT_EQ(parse_device("cpu"), Device::CPU);
  EXPECT_EQ(parse_device("cuda"), Device::CUDA);
  try {
    parse_device("gpu");
    FAIL() << "no error";
  } catch (const metta::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'gpu'"), std::string::npos);
  }
  if (cuda_device_count() == 0) {
    try {
      Context::cuda();
      FAIL() << "no error without a GPU";
    } catch (const metta::Error& e) {
      EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
    }
  }
}

// The message is for the user; the condition and its source location are kept apart (where()), for bug
// reports, so they never leak into what a user reads.
TEST(Errors, CheckMacroKeepsTheMessageAndTheLocationApart) {
  try {
    METTA_CHECK(1 + 1 == 3, "arithmetic is " << "broken");
    FAIL();
  } catch (const metta::Error& e) {
    EXPECT_EQ(std::string(e.what()), "arithmetic is broken");
    EXPECT_NE(e.where().find("1 + 1 == 3"), std::string::npos);
    EXPECT_NE(e.where().find("test_kernels.cpp"), std::string::npos);
  }
}
