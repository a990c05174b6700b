// The policy network: parameter counts of both presets (reference numbers), initialization rules, the
// whole backward pass against finite differences in double (a small fast-shaped net and a small
// api_default-shaped one), sampling consistency and the no-allocation contract.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/memory.h"
#include "nn/policy.h"

using namespace metta;
using namespace metta::nn;

namespace {
const kernels::Context kCpu = kernels::Context::cpu(2);
const std::vector<int> kSimpleMaxArgs = {0, 1, 3, 0, 0, 9, 0, 0, 3};

std::vector<float> norms(int features) {
  std::vector<float> n(static_cast<std::size_t>(features), 1.0f);
  for (int f = 0; f < features; ++f) n[f] = f == 1 ? 10.0f : f >= 12 ? 100.0f : f == 5 || f == 8 ? 255.0f : 1.0f;
  return n;
}

std::vector<std::uint8_t> random_obs(std::int64_t rows, int tokens, std::mt19937& rng) {
  std::vector<std::uint8_t> obs(static_cast<std::size_t>(rows * tokens * 3), 0xFF);
  for (std::int64_t r = 0; r < rows; ++r) {
    const int used = 10 + static_cast<int>(rng() % 30);
    for (int t = 0; t < used; ++t) {
      std::uint8_t* tok = &obs[(r * tokens + t) * 3];
      tok[0] = static_cast<std::uint8_t>(((rng() % 11) << 4) | (rng() % 11));
      tok[1] = static_cast<std::uint8_t>(rng() % 22);
      tok[2] = static_cast<std::uint8_t>(rng() % 256);
    }
  }
  return obs;
}

// Valid (type, arg) pairs of the simple action space for `rows` rows.
std::vector<std::int32_t> random_actions(std::int64_t rows, std::mt19937& rng) {
  const ActionSpace space(kSimpleMaxArgs);
  std::vector<std::int32_t> acts;
  for (std::int64_t r = 0; r < rows; ++r) {
    const int t = static_cast<int>(rng() % space.num_types());
    acts.push_back(t);
    acts.push_back(static_cast<int>(rng() % (space.max_args[t] + 1)));
  }
  return acts;
}

PolicyArch tiny_fast() {
  PolicyArch a = PolicyArch::fast(22);
  a.convs = {{6, 5, 3, 0}, {5, 3, 1, 0}};
  a.fcs = {7, 6};
  a.lstm_layers = 2;
  a.hidden = 5;
  a.critic_hidden = 9;
  a.actor_hidden = 8;
  a.embed_dim = 4;
  a.num_embeddings = 30;
  return a;
}

PolicyArch tiny_api() {
  PolicyArch a = PolicyArch::api_default(22);
  a.convs = {{3, 3, 1, 1}, {2, 3, 1, 1}};
  a.fcs = {6};
  a.hidden = 5;
  a.actor_hidden = 7;
  a.embed_dim = 3;
  a.num_embeddings = 30;
  return a;
}

void check_policy_gradients(const PolicyArch& arch, bool token_conv, FlattenMode flatten = FlattenMode::kAuto,
                            int segs = 3, int steps = 4) {
  std::mt19937 rng(7);
  const int rows = segs * steps;
  Policy<double> pol(kCpu, arch, ActionSpace(kSimpleMaxArgs), norms(22), 11, rows, steps);
  pol.set_token_conv(token_conv);
  pol.set_flatten_mode(flatten);
  const auto obs = random_obs(rows, 200, rng);
  const std::vector<std::int32_t> acts = random_actions(rows, rng);
  std::uniform_real_distribution<double> u(-1, 1);
  // Biases start at 0, which puts ReLUs fed by all-zero patches exactly on their kink; move every
  // parameter a little so finite differences see a smooth function.
  for (std::int64_t i = 0; i < pol.num_params(); ++i) pol.params()[i] += 0.05 * u(rng);
  std::vector<double> r1(rows), r2(rows), r3(rows), h0(arch.lstm_layers * segs * arch.hidden);
  for (auto* v : {&r1, &r2, &r3, &h0})
    for (auto& x : *v) x = u(rng);
  auto loss = [&] {
    pol.forward(obs.data(), segs, steps, acts.data(), h0.data(), h0.data(), nullptr, nullptr);
    double s = 0;
    for (int r = 0; r < rows; ++r) s += r1[r] * pol.logp()[r] + r2[r] * pol.entropy()[r] + r3[r] * pol.value()[r];
    return s;
  };
  loss();
  pol.zero_grads();
  pol.backward(r1.data(), r2.data(), r3.data());
  std::vector<double> grads(pol.grads(), pol.grads() + pol.num_params());
  const double h = 1e-6;
  for (const ParamInfo& p : pol.table().all()) {
    const std::int64_t stride = std::max<std::int64_t>(1, p.count / 40);
    for (std::int64_t i = 0; i < p.count; i += stride) {
      double& w = pol.params()[p.offset + i];
      const double keep = w;
      w = keep + h;
      const double up = loss();
      w = keep - h;
      const double down = loss();
      w = keep;
      const double fd = (up - down) / (2 * h);
      ASSERT_NEAR(grads[p.offset + i], fd, 1e-6 + 1e-4 * std::abs(fd))
          << arch.name << (token_conv ? " (token conv) " : " (dense conv) ") << "flatten mode "
          << static_cast<int>(flatten) << " " << p.name << "[" << i << "]";
    }
  }
}
}  // namespace

