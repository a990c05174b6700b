// Every RL kernel on CUDA against the CPU backend on the same inputs (skips without a GPU): advantage
// (full buffer and gathered rows with ratios), the fused PPO loss, Adam, Muon, prioritized sampling,
// the kickstarter terms, the vector moments and the experience/ metrics' terms. Tolerance: float32
// with sums in different orders, |cuda - cpu| <= 1e-5 + 1e-4 |cpu| elementwise (1e-3 for Muon's Newton-Schulz iterations); sampling
// draws the same rows (the keys come from the same counter RNG and the sort is stable).
#include <gtest/gtest.h>

#include "gpu_test.h"

#include <cmath>
#include <random>

#include "kernels/advantage.h"
#include "kernels/experience.h"
#include "kernels/kickstarter.h"
#include "kernels/memory.h"
#include "kernels/optimizer.h"
#include "kernels/ppo_loss.h"
#include "kernels/sampling.h"
#include "train/trainer_config.h"

using namespace metta::kernels;
namespace train = metta::train;

namespace {
const Context kCpu = Context::cpu(2);

template <class T>
std::vector<T> random_vec(std::size_t n, std::mt19937& rng, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

// A host vector's twin on a context (plain host memory on the CPU backend).
template <class T>
struct Twin {
  DeviceBuffer<T> buf;
  Twin(const Context& ctx, const std::vector<T>& host) : buf(ctx.device, std::max<std::size_t>(host.size(), 1)) {
    if (!host.empty()) buf.upload(ctx, host);
  }
  T* data() { return buf.data(); }
};

template <class T>
std::vector<T> host(const Context& ctx, const T* p, std::size_t n) {
  std::vector<T> v(n);
  download_bytes(ctx, v.data(), p, n * sizeof(T));
  return v;
}

void expect_close(const std::vector<float>& cuda, const std::vector<float>& cpu, const std::string& what,
                  double rel = 1e-4) {
  ASSERT_EQ(cuda.size(), cpu.size()) << what;
  for (std::size_t i = 0; i < cpu.size(); ++i)
    ASSERT_NEAR(cuda[i], cpu[i], 1e-5 + rel * std::abs(cpu[i])) << what << " [" << i << "]";
}
}  // namespace

TEST(CudaRl, AdvantageMatchesCpu) {
  METTA_REQUIRE_GPU();
  const Context gpu = Context::cuda();
  std::mt19937 rng(1);
  const std::int64_t S = 300;
  const int H = 16;
  const auto cells = static_cast<std::size_t>(S * H);
  auto values = random_vec<float>(cells, rng, -1, 1), rewards = random_vec<float>(cells, rng, 0, 1);
  auto ratio = random_vec<float>(64 * H, rng, 0.5, 1.5);
  std::vector<std::uint8_t> term(cells), trunc(cells);
  for (std::size_t i = 0; i < cells; ++i) {
    term[i] = rng() % 17 == 0;
    trunc[i] = rng() % 23 == 0;
  }
  std::vector<std::int32_t> rows(64);
  for (auto& r : rows) r = static_cast<std::int32_t>(rng() % S);
  std::vector<float> out[2][2];
  for (int dev = 0; dev < 2; ++dev) {
    const Context& ctx = dev ? gpu : kCpu;
    Twin<float> v(ctx, values), r(ctx, rewards), q(ctx, ratio), adv(ctx, std::vector<float>(cells));
    Twin<std::uint8_t> te(ctx, term), tr(ctx, trunc);
    Twin<std::int32_t> ro(ctx, rows);
    const AdvantageParams p{0.977f, 0.916f, 1.0f, 1.0f};
    compute_advantage(ctx, {v.data(), r.data(), te.data(), tr.data(), nullptr, nullptr, S, H, adv.data()}, p);
    out[dev][0] = host(ctx, adv.data(), cells);
    compute_advantage(ctx, {v.data(), r.data(), te.data(), tr.data(), q.data(), ro.data(), 64, H, adv.data()}, p);
    out[dev][1] = host(ctx, adv.data(), 64 * H);
  }
  expect_close(out[1][0], out[0][0], "full-buffer advantage");
  expect_close(out[1][1], out[0][1], "minibatch advantage with ratios");
}

TEST(CudaRl, PpoLossMatchesCpu) {
  METTA_REQUIRE_GPU();
  const Context gpu = Context::cuda();
  std::mt19937 rng(2);
  const std::int64_t n = 4096;
  const int H = 16;
  auto nl = random_vec<float>(n, rng, -3, -0.1), ent = random_vec<float>(n, rng, 0, 3),
       nv = random_vec<float>(n, rng, -1, 1), ol = random_vec<float>(n, rng, -3, -0.1),
       ov = random_vec<float>(n, rng, -1, 1), ret = random_vec<float>(n, rng, -1, 2),
       adv = random_vec<float>(n, rng, -2, 2), w = random_vec<float>(n / H, rng, 0.5, 1.5);
  std::vector<float> out[2][4];
  for (int dev = 0; dev < 2; ++dev) {
    const Context& ctx = dev ? gpu : kCpu;
    Twin<float> a(ctx, nl), b(ctx, ent), c(ctx, nv), d(ctx, ol), e(ctx, ov), f(ctx, ret), g(ctx, adv), h(ctx, w);
    Twin<float> g1(ctx, std::vector<float>(n)), g2(ctx, std::vector<float>(n)), g3(ctx, std::vector<float>(n));
    PpoLoss loss(ctx, n);
    loss.run(ctx, {a.data(), b.data(), c.data(), d.data(), e.data(), f.data(), g.data(), h.data(), n, H}, train::ppo_loss_params(train::PPOConfig{}),
             {g1.data(), g2.data(), g3.data()});
    out[dev][0] = host(ctx, g1.data(), n);
    out[dev][1] = host(ctx, g2.data(), n);
    out[dev][2] = host(ctx, g3.data(), n);
    out[dev][3] = host(ctx, loss.stats(), kPpoStatCount);
  }
  const char* names[] = {"d_new_logp", "d_entropy", "d_new_value", "stats"};
  for (int k = 0; k < 4; ++k) expect_close(out[1][k], out[0][k], names[k], 1e-3);
}

TEST(CudaRl, AdamMuonAndMomentsMatchCpu) {
  METTA_REQUIRE_GPU();
  const Context gpu = Context::cuda();
  std::mt19937 rng(3);
  // a 64x48 matrix, a 32x32 square one (QR) and a bias, in one flat buffer
  const std::vector<MuonTensor> tensors = {{0, 64, 48, true}, {3072, 32, 32, true}, {4096, 100, 1, false}};
  const std::int64_t n = 4196;
  auto params = random_vec<float>(n, rng, -0.5, 0.5), grads = random_vec<float>(n, rng, -0.1, 0.1);
  auto ref = random_vec<float>(n, rng, -0.5, 0.5);
  std::vector<float> out[2][5];
  for (int dev = 0; dev < 2; ++dev) {
    const Context& ctx = dev ? gpu : kCpu;
    Twin<float> p(ctx, params), g(ctx, grads), m(ctx, std::vector<float>(n)), v(ctx, std::vector<float>(n));
    Twin<float> pm(ctx, params), r(ctx, ref);
    GradNorm norm(ctx, n);
    norm.run(ctx, g.data());
    AdamParams ap = train::adam_params(train::OptimizerConfig{});
    ap.lr = 1e-3f;
    for (int step = 1; step <= 3; ++step) adam_step(ctx, p.data(), g.data(), m.data(), v.data(), n, ap, step, norm.norm(), 0.5f);
    Muon muon(ctx, tensors, n);
    for (int step = 0; step < 2; ++step) muon.step(ctx, pm.data(), g.data(), ap, norm.norm(), 0.5f);
    VectorMoments moments(ctx, n);
    moments.run(ctx, p.data(), r.data());
    out[dev][0] = host(ctx, p.data(), n);
    out[dev][1] = host(ctx, m.data(), n);
    out[dev][2] = host(ctx, pm.data(), n);
    out[dev][3] = host(ctx, moments.out(), 3);
    out[dev][4] = host(ctx, norm.norm(), 1);
  }
  expect_close(out[1][4], out[0][4], "grad norm");
  expect_close(out[1][0], out[0][0], "adam params");
  expect_close(out[1][1], out[0][1], "adam m");
  expect_close(out[1][2], out[0][2], "muon params", 1e-3);
  expect_close(out[1][3], out[0][3], "vector moments");
}

TEST(CudaRl, PrioritizedSamplingDrawsTheSameRows) {
  METTA_REQUIRE_GPU();
  const Context gpu = Context::cuda();
  std::mt19937 rng(4);
  const std::int64_t S = 512, k = 64;
  const int H = 8;
  auto adv = random_vec<float>(S * H, rng, -1, 1);
  std::vector<std::int32_t> rows[2];
  std::vector<float> weights[2], prob[2];
  for (int dev = 0; dev < 2; ++dev) {
    const Context& ctx = dev ? gpu : kCpu;
    Twin<float> a(ctx, adv);
    PrioritizedSampler s(ctx, S, H, k);
    s.set_priorities(ctx, a.data(), 0.6f);
    s.sample(ctx, 7, 2, 5, 0.8f);
    rows[dev] = host(ctx, s.rows(), k);
    weights[dev] = host(ctx, s.weights(), k);
    prob[dev] = host(ctx, s.probabilities(), S);
  }
  expect_close(prob[1], prob[0], "probabilities");
  EXPECT_EQ(rows[1], rows[0]);
  expect_close(weights[1], weights[0], "importance weights");
}

TEST(CudaRl, KickstarterMatchesCpu) {
  METTA_REQUIRE_GPU();
  const Context gpu = Context::cuda();
  std::mt19937 rng(5);
  const std::int64_t n = 1000;
  const int A = 25;
  auto sl = random_vec<float>(n * A, rng, -3, 3), tl = random_vec<float>(n * A, rng, -3, 3);
  auto sv = random_vec<float>(n, rng, -1, 1), tv = random_vec<float>(n, rng, -1, 1);
  std::vector<float> out[2][3];
  for (int dev = 0; dev < 2; ++dev) {
    const Context& ctx = dev ? gpu : kCpu;
    Twin<float> a(ctx, sl), b(ctx, tl), c(ctx, sv), d(ctx, tv), dl(ctx, std::vector<float>(n * A)),
        dv(ctx, std::vector<float>(n));
    KickstarterLoss ks(ctx, n);
    ks.run(ctx, a.data(), b.data(), A, c.data(), d.data(), 0.7f, 0.3f, dl.data(), dv.data());
    out[dev][0] = host(ctx, dl.data(), n * A);
    out[dev][1] = host(ctx, dv.data(), n);
    out[dev][2] = host(ctx, ks.stats(), 2);
  }
  expect_close(out[1][0], out[0][0], "d logits");
  expect_close(out[1][1], out[0][1], "d value");
  expect_close(out[1][2], out[0][2], "ks losses");
}

// The experience/ metrics' terms (kernels/experience.h): the same cells give the same floats, exactly
// (one product and one sum per cell, no reduction).
TEST(CudaRl, ExperienceStatTermsMatchCpu) {
  METTA_REQUIRE_GPU();
  const Context gpu = Context::cuda();
  std::mt19937 rng(3);
  const std::int64_t S = 129;
  const int H = 8;
  const auto n = static_cast<std::size_t>(S * H);
  auto logp = random_vec<float>(n, rng, -4, 0), values = random_vec<float>(n, rng, -1, 1);
  auto rewards = random_vec<float>(n, rng, 0, 1), ratio = random_vec<float>(n, rng, 0.5, 1.5);
  std::vector<std::uint8_t> term(n), trunc(n);
  std::vector<std::int32_t> actions(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    term[i] = rng() % 13 == 0;
    trunc[i] = rng() % 19 == 0;
    actions[2 * i] = static_cast<std::int32_t>(rng() % 9);
    actions[2 * i + 1] = static_cast<std::int32_t>(rng() % 5);
  }
  std::vector<float> out[2];
  for (int dev = 0; dev < 2; ++dev) {
    const Context& ctx = dev ? gpu : kCpu;
    Twin<float> lp(ctx, logp), v(ctx, values), r(ctx, rewards), q(ctx, ratio);
    Twin<float> terms(ctx, std::vector<float>(kExperienceTerms * n));
    Twin<std::uint8_t> te(ctx, term), tr(ctx, trunc);
    Twin<std::int32_t> a(ctx, actions);
    const ExperienceView x{S, H, 0, 0, nullptr, a.data(), lp.data(), v.data(), r.data(),
                           te.data(), tr.data(), q.data(), nullptr, nullptr};
    experience_stat_terms(ctx, x, terms.data());
    out[dev] = host(ctx, terms.data(), kExperienceTerms * n);
  }
  EXPECT_TRUE(out[1] == out[0]);
}
