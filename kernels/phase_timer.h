// Time per phase of a repeated sequence of launches (the simulator's step: actions, resets, step,
// observations) without a profiler. On CUDA, events recorded on the context's stream between phases
// give device time; on the CPU the clock read after each phase (the CPU backend has finished a launch
// when it returns). One synchronisation per round, so measure in a pass of its own, not while timing
// throughput.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kernels/device.h"

namespace metta::kernels {

class PhaseTimer {
 public:
  PhaseTimer(const Context& ctx, std::vector<std::string> phase_names);
  ~PhaseTimer();
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

  void begin_round();             // marks the start of a round
  void end_phase(int phase);      // the time since the previous mark is this phase's (once per round)
  void end_round();               // waits for the round's work and adds up its phases
  double seconds(int phase) const { return seconds_[phase]; }  // summed over the rounds
  int rounds() const { return rounds_; }
  const std::vector<std::string>& names() const { return names_; }
  int phase_of(const std::string& name) const;  // index of a name; throws when unknown

 private:
  Context ctx_;
  std::vector<std::string> names_;
  std::vector<double> seconds_;
  std::vector<int> order_;                // phases in the order of this round's marks
  std::vector<void*> events_;             // CUDA: one per mark, the round's start first
  std::vector<std::chrono::steady_clock::time_point> times_;  // CPU: the same
  int rounds_ = 0;
};

}  // namespace metta::kernels
