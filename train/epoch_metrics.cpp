#include "train/epoch_metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "engine/stats_keys.h"
#include "kernels/memory.h"

namespace metta::train {
namespace {

// The process's resident set in bytes (/proc/self/statm), 0 where it cannot be read.
double resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long pages = 0, resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return got == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0.0;
}

constexpr double kMb = 1024.0 * 1024.0;

}  // namespace

std::string progress_stat_of(const engine::EnvConfig& env) {
  std::string best;
  float best_reward = 0;
  for (const engine::GroupConfig& g : env.groups)
    for (const auto& [item, reward] : g.props.rewards)
      if (reward > best_reward) {
        best_reward = reward;
        best = item;
      }
  return best.empty() ? "" : best + ".gained";
}

std::map<std::string, double> EpochMetrics::line(Trainer& t, const EpochStats& st, const engine::CompletedEpisodes& done,
                                                 double elapsed) {
  std::map<std::string, double> m;
  m["metric/agent_step"] = static_cast<double>(st.agent_step);
  m["metric/epoch"] = static_cast<double>(st.epoch);
  m["metric/total_time"] = elapsed;
  m["metric/train_time"] = t.train_time();
  m["overview/sps"] = st.sps;
  m["overview/reward"] = st.mean_episode_reward;
  m["env/episodes"] = st.episodes;
  for (int k : {kernels::kPpoPolicyLoss, kernels::kPpoValueLoss, kernels::kPpoEntropy, kernels::kPpoApproxKl,
                kernels::kPpoClipFrac, kernels::kPpoImportance, kernels::kPpoLogpMean})
    m[std::string("losses/") + kernels::kPpoStatNames[k]] = st.losses[k];
  m["losses/explained_variance"] = st.explained_variance;
  m["losses/grad_norm"] = st.grad_norm;
  if (st.l2_reg_loss != 0) m["losses/l2_reg_loss"] = st.l2_reg_loss;
  if (st.l2_init_loss != 0) m["losses/l2_init_loss"] = st.l2_init_loss;
  if (st.ks_action_loss != 0 || st.ks_value_loss != 0) {
    m["losses/ks_action_loss"] = st.ks_action_loss;
    m["losses/ks_value_loss"] = st.ks_value_loss;
  }
  if (st.has_grad_stats) {
    m["grad/mean"] = st.grad_mean;
    m["grad/variance"] = st.grad_variance;
    m["grad/norm"] = st.grad_l2_norm;
  }
  m["parameters/learning_rate"] = t.current_learning_rate();
  m["parameters/generation"] = static_cast<double>(t.generation());
  m["parameters/epoch_steps"] = static_cast<double>(t.batch_size());
  m["parameters/num_minibatches"] = static_cast<double>(t.num_minibatches());
  m["parameters/latest_saved_policy_epoch"] = static_cast<double>(t.latest_saved_epoch());

  const ExperienceStats& x = st.experience;
  m["experience/rewards"] = x.rewards;
  m["experience/values"] = x.values;
  m["experience/logprobs"] = x.logprobs;
  m["experience/dones"] = x.dones;
  m["experience/truncateds"] = x.truncateds;
  m["experience/ratio"] = x.ratio;
  m["experience/ep_lengths"] = done.mean_length;  // of the episodes the rollout completed
  m["experience/actions_mean"] = x.actions_mean;
  m["experience/actions_std"] = x.actions_std;

  // the game's statistics: what is being learned (trainer.md §16: info key agent/<k> -> env_agent/<k>)
  if (!options_.progress_stat.empty()) m["env_agent/" + options_.progress_stat] = 0;  // charted from epoch 1
  for (const auto& [family, stats] : {std::pair{"env_agent/", &done.agent}, {"env_game/", &done.game}})
    for (const auto& [k, v] : *stats)
      if (options_.derived_env_stats || !engine::is_derived_stat_key(k)) m[family + k] = v;

  // where the epoch's time went
  const double epoch_s = std::max(1e-9, st.rollout_seconds + st.train_seconds);
  cumulative_rollout_ += st.rollout_seconds;
  cumulative_train_ += st.train_seconds;
  cumulative_parts_ += st.timing;
  cumulative_steps_ += t.batch_size();
  const double total_s = std::max(1e-9, cumulative_rollout_ + cumulative_train_);
  auto add_op = [&](const std::string& op, double seconds, double cumulative) {
    m["timing_per_epoch/msec/" + op] = seconds * 1e3;
    m["timing_per_epoch/frac/" + op] = seconds / epoch_s;
    m["timing_cumulative/msec/" + op] = cumulative * 1e3;
    m["timing_cumulative/frac/" + op] = cumulative / total_s;
  };
  add_op("rollout", st.rollout_seconds, cumulative_rollout_);
  add_op("train", st.train_seconds, cumulative_train_);
  if (t.part_timing())
    for (int p = 0; p < static_cast<int>(EpochPart::kCount); ++p)
      if (cumulative_parts_.seconds[p] > 0)
        add_op(kEpochPartNames[p], st.timing.seconds[p], cumulative_parts_.seconds[p]);
  m["timing_per_epoch/sps"] = static_cast<double>(t.batch_size()) / epoch_s;
  m["timing_cumulative/sps"] = static_cast<double>(cumulative_steps_) / total_s;

  const Trainer::MemoryBytes mem = t.memory_bytes();
  m["trainer_memory/experience_mb"] = mem.experience / kMb;
  m["trainer_memory/minibatch_mb"] = mem.minibatch / kMb;
  m["trainer_memory/optimizer_mb"] = mem.optimizer / kMb;
  m["trainer_memory/parameters_mb"] = mem.parameters / kMb;
  m["trainer_memory/device_live_mb"] = static_cast<double>(kernels::live_bytes(t.policy().context().device)) / kMb;
  m["trainer_memory/host_resident_mb"] = resident_bytes() / kMb;
  m["model/total_parameters"] = static_cast<double>(t.policy().num_params());
  return m;
}

}  // namespace metta::train
