// Policy building blocks: every backward against central finite differences of our own forward in
// double precision (loss = sum(R * y) for a fixed random R), plus the token scatter and layout ops.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "nn/layers.h"
#include "nn/ops.h"

using namespace metta;
using namespace metta::nn;

namespace {
const Context kCpu = Context::cpu(2);

std::vector<double> rnd(std::size_t n, std::mt19937& rng, double scale = 1.0) {
  std::uniform_real_distribution<double> d(-scale, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double dot(const std::vector<double>& a, const double* b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Compares analytic gradient `grad` of `loss` w.r.t. the values `x` with central differences.
void check_grad(const std::string& what, std::vector<double>& x, const std::vector<double>& grad,
                const std::function<double()>& loss, std::size_t max_checks = 400) {
  ASSERT_EQ(x.size(), grad.size());
  const double h = 1e-6;
  const std::size_t stride = std::max<std::size_t>(1, x.size() / max_checks);
  for (std::size_t i = 0; i < x.size(); i += stride) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = loss();
    x[i] = keep - h;
    const double down = loss();
    x[i] = keep;
    const double fd = (up - down) / (2 * h);
    ASSERT_NEAR(grad[i], fd, 1e-6 + 1e-5 * std::abs(fd)) << what << " element " << i;
  }
}
}  // namespace

TEST(NnGrad, LinearAllActivations) {
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kTanh}) {
    std::mt19937 rng(1);
    const int in = 7, out = 5, rows = 6;
    auto x = rnd(rows * in, rng), w = rnd(out * in, rng), b = rnd(out, rng), R = rnd(rows * out, rng);
    std::vector<double> dw(w.size(), 0), db(b.size(), 0), dx(x.size()), y(rows * out);
    LinearView<double> l{w.data(), b.data(), dw.data(), db.data(), in, out, act};
    auto loss = [&] {
      linear_forward<double>(kCpu, l, x.data(), rows, y.data());
      return dot(R, y.data());
    };
    loss();
    std::vector<double> dy = R;
    linear_backward<double>(kCpu, l, x.data(), y.data(), dy.data(), rows, dx.data());
    check_grad("linear dW", w, dw, loss);
    check_grad("linear db", b, db, loss);
    check_grad("linear dx", x, dx, loss);
  }
}

TEST(NnGrad, BilinearActorHead) {
  std::mt19937 rng(4);
  const int in = 6, embed = 4, out = 5, rows = 7;
  auto x = rnd(rows * in, rng), w = rnd(in * embed, rng), emb = rnd(out * embed, rng), b = rnd(1, rng),
       R = rnd(rows * out, rng);
  std::vector<double> dw(w.size(), 0), demb(emb.size(), 0), db(1, 0), dx(x.size()), q(rows * embed),
      logits(rows * out), dq(rows * embed);
  BilinearView<double> l{w.data(), emb.data(), b.data(), dw.data(), demb.data(), db.data(), in, embed, out};
  auto loss = [&] {
    bilinear_forward<double>(kCpu, l, x.data(), rows, q.data(), logits.data());
    return dot(R, logits.data());
  };
  loss();
  bilinear_backward<double>(kCpu, l, x.data(), q.data(), R.data(), rows, dq.data(), dx.data());
  check_grad("bilinear dW", w, dw, loss);
  check_grad("bilinear dEmb", emb, demb, loss);
  check_grad("bilinear db", b, db, loss);
  check_grad("bilinear dx", x, dx, loss);
}

TEST(NnGrad, ConvStridedAndPadded) {
  struct Case { int in, out, k, s, pad, h; };
  for (Case cs : {Case{3, 4, 5, 3, 0, 11}, Case{4, 3, 3, 1, 1, 5}, Case{2, 2, 3, 1, 0, 3}}) {
    std::mt19937 rng(2);
    const int n = 2;
    ConvView<double> c;
    c.in = cs.in; c.out = cs.out; c.k = cs.k; c.stride = cs.s; c.pad = cs.pad; c.h = cs.h; c.w_in = cs.h;
    c.act = Activation::kRelu;
    const int oh = c.out_h(), ow = c.out_w(), patch = cs.in * cs.k * cs.k;
    auto x = rnd(n * cs.h * cs.h * cs.in, rng), w = rnd(cs.out * patch, rng, 0.5), b = rnd(cs.out, rng, 0.1),
         R = rnd(n * oh * ow * cs.out, rng);
    std::vector<double> dw(w.size(), 0), db(b.size(), 0), dx(x.size()), y(R.size()), cols(n * oh * ow * patch),
        dcols(cols.size());
    std::vector<double> w_perm(w.size()), dw_perm(w.size());
    c.w = w.data(); c.b = b.data(); c.dw = dw.data(); c.db = db.data();
    c.w_perm = w_perm.data(); c.dw_perm = dw_perm.data();
    auto loss = [&] {
      conv_forward<double>(kCpu, c, x.data(), n, cols.data(), y.data());
      return dot(R, y.data());
    };
    loss();
    std::vector<double> dy = R;
    conv_backward<double>(kCpu, c, cols.data(), y.data(), dy.data(), n, dcols.data(), dx.data());
    check_grad("conv dW", w, dw, loss);
    check_grad("conv db", b, db, loss);
    check_grad("conv dx", x, dx, loss);
  }
}

