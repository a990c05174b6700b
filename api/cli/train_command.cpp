// `metta train [--config FILE] [key=value ...]`: the training job of configs/trainer/train.yaml with
// Hydra-style overrides, run through the documented API loop (metta::api::TrainingComponents, the same
// calls as examples/run.cpp). Writes run_dir/config.yaml (resolved), run_dir/metrics.jsonl (one line per
// epoch), TensorBoard events in run_dir, and checkpoints in run_dir/checkpoints, and resumes from them when present.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/cli/commands.h"
#include "api/config/train_job.h"
#include "api/logging/tensorboard.h"
#include "api/metta_api.h"

namespace metta::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
};

nlohmann::json metrics_line(const train::EpochStats& st, double sps, double elapsed) {
  nlohmann::json j;
  j["metric/agent_step"] = st.agent_step;
  j["metric/epoch"] = st.epoch;
  j["metric/total_time"] = elapsed;
  j["overview/sps"] = sps;
  j["overview/reward"] = st.mean_episode_reward;
  j["env/episodes"] = st.episodes;
  j["losses/policy_loss"] = st.losses[kernels::kPpoPolicyLoss];
  j["losses/value_loss"] = st.losses[kernels::kPpoValueLoss];
  j["losses/entropy"] = st.losses[kernels::kPpoEntropy];
  j["losses/approx_kl"] = st.losses[kernels::kPpoApproxKl];
  j["losses/clipfrac"] = st.losses[kernels::kPpoClipFrac];
  j["losses/importance"] = st.losses[kernels::kPpoImportance];
  j["losses/current_logprobs"] = st.losses[kernels::kPpoLogpMean];
  j["losses/explained_variance"] = st.explained_variance;
  j["losses/grad_norm"] = st.grad_norm;
  return j;
}

int run_train(const TrainOptions& o) {
  const config::TrainJob job = config::load_train_job(o.config, o.overrides);
  namespace fs = std::filesystem;
  fs::create_directories(job.run_dir);
  {
    YAML::Emitter em;
    em << job.resolved;
    checkpoint::write_file_atomic(job.run_dir + "/config.yaml", std::string(em.c_str()) + "\n");
  }
  const std::string ckpt_dir = job.run_dir + "/checkpoints";
  api::Environment env(job.env, job.num_envs, job.trainer.num_workers, 0, job.device);
  api::Agent agent(env, api::AgentConfig{job.agent}, job.device, job.seed);
  api::PolicyStore store(ckpt_dir);
  api::TrainingComponents training = api::TrainingComponents::create(env, agent, job.trainer, &store);
  std::printf("train: run %s (%s), env %s, %s\n", job.run.c_str(), job.run_dir.c_str(), job.env.c_str(),
              training.trainer().describe().c_str());
  if (training.trainer().resume(ckpt_dir)) {
    training.agent_step = training.trainer().agent_step();
    std::printf("train: resumed from %s at epoch %lld, %lld agent steps\n", ckpt_dir.c_str(),
                static_cast<long long>(training.epoch()), static_cast<long long>(training.agent_step));
  }
  std::fflush(stdout);
  std::ofstream metrics(job.run_dir + "/metrics.jsonl", std::ios::app);
  logging::TensorBoardWriter tensorboard(job.run_dir);
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (training.agent_step < job.trainer.total_timesteps) {
    training.reset_for_rollout();
    while (!training.is_ready_for_training()) {
      auto [num_steps, info] = training.rollout_step();
      training.agent_step += num_steps;
      if (info.episodes > 0) training.accumulate_stats(info);
    }
    training.reset_training_state();
    const api::Advantages adv = training.compute_advantages();
    const double beta = api::calculate_anneal_beta(training.epoch(), job.trainer.total_timesteps,
                                                   training.experience.batch_size,
                                                   job.trainer.prioritized_experience_replay.prio_alpha,
                                                   job.trainer.prioritized_experience_replay.prio_beta0);
    for (int e = 0; e < job.trainer.update_epochs; ++e) {
      for (std::int64_t i : training.experience.iterate_minibatches())
        training.optimize_step(
            training.train_minibatch(training.sample_minibatch(adv, i, training.experience.num_minibatches, beta, e), adv));
      if (training.trainer().kl_limit_reached()) break;  // trainer.target_kl
    }
    const train::EpochStats& st = training.finish_epoch();
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const double sps = training.experience.batch_size / std::max(1e-9, std::chrono::duration<double>(now - last).count());
    last = now;
    std::printf(
        "epoch %4lld | steps %9lld | %7.0f sps | episodes %5.0f reward %.3f | loss %.4f pg %.4f v %.4f ent %.3f "
        "kl %.4f clip %.3f ev %.3f | %.0fs\n",
        static_cast<long long>(st.epoch), static_cast<long long>(training.agent_step), sps, st.episodes,
        st.mean_episode_reward, st.losses[kernels::kPpoLoss], st.losses[kernels::kPpoPolicyLoss],
        st.losses[kernels::kPpoValueLoss], st.losses[kernels::kPpoEntropy], st.losses[kernels::kPpoApproxKl],
        st.losses[kernels::kPpoClipFrac], st.explained_variance, elapsed);
    std::fflush(stdout);
    const nlohmann::json line = metrics_line(st, sps, elapsed);
    metrics << line.dump() << "\n";
    metrics.flush();
    std::map<std::string, double> scalars;
    for (auto it = line.begin(); it != line.end(); ++it) scalars[it.key()] = it->get<double>();
    tensorboard.add_scalars(training.agent_step, scalars);
    for (float v : st.losses)
      if (!std::isfinite(v)) METTA_FAIL("non-finite loss at epoch " << st.epoch << ": training diverged");
    if (st.epoch % job.trainer.checkpoint_interval == 0)
      std::printf("train: saved %s\n", api::save_checkpoint(training, store, training.epoch()).path.c_str());
    if (job.max_seconds > 0 && elapsed >= job.max_seconds) {
      std::printf("train: stopping at max_seconds (%.0fs)\n", job.max_seconds);
      break;
    }
  }
  if (training.epoch() % job.trainer.checkpoint_interval != 0)
    std::printf("train: saved %s\n", api::save_checkpoint(training, store, training.epoch()).path.c_str());
  std::printf("train: done, %lld agent steps, %lld epochs\n", static_cast<long long>(training.agent_step),
              static_cast<long long>(training.epoch()));
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train with PPO: configs/trainer/train.yaml plus key=value overrides (e.g. agent=small "
               "trainer.total_timesteps=2000000 +trainer.new=1 ~key)");
  cmd->add_option("--config", o->config, "A full train config YAML (default: the embedded configs/trainer/train.yaml)");
  cmd->add_option("overrides", o->overrides, "Overrides: key=value, +key=value, ++key=value, ~key");
  return [o] { return run_train(*o); };
}

}  // namespace metta::cli
