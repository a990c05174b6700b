// The device-side variants of the launchers (`#if METTA_DEVICE_PATH` in nn/ops_impl.h and
// kernels/rl_impl.h: a thread per element, gathers instead of scatters) compiled for the host and run
// against the CPU variants. This checks their logic on every machine, GPU or not; what it cannot check
// (launch limits, memory spaces) is left to the CUDA-vs-CPU tests. Integer and layout results must be
// bit-exact, float sums in the same order too; where the two variants use different formulas (vector
// expf on the CPU) or a different summation order (bias gradient as a GEMM) a tolerance is stated.
#define METTA_EMULATE_DEVICE_PATH 1
#define METTA_BACKEND_NS device_path
#include "nn/ops_impl.h"
#include "kernels/rl_impl.h"
#include "engine/env_impl.h"
#undef METTA_BACKEND_NS

#include <gtest/gtest.h>

#include <algorithm>

#include <random>
#include <set>
#include <vector>

#include "engine/batched_env.h"
#include "engine/config_yaml.h"
#include "kernels/experience.h"

using namespace metta;
namespace dev = metta::nn::device_path;

namespace metta::engine {
struct BatchedEnvTestAccess {
  // One step of `env` through the device variant of the step launcher (resets in their own pass).
  static void device_step(BatchedEnv& env) {
    WorldView w = env.view();
    w.actions = env.actions();
    device_path::launch_step(env.context(), w);
  }
};
}  // namespace metta::engine

namespace {
const kernels::Context kCpu = kernels::Context::cpu(2);

std::vector<float> rnd(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Rows of observation tokens with empty slots, out-of-box cells and repeated (cell, feature) pairs.
std::vector<std::uint8_t> tokens(std::int64_t rows, int per_row, std::mt19937& rng) {
  std::vector<std::uint8_t> obs(static_cast<std::size_t>(rows * per_row * 3), 0xFF);
  for (std::int64_t r = 0; r < rows; ++r)
    for (int t = 0; t < per_row - 8; ++t) {
      std::uint8_t* tok = obs.data() + (r * per_row + t) * 3;
      const bool repeat = t > 4 && rng() % 4 == 0;
      tok[0] = repeat ? tok[-15] : static_cast<std::uint8_t>(((rng() % 13) << 4) | (rng() % 13));  // 11, 12: outside
      tok[1] = repeat ? tok[-14] : static_cast<std::uint8_t>(rng() % 24);                          // 22, 23: outside
      tok[2] = static_cast<std::uint8_t>(rng() % 6);                                               // zeros too
    }
  return obs;
}

template <class T>
void expect_near(const std::vector<T>& a, const std::vector<T>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (tol == 0) {
      ASSERT_EQ(a[i], b[i]) << what << " [" << i << "]";
    } else {
      ASSERT_NEAR(a[i], b[i], tol) << what << " [" << i << "]";
    }
  }
}
}  // namespace