TEST(NnGrad, TwoLayerLstmOverAHorizonFromAGivenState) {
  std::mt19937 rng(3);
  const int layers = 2, in = 5, H = 4, steps = 6, batch = 3;
  std::vector<std::vector<double>> w_ih, w_hh, b_ih, b_hh, dw_ih, dw_hh, db_ih, db_hh;
  for (int l = 0; l < layers; ++l) {
    const int lin = l == 0 ? in : H;
    w_ih.push_back(rnd(4 * H * lin, rng, 0.5));
    w_hh.push_back(rnd(4 * H * H, rng, 0.5));
    b_ih.push_back(rnd(4 * H, rng, 0.5));
    b_hh.push_back(rnd(4 * H, rng, 0.5));
    dw_ih.emplace_back(w_ih.back().size(), 0);
    dw_hh.emplace_back(w_hh.back().size(), 0);
    db_ih.emplace_back(4 * H, 0);
    db_hh.emplace_back(4 * H, 0);
  }
  std::vector<LstmLayerView<double>> views;
  for (int l = 0; l < layers; ++l)
    views.push_back({w_ih[l].data(), w_hh[l].data(), b_ih[l].data(), b_hh[l].data(), dw_ih[l].data(),
                     dw_hh[l].data(), db_ih[l].data(), db_hh[l].data(), l == 0 ? in : H});
  auto x = rnd(steps * batch * in, rng), h0 = rnd(layers * batch * H, rng, 0.5), c0 = rnd(layers * batch * H, rng, 0.5),
       R = rnd(steps * batch * H, rng);
  std::vector<double> y(R.size()), dx(x.size()), hT(h0.size()), cT(c0.size());
  LstmWorkspace<double> ws(kernels::Device::CPU, layers, steps * batch, batch, H, in);
  auto loss = [&] {
    lstm_forward<double>(kCpu, views, H, x.data(), steps, batch, h0.data(), c0.data(), ws, y.data(), hT.data(),
                         cT.data());
    return dot(R, y.data());
  };
  loss();
  lstm_backward<double>(kCpu, views, H, x.data(), steps, batch, R.data(), ws, dx.data());
  for (int l = 0; l < layers; ++l) {
    check_grad("lstm W_ih " + std::to_string(l), w_ih[l], dw_ih[l], loss);
    check_grad("lstm W_hh " + std::to_string(l), w_hh[l], dw_hh[l], loss);
    check_grad("lstm b_ih " + std::to_string(l), b_ih[l], db_ih[l], loss);
    check_grad("lstm b_hh " + std::to_string(l), b_hh[l], db_hh[l], loss);
  }
  check_grad("lstm dx", x, dx, loss);
  // the returned final state equals the last step's top-layer output
  for (int i = 0; i < batch * H; ++i) EXPECT_DOUBLE_EQ(hT[(layers - 1) * batch * H + i], y[(steps - 1) * batch * H + i]);
}

TEST(NnOps, TokensToBoxScattersNormalizesAndLastWins) {
  // two samples; sample 0 has a duplicate (feature 3 at cell (1,2)) and padding; sample 1 is empty
  std::vector<std::uint8_t> obs(2 * 4 * 3, 0xFF);
  const std::uint8_t toks[] = {0x12, 3, 10, 0x00, 0, 5, 0x12, 3, 20};
  std::copy(toks, toks + 9, obs.begin());
  std::vector<float> inv_norm = {1.0f, 1.0f, 1.0f, 0.5f};
  std::vector<float> box(2 * 3 * 3 * 4, -1.0f);
  tokens_to_box<float>(kCpu, obs.data(), 2, 4, 3, 3, 4, inv_norm.data(), box.data());
  auto at = [&](int b, int r, int c, int f) { return box[((b * 3 + r) * 3 + c) * 4 + f]; };
  EXPECT_EQ(at(0, 1, 2, 3), 10.0f);  // 20 * 0.5: the later token wins
  EXPECT_EQ(at(0, 0, 0, 0), 5.0f);
  int nonzero = 0;
  for (float v : box) nonzero += v != 0.0f;
  EXPECT_EQ(nonzero, 2);
}

