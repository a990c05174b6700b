// Experience-buffer kernels (trainer.md §10, decision D4): the buffer holds [S, H] cells, S = k x agents,
// agent g's j-th segment of a rollout is row j * agents + g. A rollout step writes column t of the rows
// of segment j for every agent at once; training gathers minibatch rows into contiguous arrays and writes
// the new values and importance ratios back. All on the device; the host passes pointers and sizes.
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace metta::kernels {

struct ExperienceView {
  std::int64_t segments;   // S
  int horizon;             // H
  int obs_bytes;           // tokens * 3
  int state_size;          // LSTM layers * hidden (per row, for h and for c)
  std::uint8_t* obs;       // [S, H, obs_bytes]
  std::int32_t* actions;   // [S, H, 2]
  float* logp;             // [S, H]
  float* values;           // [S, H]
  float* rewards;          // [S, H]
  std::uint8_t* terminals; // [S, H]
  std::uint8_t* truncations; // [S, H]
  float* ratio;            // [S, H]
  float* h0;               // [S, state_size] LSTM h at segment start
  float* c0;               // [S, state_size]
};

// Column t of rows first_row .. first_row + n - 1 from the step's per-agent arrays; at t == 0 also the
// LSTM state (h, c given as [layers, n, hidden]; stored per row as [layers * hidden]).
void experience_store(const Context& ctx, const ExperienceView& x, std::int64_t first_row, std::int64_t n, int t,
                      const std::uint8_t* obs, const std::int32_t* actions, const float* logp, const float* values,
                      const float* rewards, const std::uint8_t* terminals, const std::uint8_t* truncations,
                      const float* h, const float* c, int layers, int hidden);

// Gathers rows[k] into contiguous minibatch arrays ([k, H, ...]); the state into [layers, k, hidden].
void experience_gather(const Context& ctx, const ExperienceView& x, const std::int32_t* rows, std::int64_t k,
                       std::uint8_t* obs, std::int32_t* actions, float* old_logp, float* old_values, float* returns,
                       const float* all_returns, float* h0, float* c0, int layers, int hidden);

// ratio[i] = exp(new_logp[i] - old_logp[i]) over n elements.
void importance_ratio(const Context& ctx, const float* new_logp, const float* old_logp, std::int64_t n, float* ratio);
// Writes minibatch values and ratios ([k, H]) back into the buffer rows.
void experience_scatter(const Context& ctx, const ExperienceView& x, const std::int32_t* rows, std::int64_t k,
                        const float* values, const float* ratio);
// out[i] = a[i] + b[i]
void add_arrays(const Context& ctx, const float* a, const float* b, std::int64_t n, float* out);
// out[i] = value
void fill_floats(const Context& ctx, float* out, std::int64_t n, float value);
// counter[0] += by on the device: what a recorded CUDA graph advances per replay (the rollout's action
// sampling counter) lives in device memory, since a replay repeats its kernels' arguments.
void advance_counter(const Context& ctx, std::uint32_t* counter, std::uint32_t by);
// terms [4, n]: y, y^2, y - v, (y - v)^2 with y = returns, v = values (explained variance by sums)
void explained_variance_terms(const Context& ctx, const float* returns, const float* values, std::int64_t n,
                              float* terms);
// The experience/ metrics' terms (trainer.md §16) over the buffer's n = S x H cells, as rows of
// terms [kExperienceTerms, n]: reward, value, logp, terminal, truncation, ratio, and over each cell's two
// action ints their sum and sum of squares (actions_mean and actions_std over every action int, as the
// reference takes them over its [B, 2] action tensor). One segmented sum then gives the epoch's sums.
enum ExperienceTerm {
  kExpReward, kExpValue, kExpLogp, kExpTerminal, kExpTruncation, kExpRatio, kExpActionSum, kExpActionSquares,
  kExperienceTerms
};
void experience_stat_terms(const Context& ctx, const ExperienceView& x, float* terms);
// stats[i] += add[i] for n scalars (device-side accumulation of per-minibatch statistics)
void accumulate(const Context& ctx, float* stats, const float* add, int n);
// x[i] *= factor (gradients averaged over the ranks of a data-parallel run)
void scale(const Context& ctx, float* x, std::int64_t n, float factor);

}  // namespace metta::kernels