TEST(DevicePath, TokenScatterMaskAndTokenConvolutionMatchTheCpu) {
  std::mt19937 rng(21);
  const std::int64_t n = 7;
  const int T = 48, H = 11, W = 11, F = 22;
  const auto obs = tokens(n, T, rng);
  const auto inv_norm = rnd(F, rng, 1.0f);
  std::vector<float> box_cpu(n * H * W * F, -1), box_dev(box_cpu.size(), -2);
  nn::tokens_to_box<float>(kCpu, obs.data(), n, T, H, W, F, inv_norm.data(), box_cpu.data());
  dev::tokens_to_box<float>(kCpu, obs.data(), n, T, H, W, F, inv_norm.data(), box_dev.data());
  expect_near(box_dev, box_cpu, 0, "tokens_to_box");

  std::vector<std::uint8_t> mask_cpu(n * T, 7), mask_dev(n * T, 9);
  nn::token_mask<float>(kCpu, obs.data(), n, T, H, W, F, mask_cpu.data());
  dev::token_mask<float>(kCpu, obs.data(), n, T, H, W, F, mask_dev.data());
  expect_near(mask_dev, mask_cpu, 0, "token_mask");
  int kept = 0;
  for (auto m : mask_cpu) kept += m;
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, n * (T - 8));  // some tokens were dropped: empty, outside, or overwritten

  for (auto [out, k, s, pad] : {std::array<int, 4>{8, 5, 3, 0}, std::array<int, 4>{6, 3, 1, 1}}) {
    const int oh = (H + 2 * pad - k) / s + 1, ow = (W + 2 * pad - k) / s + 1;
    const auto w = rnd(static_cast<std::size_t>(out) * F * k * k, rng);
    std::vector<float> wt_cpu(w.size(), -1), wt_dev(w.size(), -2);  // distinct sentinels: every element written
    nn::conv_weights_to_kkio<float>(kCpu, w.data(), out, F, k, wt_cpu.data());
    dev::conv_weights_to_kkio<float>(kCpu, w.data(), out, F, k, wt_dev.data());
    expect_near(wt_dev, wt_cpu, 0, "conv_weights_to_kkio");
    std::vector<float> y_cpu(n * oh * ow * out, -1), y_dev(y_cpu.size(), -2);
    nn::token_conv_forward<float>(kCpu, obs.data(), mask_cpu.data(), n, T, inv_norm.data(), wt_cpu.data(), nullptr,
                                  nn::Activation::kNone, F, out, k, s, pad, oh, ow, y_cpu.data());
    dev::token_conv_forward<float>(kCpu, obs.data(), mask_cpu.data(), n, T, inv_norm.data(), wt_cpu.data(), nullptr,
                                   nn::Activation::kNone, F, out, k, s, pad, oh, ow, y_dev.data());
    expect_near(y_dev, y_cpu, 0, "token_conv_forward");  // the same products added in token order
    // The fused epilogue: the same bits as the convolution followed by bias_activation, on each variant.
    const auto bias = rnd(out, rng);
    for (nn::Activation act : {nn::Activation::kRelu, nn::Activation::kTanh}) {
      std::vector<float> fused_cpu(y_cpu.size(), -1), fused_dev(y_cpu.size(), -2), then_cpu = y_cpu, then_dev = y_cpu;
      nn::token_conv_forward<float>(kCpu, obs.data(), mask_cpu.data(), n, T, inv_norm.data(), wt_cpu.data(),
                                    bias.data(), act, F, out, k, s, pad, oh, ow, fused_cpu.data());
      dev::token_conv_forward<float>(kCpu, obs.data(), mask_cpu.data(), n, T, inv_norm.data(), wt_cpu.data(),
                                     bias.data(), act, F, out, k, s, pad, oh, ow, fused_dev.data());
      nn::bias_activation<float>(kCpu, then_cpu.data(), bias.data(), n * oh * ow, out, act);
      dev::bias_activation<float>(kCpu, then_dev.data(), bias.data(), n * oh * ow, out, act);
      expect_near(fused_cpu, then_cpu, 0, "token_conv_forward's epilogue, CPU");
      expect_near(fused_dev, then_dev, 0, "token_conv_forward's epilogue, device variant");
      int positive = 0;
      for (float v : fused_cpu) positive += v > 0;
      EXPECT_GT(positive, 0);
      EXPECT_LT(positive, static_cast<int>(fused_cpu.size()));
    }

    // The weight gradient: one chunk of rows (n = 7) adds in the CPU's order; more rows make chunks,
    // whose partial sums are added in order (a different association: a tolerance).
    for (const std::int64_t rows : {n, std::int64_t{100}}) {
      const auto obs_g = rows == n ? obs : tokens(rows, T, rng);
      std::vector<std::uint8_t> mask_g(rows * T);
      nn::token_mask<float>(kCpu, obs_g.data(), rows, T, H, W, F, mask_g.data());
      const auto dy = rnd(static_cast<std::size_t>(rows) * oh * ow * out, rng);
      const std::int64_t chunks = nn::token_conv_weight_chunks(rows, k, F, out);
      EXPECT_EQ(chunks, (rows + 15) / 16);
      std::vector<float> dw_cpu(w.size(), -1), dw_dev(w.size(), -2);
      std::vector<float> partial(static_cast<std::size_t>(nn::token_conv_weight_workspace(rows, k, F, out)), 5);
      nn::token_conv_backward_weights<float>(kCpu, obs_g.data(), mask_g.data(), rows, T, inv_norm.data(), dy.data(),
                                             F, out, k, s, pad, oh, ow, nullptr, dw_cpu.data());
      dev::token_conv_backward_weights<float>(kCpu, obs_g.data(), mask_g.data(), rows, T, inv_norm.data(), dy.data(),
                                              F, out, k, s, pad, oh, ow, partial.data(), dw_dev.data());
      expect_near(dw_dev, dw_cpu, rows == n ? 0.0 : 1e-4, "token_conv_backward_weights");
      double norm = 0;
      for (float g : dw_cpu) norm += std::abs(g);
      EXPECT_GT(norm, 1.0);  // the gradient is not all zeros
    }

    std::vector<float> wp_cpu(w.size(), -1), wp_dev(w.size(), -2);
    nn::permute_conv_weights<float>(kCpu, w.data(), out, F, k, wp_cpu.data());
    dev::permute_conv_weights<float>(kCpu, w.data(), out, F, k, wp_dev.data());
    expect_near(wp_dev, wp_cpu, 0, "permute_conv_weights");
  }
}