TEST(NnOps, Col2imIsTheAdjointOfIm2col) {
  std::mt19937 rng(4);
  const int n = 2, h = 7, w = 7, c = 3, k = 3, s = 2, pad = 1;
  const int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  auto x = rnd(n * h * w * c, rng), ycols = rnd(n * oh * ow * c * k * k, rng);
  std::vector<double> cols(ycols.size()), back(x.size());
  im2col<double>(kCpu, x.data(), n, h, w, c, k, s, pad, cols.data());
  col2im<double>(kCpu, ycols.data(), n, h, w, c, k, s, pad, back.data());
  EXPECT_NEAR(dot(ycols, cols.data()), dot(x, back.data()), 1e-9);
}

TEST(NnOps, Im2colPatchOrderAndWeightPermutation) {
  // x [1, 3, 3, 2]: value = 100 y + 10 x + c; a 2x2 kernel at stride 1 -> 4 patches of (ky, kx, c)
  std::vector<double> x(18), cols(4 * 8);
  for (int y = 0; y < 3; ++y)
    for (int xx = 0; xx < 3; ++xx)
      for (int c = 0; c < 2; ++c) x[(y * 3 + xx) * 2 + c] = 100 * y + 10 * xx + c;
  im2col<double>(kCpu, x.data(), 1, 3, 3, 2, 2, 1, 0, cols.data());
  // patch 3 (output pixel (1, 1)): (ky, kx, c) = (1, 0, 1) reads input (2, 1, 1)
  EXPECT_EQ(cols[3 * 8 + (1 * 2 + 0) * 2 + 1], 211.0);
  EXPECT_EQ(cols[0 * 8 + (0 * 2 + 1) * 2 + 0], 10.0);
  // torch weight [out 1, in 2, 2, 2]: w[ci][ky][kx]; permuted [ky][kx][ci]
  std::vector<double> w = {0, 1, 2, 3, 4, 5, 6, 7}, wp(8), dw(8, 1.0);
  permute_conv_weights<double>(kCpu, w.data(), 1, 2, 2, wp.data());
  EXPECT_EQ(wp, (std::vector<double>{0, 4, 1, 5, 2, 6, 3, 7}));
  unpermute_add_conv_grads<double>(kCpu, wp.data(), 1, 2, 2, dw.data());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(dw[i], w[i] + 1.0);
}

TEST(NnOps, LayoutTransposesRoundTrip) {
  std::mt19937 rng(5);
  auto x = rnd(2 * 3 * 4 * 5, rng);
  std::vector<double> y(x.size()), z(x.size());
  nhwc_to_nchw<double>(kCpu, x.data(), 2, 3, 4, 5, y.data());
  EXPECT_EQ(y[((1 * 5 + 2) * 3 + 1) * 4 + 3], x[((1 * 3 + 1) * 4 + 3) * 5 + 2]);
  nchw_to_nhwc<double>(kCpu, y.data(), 2, 3, 4, 5, z.data());
  EXPECT_EQ(z, x);
  transpose01<double>(kCpu, x.data(), 6, 4, 5, y.data());
  EXPECT_EQ(y[(2 * 6 + 5) * 5 + 1], x[(5 * 4 + 2) * 5 + 1]);
}