TEST(Policy, ParameterCountsMatchTheReference) {
  Policy<float> fast(kCpu, PolicyArch::fast(22), ActionSpace(kSimpleMaxArgs), norms(22), 1, 4, 2);
  EXPECT_EQ(fast.num_params(), 570178);
  EXPECT_EQ(fast.table().at("lstm.weight_ih_l1").count, 4 * 128 * 128);
  Policy<float> api(kCpu, PolicyArch::api_default(22), ActionSpace(kSimpleMaxArgs), norms(22), 1, 2, 1);
  EXPECT_EQ(api.num_params(), 6364514);
  EXPECT_EQ(ActionSpace(kSimpleMaxArgs).num_logits(), 25);
}

TEST(Policy, AgentSpecsWithOptions) {
  const PolicyArch a = PolicyArch::by_name("api_default:hidden_dim=256:lstm_layers=2", 22);
  EXPECT_EQ(a.hidden, 256);
  EXPECT_EQ(a.lstm_layers, 2);
  EXPECT_EQ(a.fcs.back(), 256);  // the encoder feeds the LSTM at its width
  EXPECT_EQ(a.name, "api_default:hidden_dim=256:lstm_layers=2");
  Policy<float> pol(kCpu, a, ActionSpace(kSimpleMaxArgs), norms(22), 1, 2, 1);
  // api_default with encoded_obs 7744 -> 256, LSTM 256 x 2 layers, value 256 -> 1
  const std::int64_t lstm = 2 * (4 * 256 * 256) + 2 * (4 * 256 * 256) + 2 * 2 * (4 * 256);
  EXPECT_EQ(pol.table().at("encoded_obs.weight").count, 7744 * 256);
  EXPECT_EQ(pol.table().at("lstm.weight_hh_l1").count, 4 * 256 * 256);
  EXPECT_EQ(pol.table().at("lstm.weight_ih_l0").count + pol.table().at("lstm.weight_hh_l0").count +
                pol.table().at("lstm.weight_ih_l1").count + pol.table().at("lstm.weight_hh_l1").count +
                pol.table().at("lstm.bias_ih_l0").count + pol.table().at("lstm.bias_hh_l0").count +
                pol.table().at("lstm.bias_ih_l1").count + pol.table().at("lstm.bias_hh_l1").count,
            lstm);
  EXPECT_EQ(PolicyArch::by_name("fast", 22).name, "fast");
  for (const char* bad : {"fast:hidden_dim=0", "fast:hidden_dim=x", "fast:lstm_layers=9", "fast:width=3", "slow"})
    EXPECT_THROW(PolicyArch::by_name(bad, 22), metta::Error) << bad;
}

