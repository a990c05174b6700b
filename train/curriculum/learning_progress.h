// Bidirectional learning progress over N tasks (trainer.md §15): each task's outcomes in [0, 1] feed a
// fast and a slow moving average of its normalised success rate; tasks whose averages differ most (the
// ones being learned or forgotten) get the most probability. Host-side and small: it runs between
// epochs on the scores of finished episodes, never per step. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/config_fields.h"

namespace metta::train::curriculum {

struct LearningProgressConfig {
  double ema_timescale = 0.001;     // α of the moving averages
  double progress_smoothing = 0.05;  // s of the reweighting ρ(p) = p(1 − s) / (p + s(1 − 2p))
  int num_active_tasks = 16;        // tasks drawn after each update; only they move the averages
  double rand_task_rate = 0.25;     // an active slot drawn uniformly instead of from the distribution
  int sample_threshold = 10;        // new outcomes of some active task before the next update
  int memory = 25;                  // outcomes kept per task after an update
};

template <class V>
void visit_fields(LearningProgressConfig& c, V& v) {
  using engine::field;
  using engine::number_in;
  v(field("ema_timescale", c.ema_timescale).range(1e-12, 1, number_in(1e-12, 1)));
  v(field("progress_smoothing", c.progress_smoothing).range(0, 0.499, number_in(0, 0.499)));
  v(field("num_active_tasks", c.num_active_tasks).range(1, 1 << 20, engine::integer_in(1, 1 << 20)));
  v(field("rand_task_rate", c.rand_task_rate).range(0, 1, number_in(0, 1)));
  v(field("sample_threshold", c.sample_threshold).range(1, 1 << 20, engine::integer_in(1, 1 << 20)));
  v(field("memory", c.memory).range(1, 1 << 20, engine::integer_in(1, 1 << 20)));
}

// A uniform double in [0, 1) from 53 bits of the stream: the same draws on every machine (curricula
// draw with it, never with std:: distributions, whose results differ between standard libraries).
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

class LearningProgress {
 public:
  LearningProgress(int num_tasks, const LearningProgressConfig& config, std::uint64_t seed);

  // One outcome of `task`, clipped to [0, 1] by the caller.
  void collect(int task, double outcome);
  // The task distribution: recomputed (and the active tasks redrawn) once some active task has
  // sample_threshold new outcomes, or on the first call; otherwise the last one.
  const std::vector<double>& distribution();

  // For stats and tests.
  const std::vector<double>& p_fast() const { return p_fast_; }
  const std::vector<double>& p_slow() const { return p_slow_; }
  const std::vector<double>& p_true() const { return p_true_; }
  const std::vector<int>& active_tasks() const { return active_; }
  const std::vector<double>& success_rates() const { return rates_; }
  int num_tasks() const { return n_; }

  // Everything that decides its future (outcomes, averages, active tasks, the draw stream), as text that
  // load_state reads back exactly: a resumed run continues as if never stopped.
  std::string save_state() const;
  void load_state(const std::string& state);

 private:
  void update();
  void compute_distribution();
  void draw_active_tasks();

  int n_;
  LearningProgressConfig cfg_;
  std::mt19937_64 rng_;
  std::vector<std::vector<double>> outcomes_;
  std::vector<double> p_fast_, p_slow_, p_true_, baseline_;  // empty until the first update
  std::vector<double> rates_;                                // mean outcome per task at the last update
  std::vector<bool> update_mask_;
  std::vector<int> active_;
  std::vector<int> new_outcomes_;  // per task: outcomes since it was last drawn active (-1: not active)
  std::vector<double> dist_;
};

}  // namespace metta::train::curriculum
