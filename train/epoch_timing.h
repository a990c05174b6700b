// Where a training epoch's time goes: host wall time per part of the epoch (the rollout's policy
// forward, sampling, experience store and env step, the stats readout, the advantage, the minibatch
// gather, the training forward, the loss, the backward and the optimizer), measured around each part's
// calls. On the CPU the kernels run in the calling threads, so each part's figure is its own work; on
// CUDA kernels are asynchronous, so the trainer times parts only when asked (Trainer::set_part_timing),
// synchronizing after each part (which itself costs speed). Logged as timing_per_epoch/{msec,frac}/<part>
// and timing_cumulative/msec/<part> (trainer.md §16), printed by `metta bench --breakdown`.
#pragma once

#include <array>
#include <chrono>

namespace metta::train {

enum class EpochPart : int {
  kPolicyForward,    // rollout: the policy up to its logits
  kSampling,         // rollout: actions drawn from the logits, their log-probabilities
  kExperienceStore,  // rollout: the step written into the experience buffer
  kEnvStep,          // rollout: the env step (actions, rewards, observations, resets, stat counters)
  kRolloutRecorded,  // trainer.rollout_graph: the whole recorded rollout (its parts are not split)
  kStatsReadout,     // completed episodes and their statistics, read once per rollout
  kCurriculum,       // the curriculum fed the episodes, new task probabilities (curricula only)
  kAdvantage,        // full-buffer advantage, returns and the sampler's priorities
  kMinibatchGather,  // prioritized sample and the gather of its segments
  kTrainForward,     // the training forward over the horizon, ratio and advantage with the new ratio
  kLoss,             // the PPO loss and its gradients (and kickstarter terms with teachers)
  kBackward,         // the policy's backward pass
  kOptimizer,        // gradient all-reduce (ranks), norm and clipping, the optimizer step, write-back
  kUpdateRecorded,   // trainer.update_graph: a whole recorded minibatch update
  kEpochStats,       // explained variance and the epoch's statistics readout
  kCount
};

inline constexpr std::array<const char*, static_cast<int>(EpochPart::kCount)> kEpochPartNames = {
    "rollout.policy_forward", "rollout.sampling",  "rollout.experience_store", "rollout.env_step",
    "rollout.recorded",       "rollout.stats",     "rollout.curriculum",       "train.advantage",
    "train.minibatch_gather", "train.forward",     "train.loss",               "train.backward",
    "train.optimizer",        "train.recorded",    "train.epoch_stats"};

// Seconds per part.
struct EpochTiming {
  std::array<double, static_cast<int>(EpochPart::kCount)> seconds{};
  double& operator[](EpochPart p) { return seconds[static_cast<int>(p)]; }
  double operator[](EpochPart p) const { return seconds[static_cast<int>(p)]; }
  double total() const {
    double s = 0;
    for (double x : seconds) s += x;
    return s;
  }
  EpochTiming& operator+=(const EpochTiming& o) {
    for (std::size_t i = 0; i < seconds.size(); ++i) seconds[i] += o.seconds[i];
    return *this;
  }
};

// A lap clock: lap(part) adds the time since the previous lap (or start) to that part. Off, it does
// nothing; `sync` runs before each reading (the trainer passes its context's synchronize on CUDA).
template <class Sync>
class PartClock {
 public:
  PartClock(EpochTiming* timing, Sync sync) : timing_(timing), sync_(sync) {
    if (timing_) last_ = std::chrono::steady_clock::now();
  }
  void lap(EpochPart part) {
    if (!timing_) return;
    sync_();
    const auto now = std::chrono::steady_clock::now();
    (*timing_)[part] += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  EpochTiming* timing_;
  Sync sync_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace metta::train
