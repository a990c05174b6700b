// `metta train [--config FILE] [group=option ...] [key=value ...]`: the training job of
// configs/train_job.yaml (composed with its config groups) with Hydra-style overrides, run through the
// documented API loop (metta::api::TrainingComponents, the same calls as examples/run.cpp). Writes
// run_dir/config.yaml (resolved), run_dir/metrics.jsonl (one line per epoch), TensorBoard events in
// run_dir, and checkpoints in run_dir/checkpoints, and resumes from them when present. Evaluates the
// training task every trainer.evaluate_interval epochs and at the end (replays when asked).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/cli/commands.h"
#include "api/config/train_job.h"
#include "api/eval/evaluate.h"
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
  for (int k : {kernels::kPpoPolicyLoss, kernels::kPpoValueLoss, kernels::kPpoEntropy, kernels::kPpoApproxKl,
                kernels::kPpoClipFrac, kernels::kPpoImportance, kernels::kPpoLogpMean})
    j[std::string("losses/") + kernels::kPpoStatNames[k]] = st.losses[k];
  j["losses/explained_variance"] = st.explained_variance;
  j["losses/grad_norm"] = st.grad_norm;
  if (st.l2_reg_loss != 0) j["losses/l2_reg_loss"] = st.l2_reg_loss;
  if (st.l2_init_loss != 0) j["losses/l2_init_loss"] = st.l2_init_loss;
  if (st.ks_action_loss != 0 || st.ks_value_loss != 0) {
    j["losses/ks_action_loss"] = st.ks_action_loss;
    j["losses/ks_value_loss"] = st.ks_value_loss;
  }
  if (st.has_grad_stats) {
    j["grad/mean"] = st.grad_mean;
    j["grad/variance"] = st.grad_variance;
    j["grad/norm"] = st.grad_l2_norm;
  }
  return j;
}

// In-training evaluation (trainer.md §17): the sim "eval/training_task" (category "eval") plays the
// training env with the current weights; returns the logged keys, and the score for the model metadata.
std::map<std::string, double> evaluate(api::TrainingComponents& training, const config::TrainJob& job,
                                       const api::Environment& env) {
  const api::SimulationConfig& sim = job.trainer.simulation;
  eval::EvalOptions opt;
  opt.episodes = sim.num_episodes;
  opt.num_envs = std::min<std::int64_t>(job.num_envs, sim.num_episodes);
  opt.seed = sim.eval_seed;
  if (!sim.replay_dir.empty()) {
    std::filesystem::create_directories(sim.replay_dir);
    char name[64];
    std::snprintf(name, sizeof name, "_e%04lld.json.z", static_cast<long long>(training.epoch()));
    opt.replay_path = sim.replay_dir + "/" + job.run + name;
  }
  nn::Policy<float>& p = training.trainer().policy();
  const eval::EvalResult r =
      eval::evaluate_policy(p.context(), env.config(), job.agent, p.params(), p.context().device, opt);
  std::printf("eval: epoch %lld, %.0f episodes of the training task, score %.3f%s%s\n",
              static_cast<long long>(training.epoch()), r.episodes, r.mean_episode_reward,
              opt.replay_path.empty() ? "" : ", replay ", opt.replay_path.c_str());
  return {{"eval_eval/training_task", r.mean_episode_reward},
          {"eval_eval/score", r.mean_episode_reward},
          {"overview/eval_score", r.mean_episode_reward}};
}

