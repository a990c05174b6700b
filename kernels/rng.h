// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11). A draw is a pure function of a
// 64-bit seed and a 128-bit counter, so any element on any backend and any thread layout gets the same
// number, and one environment can be replayed alone. The engine forms the counter from
// (env, episode, step, purpose << 24 | index); see `RngPurpose`.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace metta::kernels {

struct U32x4 {
  std::uint32_t v[4];
};

METTA_HD inline void mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

METTA_HD inline U32x4 philox4x32_10(U32x4 ctr, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(kM0, ctr.v[0], hi0, lo0);
    mulhilo32(kM1, ctr.v[2], hi1, lo1);
    U32x4 next{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    ctr = next;
    k0 += kW0;
    k1 += kW1;
  }
  return ctr;
}

// What a draw is for; part of the counter so streams of different purposes never overlap.
enum class RngPurpose : std::uint32_t {
  kAgentOrder = 1,    // per-step agent shuffle
  kMapLayout = 2,     // room shuffles at reset
  kEpisodeLength = 3, // first-episode max_steps randomization
  kRandomAction = 4,  // random actions (benchmarks, sim command)
  kPolicySample = 5,  // actions sampled from the policy
  kInit = 6,          // parameter initialization
  kTaskDraw = 7,      // an env's task at reset (curricula)
  kUser = 16,         // minibatch sampling, and the first id free for later layers
};

// Four random words for (seed; a, b, c, purpose, index). index < 2^24.
METTA_HD inline U32x4 rng_draw(std::uint64_t seed, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                               RngPurpose purpose, std::uint32_t index) {
  U32x4 ctr{{a, b, c, (static_cast<std::uint32_t>(purpose) << 24) | (index & 0xFFFFFFu)}};
  return philox4x32_10(ctr, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

// Integer in [0, n) from one 32-bit word (multiply-shift; bias below n / 2^32, irrelevant for n < 2^16).
METTA_HD inline std::uint32_t uniform_below(std::uint32_t word, std::uint32_t n) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(word) * n) >> 32);
}

// Float in [0, 1) with 24 random bits.
METTA_HD inline float uniform_unit(std::uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }

}  // namespace metta::kernels
