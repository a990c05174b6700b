#include "train/curriculum/learning_progress.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kernels/common.h"

namespace metta::train::curriculum {
namespace {

constexpr double kBaselineCap = 0.75;  // a task's baseline is its first success rate, at most this


// Index drawn from weights that sum to `total` (> 0).
int draw(const std::vector<double>& weights, double total, double u) {
  double acc = 0;
  const double target = u * total;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    acc += weights[i];
    if (target < acc) return static_cast<int>(i);
  }
  for (std::size_t i = weights.size(); i-- > 0;)
    if (weights[i] > 0) return static_cast<int>(i);  // rounding at the top end
  return 0;
}

}  // namespace

LearningProgress::LearningProgress(int num_tasks, const LearningProgressConfig& config, std::uint64_t seed)
    : n_(num_tasks), cfg_(config), rng_(seed), outcomes_(static_cast<std::size_t>(num_tasks)),
      rates_(static_cast<std::size_t>(num_tasks), 0.0), update_mask_(static_cast<std::size_t>(num_tasks), true),
      new_outcomes_(static_cast<std::size_t>(num_tasks), 0) {
  METTA_CHECK(num_tasks >= 1, "LearningProgress: " << num_tasks << " tasks, expected at least 1");
  for (int i = 0; i < n_; ++i) active_.push_back(i);
}

void LearningProgress::collect(int task, double outcome) {
  METTA_CHECK(task >= 0 && task < n_, "LearningProgress: task " << task << " of " << n_);
  outcomes_[static_cast<std::size_t>(task)].push_back(outcome);
  if (new_outcomes_[static_cast<std::size_t>(task)] >= 0) ++new_outcomes_[static_cast<std::size_t>(task)];
}

const std::vector<double>& LearningProgress::distribution() {
  bool ready = baseline_.empty();
  for (int c : new_outcomes_) ready = ready || c >= cfg_.sample_threshold;
  if (!ready) {
    if (dist_.empty()) dist_.assign(static_cast<std::size_t>(n_), 1.0 / n_);
    return dist_;
  }
  update();
  compute_distribution();
  draw_active_tasks();
  return dist_;
}

void LearningProgress::update() {
  for (int i = 0; i < n_; ++i) {
    const auto& o = outcomes_[static_cast<std::size_t>(i)];
    double sum = 0;
    for (double x : o) sum += x;
    rates_[static_cast<std::size_t>(i)] = o.empty() ? 0.0 : sum / static_cast<double>(o.size());
  }
  if (baseline_.empty()) {
    baseline_.resize(static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i) baseline_[static_cast<std::size_t>(i)] = std::min(rates_[static_cast<std::size_t>(i)], kBaselineCap);
  }
  const bool first = p_fast_.empty();
  if (first) p_fast_.assign(static_cast<std::size_t>(n_), 0.0), p_slow_ = p_fast_, p_true_ = p_fast_;
  const double a = cfg_.ema_timescale;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i) {
    if (!update_mask_[i]) continue;
    const double denom = 1.0 - baseline_[i] <= 0 ? 1.0 : 1.0 - baseline_[i];
    const double x = std::max(rates_[i] - baseline_[i], 0.0) / denom;
    if (first) {
      p_fast_[i] = p_slow_[i] = x;
      p_true_[i] = rates_[i];
    } else {
      p_fast_[i] = a * x + (1 - a) * p_fast_[i];
      p_slow_[i] = a * p_fast_[i] + (1 - a) * p_slow_[i];  // the new p_fast
      p_true_[i] = a * rates_[i] + (1 - a) * p_true_[i];
    }
  }
}