// Ctrl-C / SIGTERM: finish the current epoch, save a checkpoint and stop. A second signal kills at once
// (the default action comes back after the first); the checkpoint files are written atomically, so even
// then the previous checkpoint stays loadable.
volatile std::sig_atomic_t g_stop_requested = 0;
void request_stop(int sig) {
  g_stop_requested = 1;
  std::signal(sig, SIG_DFL);
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
  const unsigned cores = std::thread::hardware_concurrency();
  if (job.device == "cpu" && cores > 0 && job.threads > static_cast<int>(cores))
    std::fprintf(stderr,
                 "train: warning: threads=%d is more than the %u cores; OpenMP threads waiting at barriers then "
                 "take cores from working ones (measured: 3 threads on 2 cores ran about 8x slower; results are "
                 "the same bits)\n",
                 job.threads, cores);
  for (const std::string& teacher : training.kickstarter.teacher_paths)
    std::printf("train: kickstarting from teacher %s\n", teacher.c_str());
  if (job.trainer.resume && training.trainer().resume(ckpt_dir)) {
    training.agent_step = training.trainer().agent_step();
    std::printf("train: resumed from %s at epoch %lld, %lld agent steps\n", ckpt_dir.c_str(),
                static_cast<long long>(training.epoch()), static_cast<long long>(training.agent_step));
  } else if (!job.trainer.initial_policy.uri.empty()) {
    std::printf("train: starting from %s (generation %lld)\n", job.trainer.initial_policy.uri.c_str(),
                static_cast<long long>(training.trainer().generation()));
  }
  std::fflush(stdout);
  std::ofstream metrics(job.run_dir + "/metrics.jsonl", std::ios::app);
  logging::TensorBoardWriter tensorboard(job.run_dir);
  // the newest evaluation's scores go into each model's metadata (score = the mean category score)
  std::map<std::string, double> eval_scores;
  auto score_metadata = [&] {
    std::map<std::string, std::string> m;
    if (eval_scores.empty()) return m;
    m["score"] = std::to_string(eval_scores.at("eval_eval/score"));
    m["eval_scores"] = nlohmann::json(eval_scores).dump();
    return m;
  };
  g_stop_requested = 0;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
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
    if (job.trainer.verbose)
      std::printf(
        "epoch %4lld | steps %9lld | %7.0f sps | episodes %5.0f reward %.3f | loss %.4f pg %.4f v %.4f ent %.3f "
        "kl %.4f clip %.3f ev %.3f | %.0fs\n",
        static_cast<long long>(st.epoch), static_cast<long long>(training.agent_step), sps, st.episodes,
        st.mean_episode_reward, st.losses[kernels::kPpoLoss], st.losses[kernels::kPpoPolicyLoss],
        st.losses[kernels::kPpoValueLoss], st.losses[kernels::kPpoEntropy], st.losses[kernels::kPpoApproxKl],
        st.losses[kernels::kPpoClipFrac], st.explained_variance, elapsed);
    std::fflush(stdout);
    nlohmann::json line = metrics_line(st, sps, elapsed);
    line["parameters/learning_rate"] = training.trainer().current_learning_rate();
    line["parameters/generation"] = training.trainer().generation();
    const bool interrupted = g_stop_requested != 0;
    const bool last_epoch = training.agent_step >= job.trainer.total_timesteps ||
                            (job.max_seconds > 0 && elapsed >= job.max_seconds) || interrupted;
    if (st.epoch % job.trainer.evaluate_interval == 0 || last_epoch) {
      eval_scores = evaluate(training, job, env);
      for (auto& [k, v] : eval_scores) line[k] = v;
    }
    metrics << line.dump() << "\n";
    metrics.flush();
    std::map<std::string, double> scalars;
    for (auto it = line.begin(); it != line.end(); ++it) scalars[it.key()] = it->get<double>();
    tensorboard.add_scalars(training.agent_step, scalars);
    if (st.epoch % job.trainer.checkpoint_interval == 0)
      std::printf("train: saved %s\n", api::save_checkpoint(training, store, training.epoch(), score_metadata()).path.c_str());
    if (job.max_seconds > 0 && elapsed >= job.max_seconds) {
      std::printf("train: stopping at max_seconds (%.0fs)\n", job.max_seconds);
      break;
    }
    if (interrupted) {
      std::printf("train: interrupted: saving at the end of epoch %lld (run the same command to resume)\n",
                  static_cast<long long>(training.epoch()));
      break;
    }
  }
  if (training.epoch() % job.trainer.checkpoint_interval != 0)
    std::printf("train: saved %s\n", api::save_checkpoint(training, store, training.epoch(), score_metadata()).path.c_str());
  std::printf("train: done, %lld agent steps, %lld epochs\n", static_cast<long long>(training.agent_step),
              static_cast<long long>(training.epoch()));
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train with PPO: configs/train_job.yaml, group=option selections (trainer=reference) and "
               "key=value overrides (e.g. agent=small trainer.total_timesteps=2000000 +trainer.new=1 ~key)");
  cmd->add_option("--config", o->config, "A job config YAML; its config groups are looked up beside it, then compiled in (default: the embedded "
                  "configs/train_job.yaml)");
  cmd->add_option("overrides", o->overrides, "Overrides: group=option, key=value, +key=value, ++key=value, ~key");
  return [o] { return run_train(*o); };
}

}  // namespace metta::cli