TEST(DevicePath, Im2colAndItsAdjointMatchTheCpuBitForBit) {
  std::mt19937 rng(22);
  for (auto [h, c, k, s, pad] : {std::array<int, 5>{11, 3, 5, 3, 0}, std::array<int, 5>{11, 4, 3, 1, 1},
                                 std::array<int, 5>{6, 2, 3, 2, 2}, std::array<int, 5>{3, 5, 3, 1, 0}}) {
    const int w = h + 1, n = 3;
    const int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
    const auto x = rnd(static_cast<std::size_t>(n) * h * w * c, rng);
    const std::size_t cols = static_cast<std::size_t>(n) * oh * ow * c * k * k;
    std::vector<float> cols_cpu(cols, -1), cols_dev(cols, -2);  // padding zeros must be written too
    nn::im2col<float>(kCpu, x.data(), n, h, w, c, k, s, pad, cols_cpu.data());
    dev::im2col<float>(kCpu, x.data(), n, h, w, c, k, s, pad, cols_dev.data());
    expect_near(cols_dev, cols_cpu, 0, "im2col");
    const auto dcols = rnd(cols, rng);
    std::vector<float> dx_cpu(x.size(), -1), dx_dev(x.size(), -2);
    nn::col2im<float>(kCpu, dcols.data(), n, h, w, c, k, s, pad, dx_cpu.data());
    dev::col2im<float>(kCpu, dcols.data(), n, h, w, c, k, s, pad, dx_dev.data());
    expect_near(dx_dev, dx_cpu, 0, "col2im");  // the gather adds in the CPU's patch order
  }
}

