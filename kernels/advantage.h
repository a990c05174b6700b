// Generalized advantage estimation with V-trace clipping ("puff advantage", trainer.md §8), per segment
// row of length H, no bootstrap across the row end (A[H-1] = 0):
//   m_t = 1 - done[t+1];  rho_t = min(ratio_t, rho_clip);  c_t = min(ratio_t, c_clip)
//   delta_t = rho_t (r[t+1] + gamma V[t+1] m_t - V[t]);  A[t] = delta_t + gamma lambda c_t m_t A[t+1]
// done = terminal OR truncation. Reads values, rewards, dones and truncations of buffer rows
// `rows[i]` (all rows in order when rows is null) and ratio[i, t] (1 when null); writes adv[i, t].
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace metta::kernels {

// Values come from the trainer's config (train::advantage_params), which holds their one default.
struct AdvantageParams {
  float gamma, lambda, rho_clip, c_clip;
};

struct AdvantageArgs {
  const float* values;            // [S, H] buffer
  const float* rewards;           // [S, H]
  const std::uint8_t* terminals;  // [S, H]
  const std::uint8_t* truncations;// [S, H]
  const float* ratio;             // [n_rows, H] or null (= 1)
  const std::int32_t* rows;       // [n_rows] buffer rows, or null (= 0 .. n_rows-1)
  std::int64_t n_rows;
  int horizon;
  float* adv;                     // [n_rows, H] out
};

void compute_advantage(const Context& ctx, const AdvantageArgs& args, const AdvantageParams& params);

// Naive reference on host pointers (tests).
void compute_advantage_reference(const AdvantageArgs& args, const AdvantageParams& params);

METTA_HD inline void advantage_row(const AdvantageArgs& a, const AdvantageParams& p, std::int64_t i) {
  const int H = a.horizon;
  const std::int64_t row = a.rows ? a.rows[i] : i;
  const float* v = a.values + row * H;
  const float* r = a.rewards + row * H;
  const std::uint8_t* term = a.terminals + row * H;
  const std::uint8_t* trunc = a.truncations + row * H;
  float* out = a.adv + i * H;
  out[H - 1] = 0.0f;
  float g = 0.0f;
  for (int t = H - 2; t >= 0; --t) {
    const float mask = (term[t + 1] | trunc[t + 1]) ? 0.0f : 1.0f;
    const float ratio = a.ratio ? a.ratio[i * H + t] : 1.0f;
    const float rho = ratio < p.rho_clip ? ratio : p.rho_clip;
    const float c = ratio < p.c_clip ? ratio : p.c_clip;
    const float delta = rho * (r[t + 1] + p.gamma * v[t + 1] * mask - v[t]);
    g = delta + p.gamma * p.lambda * c * g * mask;
    out[t] = g;
  }
}

}  // namespace metta::kernels
