// The metrics line of one training epoch, under trainer.md §16's names: what train::Run writes to
// metrics.jsonl and TensorBoard, and what the documented API's TrainingComponents::stats() returns.
// Families: metric/, overview/, losses/, grad/ (when computed), parameters/, experience/ (means over the
// epoch's buffer), env_agent/<key> and env_game/<key> (per completed episode, agent keys averaged over
// agents, with the derived entries .updates, .rate, ... unless only base keys are asked for),
// timing_per_epoch/{msec,frac}/<op> and timing_per_epoch/sps, timing_cumulative/{msec,frac}/<op> and
// timing_cumulative/sps (the ops: rollout, train, and each part of train/epoch_timing.h when part
// timing is on), trainer_memory/*_mb, model/total_parameters. Everything comes from the few scalars the
// trainer and the env already read per epoch; nothing here touches the device.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/batched_env.h"
#include "train/trainer.h"

namespace metta::train {

// "<item>.gained" of the item the env's agents are rewarded most for ("heart.gained" in the mettagrid
// envs): the one stat the progress line shows, logged as env_agent/<it> from the first epoch (0 until
// some agent gains one). Empty when no item is rewarded.
std::string progress_stat_of(const engine::EnvConfig& env);

struct EpochMetricsOptions {
  bool derived_env_stats = true;  // false: env_agent/ and env_game/ without the derived entries
  std::string progress_stat;      // progress_stat_of the training env (or empty)
};

class EpochMetrics {
 public:
  explicit EpochMetrics(EpochMetricsOptions options = {}) : options_(std::move(options)) {}
  // The line of the epoch `st` (as Trainer::finish_training and the caller filled it) over the episodes
  // `done` its rollout completed; elapsed: seconds since the run (this process) started. Adds the
  // epoch to the cumulative timing.
  std::map<std::string, double> line(Trainer& trainer, const EpochStats& st, const engine::CompletedEpisodes& done,
                                     double elapsed);
  const EpochMetricsOptions& options() const { return options_; }

 private:
  EpochMetricsOptions options_;
  EpochTiming cumulative_parts_;
  double cumulative_rollout_ = 0, cumulative_train_ = 0;
  std::int64_t cumulative_steps_ = 0;
};

}  // namespace metta::train