TEST(Policy, InitializationRules) {
  Policy<double> pol(kCpu, PolicyArch::fast(22), ActionSpace(kSimpleMaxArgs), norms(22), 3, 2, 1);
  const double* p = pol.params();
  auto at = [&](const std::string& n) { return p + pol.table().at(n).offset; };
  for (int i = 0; i < 512; ++i) EXPECT_EQ(at("lstm.bias_ih_l0")[i], 1.0);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(at("cnn1.bias")[i], 0.0);
  double mx = 0;
  for (int i = 0; i < 1600; ++i) mx = std::max(mx, std::abs(at("action_embeds.weight")[i]));
  EXPECT_NEAR(mx, 0.1, 1e-12);
  // fc1 [128, 64]: orthonormal columns (rows > cols): W^T W = I
  const double* w = at("fc1.weight");
  for (int a = 0; a < 64; a += 7)
    for (int b = 0; b < 64; b += 5) {
      double d = 0;
      for (int r = 0; r < 128; ++r) d += w[r * 64 + a] * w[r * 64 + b];
      EXPECT_NEAR(d, a == b ? 1.0 : 0.0, 1e-9);
    }
  // critic_1 (Tanh): gain sqrt(2) -> its rows (1024 > 128 cols, so columns) have norm sqrt(2)
  const double* c = at("critic_1.weight");
  double n0 = 0;
  for (int r = 0; r < 1024; ++r) n0 += c[r * 128] * c[r * 128];
  EXPECT_NEAR(n0, 2.0, 1e-9);
  const double bound = 1.0 / std::sqrt(512.0);
  for (int i = 0; i < 512 * 16; ++i) ASSERT_LE(std::abs(at("action.W")[i]), bound);
  // same seed, same weights; another seed, others
  Policy<double> same(kCpu, PolicyArch::fast(22), ActionSpace(kSimpleMaxArgs), norms(22), 3, 2, 1);
  Policy<double> other(kCpu, PolicyArch::fast(22), ActionSpace(kSimpleMaxArgs), norms(22), 4, 2, 1);
  EXPECT_EQ(std::vector<double>(p, p + 1000), std::vector<double>(same.params(), same.params() + 1000));
  EXPECT_NE(std::vector<double>(p, p + 1000), std::vector<double>(other.params(), other.params() + 1000));
}

TEST(Policy, FastShapedBackwardMatchesFiniteDifferences) {
  check_policy_gradients(tiny_fast(), true);
  check_policy_gradients(tiny_fast(), false);
}
TEST(Policy, ApiDefaultShapedBackwardMatchesFiniteDifferences) {
  check_policy_gradients(tiny_api(), true);
  check_policy_gradients(tiny_api(), false);
  // its 12 rows exceed the first linear layer's 6 outputs, so kAuto permuted the weights; now both ways
  check_policy_gradients(tiny_api(), true, FlattenMode::kTransposeRows);
  check_policy_gradients(tiny_api(), true, FlattenMode::kPermuteWeights);
}

// One segment, or one step per segment (every rollout), is one layout for the rows and the LSTM: the
// transposes give way to the buffers themselves, forward and backward.
TEST(Policy, OneSegmentOrOneStepBackwardMatchesFiniteDifferences) {
  check_policy_gradients(tiny_fast(), true, FlattenMode::kAuto, 1, 4);
  check_policy_gradients(tiny_fast(), true, FlattenMode::kAuto, 3, 1);
  check_policy_gradients(tiny_api(), true, FlattenMode::kAuto, 1, 3);
}

// The first linear layer over the conv output read as NHWC with permuted weights is the same function
// as over the NCHW-transposed rows, gradients included (api_default at full size).
TEST(Policy, FlattenModesGiveTheSameFunctionAndGradients) {
  std::mt19937 rng(31);
  const PolicyArch arch = PolicyArch::api_default(22);
  const int segs = 3, steps = 2, rows = segs * steps;
  const auto obs = random_obs(rows, 200, rng);
  const std::vector<std::int32_t> acts = random_actions(rows, rng);
  std::vector<double> g(rows, 0.3);
  std::vector<std::vector<double>> out[2];
  for (int m = 0; m < 2; ++m) {
    Policy<double> pol(kCpu, arch, ActionSpace(kSimpleMaxArgs), norms(22), 5, rows, steps);
    pol.set_flatten_mode(m == 0 ? FlattenMode::kTransposeRows : FlattenMode::kPermuteWeights);
    pol.forward(obs.data(), segs, steps, acts.data(), nullptr, nullptr, nullptr, nullptr);
    pol.zero_grads();
    pol.backward(g.data(), g.data(), g.data());
    out[m] = {std::vector<double>(pol.logp(), pol.logp() + rows), std::vector<double>(pol.value(), pol.value() + rows),
              std::vector<double>(pol.grads(), pol.grads() + pol.num_params())};
  }
  for (int k = 0; k < 3; ++k)
    for (std::size_t i = 0; i < out[0][k].size(); ++i)
      ASSERT_NEAR(out[1][k][i], out[0][k][i], 1e-9 * (1 + std::abs(out[0][k][i]))) << "output " << k << " [" << i << "]";
}