TEST(DevicePath, ActivationsBiasGradientsAndLstmCellMatchTheCpu) {
  std::mt19937 rng(23);
  const std::int64_t rows = 37;
  for (int cols : {1, 20, 64}) {
    const auto y0 = rnd(rows * cols, rng, 3.0f), bias = rnd(cols, rng);
    for (nn::Activation act : {nn::Activation::kNone, nn::Activation::kRelu, nn::Activation::kTanh}) {
      std::vector<float> a = y0, b = y0;
      nn::bias_activation<float>(kCpu, a.data(), bias.data(), rows, cols, act);
      dev::bias_activation<float>(kCpu, b.data(), bias.data(), rows, cols, act);
      expect_near(b, a, act == nn::Activation::kTanh ? 2e-6 : 0, "bias_activation");  // CPU tanh: vector expf
    }
  }
  // The fused backward: dy *= act'(y), db += column sums. Up to 32 rows are one chunk, summed in the
  // CPU's order (bit-exact); more rows make chunks whose sums are added in order (a tolerance). Both
  // against a plain loop in double.
  for (const std::int64_t n : {std::int64_t{29}, std::int64_t{1000}})
    for (int cols : {1, 20, 64}) {
      const auto y = rnd(n * cols, rng, 3.0f), dy0 = rnd(n * cols, rng), db0 = rnd(cols, rng);
      for (nn::Activation act : {nn::Activation::kNone, nn::Activation::kRelu, nn::Activation::kTanh})
        for (const bool with_bias : {true, false}) {
          if (act == nn::Activation::kNone && !with_bias) continue;
          std::vector<float> dy_cpu = dy0, dy_dev = dy0, db_cpu = db0, db_dev = db0;
          std::vector<float> partial(static_cast<std::size_t>(nn::bias_grad_workspace(n, cols)), 7.0f);
          EXPECT_EQ(nn::bias_grad_chunks(n, cols), (n + 31) / 32);
          const float* yp = act == nn::Activation::kNone ? nullptr : y.data();  // y unread without an activation
          nn::bias_activation_backward<float>(kCpu, yp, dy_cpu.data(), n, cols, act,
                                              with_bias ? db_cpu.data() : nullptr, nullptr);
          dev::bias_activation_backward<float>(kCpu, yp, dy_dev.data(), n, cols, act,
                                               with_bias ? db_dev.data() : nullptr, partial.data());
          std::vector<float> dy_ref(dy0.size());
          std::vector<double> db_ref(db0.begin(), db0.end());
          for (std::int64_t i = 0; i < n * cols; ++i) {
            const double g = dy0[i], a = y[i];
            dy_ref[i] = static_cast<float>(act == nn::Activation::kRelu   ? (a > 0 ? g : 0.0)
                                           : act == nn::Activation::kTanh ? g * (1.0 - a * a)
                                                                          : g);
          }
          for (std::int64_t i = 0; i < n * cols; ++i) db_ref[i % cols] += dy_ref[i];
          expect_near(dy_cpu, dy_ref, 1e-5, "bias_activation_backward dy, CPU");
          expect_near(dy_dev, dy_cpu, 0, "bias_activation_backward dy, device variant");
          const std::vector<float> db_reff(db_ref.begin(), db_ref.end());
          expect_near(with_bias ? db_cpu : db0, with_bias ? db_reff : db0, 1e-3, "bias gradient, CPU");
          expect_near(db_dev, db_cpu, n <= 32 ? 0 : 1e-3, "bias gradient, device variant");
          if (with_bias) {
            EXPECT_NE(db_cpu, db0);
          }
        }
    }
  const int h = 24;
  auto gates = rnd(rows * 4 * h, rng, 3.0f), gates_dev = gates;
  const auto b_ih = rnd(4 * h, rng), b_hh = rnd(4 * h, rng), c_prev = rnd(rows * h, rng);
  std::vector<float> c_cpu(rows * h), h_cpu(rows * h), c_dev(rows * h), h_dev(rows * h);
  nn::lstm_cell_forward<float>(kCpu, gates.data(), b_ih.data(), b_hh.data(), c_prev.data(), c_cpu.data(), h_cpu.data(),
                               rows, h);
  dev::lstm_cell_forward<float>(kCpu, gates_dev.data(), b_ih.data(), b_hh.data(), c_prev.data(), c_dev.data(),
                                h_dev.data(), rows, h);
  expect_near(gates_dev, gates, 2e-6, "lstm gates");
  expect_near(c_dev, c_cpu, 1e-5, "lstm c");
  expect_near(h_dev, h_cpu, 1e-5, "lstm h");
  const auto dh = rnd(rows * h, rng), dc_next = rnd(rows * h, rng);
  std::vector<float> dg_cpu(rows * 4 * h), dc_cpu(rows * h), dg_dev(rows * 4 * h), dc_dev(rows * h);
  nn::lstm_cell_backward<float>(kCpu, gates.data(), c_prev.data(), c_cpu.data(), dh.data(), dc_next.data(),
                                dg_cpu.data(), dc_cpu.data(), rows, h);
  dev::lstm_cell_backward<float>(kCpu, gates.data(), c_prev.data(), c_cpu.data(), dh.data(), dc_next.data(),
                                 dg_dev.data(), dc_dev.data(), rows, h);
  expect_near(dg_dev, dg_cpu, 1e-5, "lstm dgates");
  expect_near(dc_dev, dc_cpu, 1e-5, "lstm dc_prev");
}