// The CPU float path runs tanh and the LSTM cell through vectorised expf (nn/vec_math_cpu.h); the double
// path is the plain scalar formula. They must agree to float accuracy, also in the loop tails (widths
// that are not a multiple of 16) and where the activations saturate (no NaN or Inf for large inputs).
TEST(NnOps, VectorisedFloatMathMatchesDoubleFormulas) {
  std::mt19937 rng(13);
  const auto to_f = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto expect_close = [](const std::vector<float>& f, const std::vector<double>& d, double tol,
                               const char* what) {
    ASSERT_EQ(f.size(), d.size());
    double worst = 0;
    for (std::size_t i = 0; i < f.size(); ++i) {
      ASSERT_TRUE(std::isfinite(f[i])) << what << "[" << i << "]";
      worst = std::max(worst, std::abs(f[i] - d[i]));
    }
    EXPECT_LT(worst, tol) << what;
  };
  for (int width : {16, 21, 128}) {
    const std::int64_t rows = 5;
    auto y = rnd(rows * width, rng, 4.0);
    y[0] = 60, y[1] = -60, y[2] = 0;  // saturation and zero
    auto yf = to_f(y);
    std::vector<double> yd(yf.begin(), yf.end());  // the same inputs as the float path sees
    bias_activation<float>(kCpu, yf.data(), nullptr, rows, width, Activation::kTanh);
    bias_activation<double>(kCpu, yd.data(), nullptr, rows, width, Activation::kTanh);
    expect_close(yf, yd, 2e-6, "tanh");

    const int h = width;
    auto gates = rnd(rows * 4 * h, rng, 3.0), b_ih = rnd(4 * h, rng), b_hh = rnd(4 * h, rng);
    auto c_prev = rnd(rows * h, rng, 2.0), dh = rnd(rows * h, rng), dc_next = rnd(rows * h, rng);
    gates[3] = 90, gates[h + 4] = -90;
    auto gf = to_f(gates), bif = to_f(b_ih), bhf = to_f(b_hh), cpf = to_f(c_prev);
    std::vector<double> gd(gf.begin(), gf.end()), bid(bif.begin(), bif.end()), bhd(bhf.begin(), bhf.end()),
        cpd(cpf.begin(), cpf.end());
    std::vector<float> cf(rows * h), hf(rows * h);
    std::vector<double> cd(rows * h), hd(rows * h);
    lstm_cell_forward<float>(kCpu, gf.data(), bif.data(), bhf.data(), cpf.data(), cf.data(), hf.data(), rows, h);
    lstm_cell_forward<double>(kCpu, gd.data(), bid.data(), bhd.data(), cpd.data(), cd.data(), hd.data(), rows, h);
    expect_close(gf, gd, 2e-6, "lstm gates");
    expect_close(cf, cd, 1e-5, "lstm c");
    expect_close(hf, hd, 1e-5, "lstm h");

    for (bool with_next : {true, false}) {
      auto dhf = to_f(dh), dnf = to_f(dc_next);
      std::vector<double> dhd(dhf.begin(), dhf.end()), dnd(dnf.begin(), dnf.end());
      std::vector<float> dgf(rows * 4 * h), dcf(rows * h);
      std::vector<double> dgd(rows * 4 * h), dcd(rows * h);
      // The backward reads the forward's activated gates and states (float's, for both precisions).
      const std::vector<double> g_act(gf.begin(), gf.end()), c_act(cf.begin(), cf.end());
      lstm_cell_backward<float>(kCpu, gf.data(), cpf.data(), cf.data(), dhf.data(), with_next ? dnf.data() : nullptr,
                                dgf.data(), dcf.data(), rows, h);
      lstm_cell_backward<double>(kCpu, g_act.data(), cpd.data(), c_act.data(), dhd.data(),
                                 with_next ? dnd.data() : nullptr, dgd.data(), dcd.data(), rows, h);
      expect_close(dgf, dgd, 1e-5, with_next ? "lstm dgates" : "lstm dgates (no dc_next)");
      expect_close(dcf, dcd, 1e-5, with_next ? "lstm dc_prev" : "lstm dc_prev (no dc_next)");
    }
  }
  // The clamps against libmvec's slow path: exact +-1 beyond them, and a NaN still comes out as NaN (the
  // trainer's non-finite guard relies on it).
  std::vector<float> edge = {14.0f, 15.0f, 16.0f, 44.0f, 100.0f, -16.0f, -100.0f, std::nanf(""), 0.5f, -0.5f,
                             1e30f, -1e30f, 7.0f, -7.0f, 9.0f, 10.0f};
  bias_activation<float>(kCpu, edge.data(), nullptr, 1, static_cast<int>(edge.size()), Activation::kTanh);
  for (int i : {1, 2, 3, 4, 10}) EXPECT_EQ(edge[i], 1.0f) << i;
  for (int i : {5, 6, 11}) EXPECT_EQ(edge[i], -1.0f) << i;
  EXPECT_TRUE(std::isnan(edge[7]));
  EXPECT_NEAR(edge[8], std::tanh(0.5), 1e-7);
}