// The first convolution from the tokens equals the dense one over the scattered box, including
// duplicate (cell, feature) tokens (the last wins), tokens outside the box and zero values.
TEST(Policy, TokenConvolutionEqualsTheDenseOne) {
  for (const PolicyArch& arch : {PolicyArch::fast(22), PolicyArch::api_default(22)}) {
    std::mt19937 rng(21);
    const int segs = 4, steps = 3, rows = segs * steps;
    auto obs = random_obs(rows, 200, rng);
    for (int r = 0; r < rows; ++r) {
      std::uint8_t* tok = &obs[static_cast<std::size_t>(r) * 600];
      std::copy(tok, tok + 3, tok + 150);  // token 50 repeats token 0 with another value
      tok[152] = static_cast<std::uint8_t>(tok[2] + 77);
      tok[153] = 0xB3;  // row 11: outside the 11 x 11 box
      tok[154] = 3;
      tok[155] = 9;
      tok[156] = 0x22;  // a zero value
      tok[157] = 4;
      tok[158] = 0;
    }
    const ActionSpace space(kSimpleMaxArgs);
    const std::vector<std::int32_t> acts = random_actions(rows, rng);
    std::vector<double> g(rows, 0.3);
    std::vector<std::vector<double>> out[2];
    for (int dense = 0; dense < 2; ++dense) {
      Policy<double> pol(kCpu, arch, space, norms(22), 5, rows, steps);
      pol.set_token_conv(dense == 0);
      EXPECT_EQ(pol.token_conv(), dense == 0);
      pol.forward(obs.data(), segs, steps, acts.data(), nullptr, nullptr, nullptr, nullptr);
      pol.zero_grads();
      pol.backward(g.data(), g.data(), g.data());
      out[dense] = {std::vector<double>(pol.logp(), pol.logp() + rows),
                    std::vector<double>(pol.value(), pol.value() + rows),
                    std::vector<double>(pol.grads(), pol.grads() + pol.num_params())};
    }
    for (int k = 0; k < 3; ++k)
      for (std::size_t i = 0; i < out[0][k].size(); ++i)
        ASSERT_NEAR(out[0][k][i], out[1][k][i], 1e-9 * (1 + std::abs(out[1][k][i]))) << arch.name << " output " << k
                                                                                     << " [" << i << "]";
  }
}

TEST(Policy, SampledActionsAreValidAndScoreTheirOwnLogProb) {
  std::mt19937 rng(8);
  const int n = 64;
  Policy<float> pol(kCpu, PolicyArch::fast(22), ActionSpace(kSimpleMaxArgs), norms(22), 5, n, 1);
  const auto obs = random_obs(n, 200, rng);
  std::vector<std::int32_t> acts(n * 2);
  std::vector<float> h(pol.state_size() * n, 0.0f), c(h.size(), 0.0f), h1(h.size()), c1(h.size());
  pol.forward(obs.data(), n, 1, nullptr, h.data(), c.data(), h1.data(), c1.data(), 9, 0, acts.data());
  std::vector<float> sampled_logp(pol.logp(), pol.logp() + n);
  for (int r = 0; r < n; ++r) {
    ASSERT_GE(acts[r * 2], 0);
    ASSERT_LT(acts[r * 2], 9);
    ASSERT_GE(acts[r * 2 + 1], 0);
    ASSERT_LE(acts[r * 2 + 1], kSimpleMaxArgs[acts[r * 2]]);
  }
  pol.forward(obs.data(), n, 1, acts.data(), h.data(), c.data(), nullptr, nullptr);
  for (int r = 0; r < n; ++r) EXPECT_NEAR(pol.logp()[r], sampled_logp[r], 1e-6);
  // the state moved, and the entropy of a near-uniform initial policy is close to log(25)
  EXPECT_NE(h1, h);
  EXPECT_NEAR(pol.entropy()[0], std::log(25.0), 0.05);
}

TEST(Policy, ForwardAndBackwardAllocateNothing) {
  std::mt19937 rng(9);
  const int segs = 4, steps = 8;
  Policy<float> pol(kCpu, PolicyArch::fast(22), ActionSpace(kSimpleMaxArgs), norms(22), 5, segs * steps, steps);
  const auto obs = random_obs(segs * steps, 200, rng);
  std::vector<std::int32_t> acts(segs * steps * 2, 1);
  std::vector<float> g(segs * steps, 0.1f);
  pol.forward(obs.data(), segs, steps, acts.data(), nullptr, nullptr, nullptr, nullptr);
  const auto live = kernels::live_bytes(kernels::Device::CPU);
  const auto allocs = kernels::alloc_count(kernels::Device::CPU);
  for (int i = 0; i < 3; ++i) {
    pol.forward(obs.data(), segs, steps, acts.data(), nullptr, nullptr, nullptr, nullptr);
    pol.zero_grads();
    pol.backward(g.data(), g.data(), g.data());
  }
  EXPECT_EQ(kernels::alloc_count(kernels::Device::CPU), allocs);
  EXPECT_EQ(kernels::live_bytes(kernels::Device::CPU), live);
}