TEST(DevicePath, ExperienceStoreAndGatherMatchTheCpuBitForBit) {
  std::mt19937 rng(24);
  const std::int64_t S = 6, n = 3;
  const int H = 4, obs_bytes = 30, layers = 2, hidden = 5, state = layers * hidden;
  struct Buffers {
    std::vector<std::uint8_t> obs, term, trunc;
    std::vector<std::int32_t> actions;
    std::vector<float> logp, values, rewards, ratio, h0, c0;
    kernels::ExperienceView view() {
      return {S, H, obs_bytes, state, obs.data(), actions.data(), logp.data(), values.data(), rewards.data(),
              term.data(), trunc.data(), ratio.data(), h0.data(), c0.data()};
    }
  };
  auto make = [&] {
    Buffers b;
    b.obs.assign(S * H * obs_bytes, 0);
    b.term.assign(S * H, 0);
    b.trunc.assign(S * H, 0);
    b.actions.assign(S * H * 2, 0);
    for (auto* v : {&b.logp, &b.values, &b.rewards, &b.ratio}) v->assign(S * H, 0.0f);
    b.h0.assign(S * state, 0.0f);
    b.c0.assign(S * state, 0.0f);
    return b;
  };
  Buffers cpu = make(), devb = make();
  for (std::int64_t first_row : {0, 3})
    for (int t = 0; t < H; ++t) {
      std::vector<std::uint8_t> obs(n * obs_bytes), term(n), trunc(n);
      for (auto& o : obs) o = static_cast<std::uint8_t>(rng());
      for (std::int64_t g = 0; g < n; ++g) term[g] = rng() % 2, trunc[g] = rng() % 2;
      std::vector<std::int32_t> act(n * 2);
      for (auto& a : act) a = static_cast<std::int32_t>(rng() % 9);
      const auto logp = rnd(n, rng), val = rnd(n, rng), rew = rnd(n, rng);
      const auto hs = rnd(layers * n * hidden, rng), cs = rnd(layers * n * hidden, rng);
      kernels::cpu::launch_experience_store(kCpu, cpu.view(), first_row, n, t, obs.data(), act.data(), logp.data(),
                                            val.data(), rew.data(), term.data(), trunc.data(), hs.data(), cs.data(),
                                            layers, hidden);
      kernels::device_path::launch_experience_store(kCpu, devb.view(), first_row, n, t, obs.data(), act.data(),
                                                    logp.data(), val.data(), rew.data(), term.data(), trunc.data(),
                                                    hs.data(), cs.data(), layers, hidden);
    }
  expect_near(devb.obs, cpu.obs, 0, "stored obs");
  expect_near(devb.actions, cpu.actions, 0, "stored actions");
  expect_near(devb.h0, cpu.h0, 0, "stored h0");
  expect_near(devb.c0, cpu.c0, 0, "stored c0");
  expect_near(devb.rewards, cpu.rewards, 0, "stored rewards");

  const std::vector<std::int32_t> rows = {4, 0, 5};
  const std::int64_t k = static_cast<std::int64_t>(rows.size());
  const auto all_returns = rnd(S * H, rng);
  auto gather = [&](Buffers& b, bool device) {
    std::vector<std::uint8_t> obs(k * H * obs_bytes);
    std::vector<std::int32_t> act(k * H * 2);
    std::vector<float> lp(k * H), v(k * H), ret(k * H), h0(layers * k * hidden), c0(layers * k * hidden);
    auto launch = device ? kernels::device_path::launch_experience_gather : kernels::cpu::launch_experience_gather;
    launch(kCpu, b.view(), rows.data(), k, obs.data(), act.data(), lp.data(), v.data(), ret.data(), all_returns.data(),
           h0.data(), c0.data(), layers, hidden);
    std::vector<float> floats = lp;
    for (auto* x : {&v, &ret, &h0, &c0}) floats.insert(floats.end(), x->begin(), x->end());
    return std::make_tuple(obs, act, floats);
  };
  const auto [obs_c, act_c, f_c] = gather(cpu, false);
  const auto [obs_d, act_d, f_d] = gather(devb, true);
  expect_near(obs_d, obs_c, 0, "gathered obs");
  expect_near(act_d, act_c, 0, "gathered actions");
  expect_near(f_d, f_c, 0, "gathered floats and state");
}

// Steps `cpu` with the CPU launcher and `device` with the device variant on the same random actions,
// asserting after every step that the worlds and observations are the same bits.
static void step_in_lockstep(engine::BatchedEnv& cpu, engine::BatchedEnv& device, int steps) {
  for (int t = 0; t < steps; ++t) {
    cpu.random_actions(31, static_cast<std::uint32_t>(t));
    device.random_actions(31, static_cast<std::uint32_t>(t));
    cpu.step();
    engine::BatchedEnvTestAccess::device_step(device);
    ASSERT_EQ(cpu.state_hash(), device.state_hash()) << "step " << t;
    ASSERT_EQ(cpu.observations_host(), device.observations_host()) << "step " << t;
  }
}