void LearningProgress::compute_distribution() {
  const double s = cfg_.progress_smoothing;
  const auto rho = [s](double p) {
    const double d = p + s * (1.0 - 2.0 * p);
    return p * (1.0 - s) / (d <= 0 ? 1.0 : d);
  };
  std::vector<double> lp(static_cast<std::size_t>(n_));
  std::vector<std::size_t> pos;
  for (std::size_t i = 0; i < lp.size(); ++i) {
    lp[i] = std::fabs(rho(p_fast_[i]) - rho(p_slow_[i]));
    if (lp[i] > 0 || p_true_[i] > 0) pos.push_back(i);
  }
  const bool any = !pos.empty();
  if (!any)
    for (std::size_t i = 0; i < lp.size(); ++i) pos.push_back(i);
  // z-score (population deviation) of the chosen tasks' progress, a sigmoid, normalised to sum 1
  double mean = 0;
  for (std::size_t i : pos) mean += lp[i];
  mean /= static_cast<double>(pos.size());
  double var = 0;
  for (std::size_t i : pos) var += (lp[i] - mean) * (lp[i] - mean);
  const double sd = std::sqrt(var / static_cast<double>(pos.size()));
  std::vector<double> sub;
  double total = 0;
  for (std::size_t i : pos) {
    const double z = sd > 0 ? (lp[i] - mean) / sd : lp[i] - mean;
    sub.push_back(1.0 / (1.0 + std::exp(-z)));
    total += sub.back();
  }
  dist_.assign(static_cast<std::size_t>(n_), 0.0);
  for (std::size_t k = 0; k < pos.size(); ++k)
    dist_[pos[k]] = total > 0 ? sub[k] / total : 1.0 / static_cast<double>(pos.size());
  for (auto& o : outcomes_)
    if (o.size() > static_cast<std::size_t>(cfg_.memory)) o.erase(o.begin(), o.end() - cfg_.memory);
}

std::string LearningProgress::save_state() const {
  std::ostringstream rng;
  rng << rng_;
  std::vector<int> mask(update_mask_.begin(), update_mask_.end());
  const nlohmann::json j = {{"n", n_},          {"rng", rng.str()},       {"outcomes", outcomes_},
                            {"p_fast", p_fast_}, {"p_slow", p_slow_},     {"p_true", p_true_},
                            {"baseline", baseline_}, {"rates", rates_},   {"update_mask", mask},
                            {"active", active_}, {"new_outcomes", new_outcomes_}, {"dist", dist_}};
  return j.dump();  // doubles print with enough digits to read back exactly
}

void LearningProgress::load_state(const std::string& state) {
  const nlohmann::json j = nlohmann::json::parse(state);
  METTA_CHECK(j.at("n").get<int>() == n_, "learning progress state: " << j.at("n").get<int>() << " tasks, expected " << n_);
  std::istringstream rng(j.at("rng").get<std::string>());
  rng >> rng_;
  METTA_CHECK(!rng.fail(), "learning progress state: a bad random-stream state");
  outcomes_ = j.at("outcomes").get<std::vector<std::vector<double>>>();
  p_fast_ = j.at("p_fast").get<std::vector<double>>();
  p_slow_ = j.at("p_slow").get<std::vector<double>>();
  p_true_ = j.at("p_true").get<std::vector<double>>();
  baseline_ = j.at("baseline").get<std::vector<double>>();
  rates_ = j.at("rates").get<std::vector<double>>();
  const std::vector<int> mask = j.at("update_mask").get<std::vector<int>>();
  update_mask_.assign(mask.begin(), mask.end());
  active_ = j.at("active").get<std::vector<int>>();
  new_outcomes_ = j.at("new_outcomes").get<std::vector<int>>();
  dist_ = j.at("dist").get<std::vector<double>>();
  METTA_CHECK(outcomes_.size() == static_cast<std::size_t>(n_) && update_mask_.size() == static_cast<std::size_t>(n_) &&
                  new_outcomes_.size() == static_cast<std::size_t>(n_),
              "learning progress state: sizes do not match " << n_ << " tasks");
}

void LearningProgress::draw_active_tasks() {
  double total = 0;
  for (double p : dist_) total += p;
  std::fill(update_mask_.begin(), update_mask_.end(), false);
  std::fill(new_outcomes_.begin(), new_outcomes_.end(), -1);
  active_.clear();
  for (int k = 0; k < cfg_.num_active_tasks; ++k) {
    const double u = uniform01(rng_);
    int task;
    if (u < cfg_.rand_task_rate || total <= 0) {
      task = std::min(n_ - 1, static_cast<int>(uniform01(rng_) * n_));
    } else {
      task = draw(dist_, total, uniform01(rng_));
    }
    active_.push_back(task);
    update_mask_[static_cast<std::size_t>(task)] = true;
    new_outcomes_[static_cast<std::size_t>(task)] = 0;
  }
}

}  // namespace metta::train::curriculum