// The device step: resets of finished envs in a launch of their own, then the step launch (which skips
// and unmarks them), then observations per agent. The world must stay bit-identical to the CPU step's.
TEST(DevicePath, EngineStepWithSeparateResetsMatchesTheCpuStepBitForBit) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 60;  // many episodes, so resets land on various steps
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv a(cfg, 12, 5, kCpu, opt), b(cfg, 12, 5, kCpu, opt);
  ASSERT_EQ(a.state_hash(), b.state_hash());
  step_in_lockstep(a, b, 400);
  if (HasFatalFailure()) return;
  const auto ea = a.completed_episodes(), eb = b.completed_episodes();
  EXPECT_GT(ea.episodes, 12);  // resets did happen
  EXPECT_EQ(ea.episodes, eb.episodes);
  EXPECT_EQ(ea.mean_reward, eb.mean_reward);
}

// The observation writer in the GPU's shape (flat passes per agent and window cell, observe.h): rows
// that overflow (few token slots, agents that carry items), windows past the map's edges (a small map),
// and its token statistics are the CPU writer's bit for bit.
TEST(DevicePath, FlatObservationWriterMatchesTheCpuOnOverflowAndMapEdges) {
  for (int tokens : {24, 40, 200}) {
    engine::EnvConfig cfg = engine::default_env_config();
    cfg.num_observation_tokens = tokens;
    cfg.max_steps = 50;
    engine::BatchedEnvOptions opt;
    opt.randomize_first_episode = true;
    engine::BatchedEnv a(cfg, 5, 9, kCpu, opt), b(cfg, 5, 9, kCpu, opt);
    for (int e = 0; e < 5; ++e)  // inventories: more tokens per agent
      for (int item = 0; item < 3; ++item) {
        a.debug_set_agent_inventory(e, 0, item, 1 + item);
        b.debug_set_agent_inventory(e, 0, item, 1 + item);
      }
    step_in_lockstep(a, b, 150);
    if (HasFatalFailure()) return;
    const auto ea = a.completed_episodes(), eb = b.completed_episodes();
    ASSERT_GT(ea.episodes, 0);
    EXPECT_EQ(ea.agent, eb.agent) << tokens << " tokens";
    EXPECT_EQ(ea.game, eb.game) << tokens << " tokens";  // tokens_written, _dropped, _free_space
    if (tokens == 24) {
      EXPECT_GT(ea.game.at("tokens_dropped"), 0);
    }
  }
}

// Tasks per env (curricula): each reset draws its env's task on the device; with mixed tasks the device
// step stays bit-identical to the CPU step, and per-task completions add up.
TEST(DevicePath, MixedTasksStepBitForBitAndDrawTheirTasksAtReset) {
  engine::EnvConfig easy = engine::default_env_config(), hard = engine::default_env_config();
  easy.max_steps = 40;
  hard.max_steps = 70;
  for (auto& g : easy.groups) g.props.rewards["ore_red"] = 0.1f;  // shaped
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv a({easy, hard}, 12, 5, kCpu, opt), b({easy, hard}, 12, 5, kCpu, opt);
  a.set_task_probabilities({1, 3});
  b.set_task_probabilities({1, 3});
  step_in_lockstep(a, b, 300);
  if (HasFatalFailure()) return;
  int per_task[2] = {0, 0};
  for (int e = 0; e < 12; ++e) {
    const int task = a.task_of(e);
    ASSERT_TRUE(task == 0 || task == 1);
    ++per_task[task];
    EXPECT_EQ(task, b.task_of(e));
    if (a.current_step(e) > 0) {
      EXPECT_LE(a.episode_max_steps(e), task == 0 ? 40 : 70);  // its task's limit
    }
  }
  EXPECT_GT(per_task[1], 0);
  const auto ta = a.completed_episodes_by_task(false), tb = b.completed_episodes_by_task(false);
  // each episode's own score, kept per env (up to engine::kKeptScores since the last clear): the same on
  // both paths
  const auto sa = a.completed_episode_scores(), sb = b.completed_episode_scores();
  ASSERT_EQ(sa.size(), sb.size());
  for (std::size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].task, sb[i].task) << i;
    EXPECT_EQ(sa[i].score, sb[i].score) << i;
  }
  EXPECT_LE(sa.size(), static_cast<std::size_t>(12 * engine::kKeptScores));
  EXPECT_GT(sa.size(), 12u);
  const auto ea = a.completed_episodes();
  EXPECT_GT(ta[0].episodes, 0);
  EXPECT_GT(ta[1].episodes, ta[0].episodes);  // 3:1 odds, and shorter episodes only partly make up for it
  EXPECT_EQ(ta[0].episodes + ta[1].episodes, ea.episodes);
  EXPECT_NEAR((ta[0].reward_sum + ta[1].reward_sum) / ea.episodes, ea.mean_reward, 1e-5);
  EXPECT_EQ(ta[0].episodes, tb[0].episodes);
  EXPECT_EQ(ta[1].reward_sum, tb[1].reward_sum);
  EXPECT_EQ(a.completed_episodes_by_task()[0].episodes, 0);  // cleared with the episodes
}

TEST(Tasks, ProbabilitiesSteerTheDrawAndLayoutsMustMatch) {
  engine::EnvConfig t0 = engine::default_env_config(), t1 = engine::default_env_config();
  t0.max_steps = t1.max_steps = 5;
  engine::BatchedEnv env({t0, t1}, 256, 3, kCpu);
  int ones = 0;
  for (int e = 0; e < 256; ++e) ones += env.task_of(e);
  EXPECT_GT(ones, 90);  // uniform until told otherwise
  EXPECT_LT(ones, 166);
  env.set_task_probabilities({0, 1});
  for (int t = 0; t < 6; ++t) env.step();  // every env resets once
  for (int e = 0; e < 256; ++e) ASSERT_EQ(env.task_of(e), 1) << e;
  engine::BatchedEnvOptions first;
  first.task_probabilities = {1, 0};  // the first episodes draw from these
  engine::BatchedEnv steered({t0, t1}, 64, 3, kCpu, first);
  for (int e = 0; e < 64; ++e) ASSERT_EQ(steered.task_of(e), 0) << e;
  EXPECT_THROW(env.set_task_probabilities({0, 0}), metta::Error);
  EXPECT_THROW(env.set_task_probabilities({1}), metta::Error);
  // a state saved before tasks existed (no env_task, no done_task) loads as one task
  auto state = env.save_state();
  state.erase(std::remove_if(state.begin(), state.end(),
                             [](const auto& kv) { return kv.first == "env_task" || kv.first == "done_task"; }),
              state.end());
  env.load_state(state);
  EXPECT_EQ(env.task_of(7), 0);
  // a task that changes what the policy sees (the observation window) is refused, naming the task
  engine::EnvConfig narrow = t0;
  narrow.obs_width = 9;
  try {
    engine::BatchedEnv bad({t0, narrow}, 2, 3, kCpu);
    ADD_FAILURE() << "no error";
  } catch (const engine::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("task 1"), std::string::npos) << m;
    EXPECT_NE(m.find("observation window"), std::string::npos) << m;
  }
}

// Tasks with other map sizes and object counts share a batch (issue 14): each env's slice is the
// largest task's, an env uses its task's map; the device step stays bit-identical to the CPU step, and
// an env's objects and game stats are its own task's.
TEST(Tasks, MixedMapSizesStepBitForBitAndKeepTheirOwnMaps) {
  engine::EnvConfig small = engine::default_env_config(), large = engine::default_env_config();
  small.max_steps = 30;
  large.max_steps = 45;
  auto& room = large.map_builder.room.at(0);
  room.width += 6;
  room.height += 4;
  for (auto& [name, count] : small.map_builder.room.at(0).objects) count = count > 1 ? count / 2 : count;
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv a({small, large}, 10, 4, kCpu, opt), b({small, large}, 10, 4, kCpu, opt);
  step_in_lockstep(a, b, 200);
  if (HasFatalFailure()) return;
  const engine::BatchedEnv alone_small(small, 1, 4, kCpu), alone_large(large, 1, 4, kCpu);
  std::set<int> tasks_seen;
  for (int e = 0; e < 10; ++e) {
    const int task = a.task_of(e);
    tasks_seen.insert(task);
    const engine::BatchedEnv& alone = task == 0 ? alone_small : alone_large;
    const auto objs = a.grid_objects(e);
    EXPECT_EQ(objs.size(), alone.grid_objects(0).size()) << "env " << e << ", task " << task;
    for (const auto& o : objs) {
      ASSERT_LT(o.r, alone.height());
      ASSERT_LT(o.c, alone.width());
    }
    EXPECT_EQ(a.episode_stats(e).game.at("objects.wall"), alone.episode_stats(0).game.at("objects.wall")) << e;
    EXPECT_EQ(a.height_of(e), alone.height()) << e;  // the env's own map size (replays name it)
    EXPECT_EQ(a.width_of(e), alone.width()) << e;
  }
  EXPECT_EQ(tasks_seen.size(), 2u);
  EXPECT_GT(a.completed_episodes().episodes, 10);
}

