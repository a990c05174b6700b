// `metta train [--config FILE] [group=option ...] [key=value ...]`: the training job of
// configs/train_job.yaml (composed with its config groups) with Hydra-style overrides, run through the
// documented API loop (metta::api::TrainingComponents, the same calls as examples/run.cpp). Writes
// run_dir/config.yaml (resolved), run_dir/metrics.jsonl (one line per epoch), TensorBoard events in
// run_dir, and checkpoints in run_dir/checkpoints, and resumes from them when present. Evaluates the
// training task every trainer.evaluate_interval epochs and at the end (replays when asked).
// As one rank of a data-parallel run (mpirun, srun: train/distributed/), rank 0 alone owns the run
// folder (lock, config, metrics, TensorBoard, evaluation, checkpoint files) and prints progress; every
// rank trains, and they decide together when to stop.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/cli/commands.h"
#include "api/config/train_job.h"
#include "train/eval/evaluate.h"
#include "train/eval/suite.h"
#include "train/checkpoint/checkpoint_dir.h"
#include "train/logging/metrics_log.h"
#include "train/logging/tensorboard.h"
#include "train/distributed/process_group.h"
#include "train/run_dir.h"
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
// training env with the current weights, then the simulations of trainer.simulation.suite; returns the
// logged keys, and in `score` the mean category score for the model metadata.
std::map<std::string, double> evaluate(api::TrainingComponents& training, const config::TrainJob& job,
                                       const api::Environment& env, const eval::EvalSuite* suite, double* score) {
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
  std::vector<eval::SimulationResult> sims = {{"eval/training_task", r.mean_episode_reward, r.episodes, r.agent_stats}};
  if (suite) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "_e%04lld", static_cast<long long>(training.epoch()));
    const auto play = [&](const engine::EnvConfig& e, const eval::EvalOptions& o) {
      return eval::evaluate_policy(p.context(), e, job.agent, p.params(), p.context().device, o);
    };
    for (eval::SimulationResult& s : eval::run_suite(*suite, play, job.num_envs, sim.replay_dir, "_" + job.run + suffix)) {
      std::printf("eval: %s: %.0f episodes, reward %.3f\n", s.name.c_str(), s.episodes, s.mean_episode_reward);
      sims.push_back(std::move(s));
    }
  }
  return eval::suite_scores(sims, score);
}

// Ctrl-C / SIGTERM: finish the current epoch, save a checkpoint and stop. A second signal kills at once
// (the default action comes back after the first); the checkpoint files are written atomically, so even
// then the previous checkpoint stays loadable.
volatile std::sig_atomic_t g_stop_requested = 0;
void request_stop(int sig) {
  g_stop_requested = 1;
  std::signal(sig, SIG_DFL);
}

// Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
constexpr int kInterruptedExit = 130;

std::string join_lines(const std::vector<std::string>& lines, std::size_t max) {
  std::string s;
  for (std::size_t i = 0; i < lines.size() && i < max; ++i) s += "\n  " + lines[i];
  if (lines.size() > max) s += "\n  ... (" + std::to_string(lines.size() - max) + " more)";
  return s;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// Decides what happens to an existing run_dir before anything in it is written: resume it (with the same
// training settings), set it aside (existing_run), or refuse. Returns true when a trainer state will be
// resumed.
bool prepare_run_dir(const config::TrainJob& job, const std::string& ckpt_dir) {
  namespace fs = std::filesystem;
  const std::vector<std::string> files = train::run_files(job.run_dir);
  if (files.empty()) return false;
  bool has_state = false, has_model = false;
  for (const checkpoint::CheckpointEntry& e : checkpoint::list_checkpoints(ckpt_dir)) {
    has_state = has_state || !e.state.empty();
    has_model = has_model || !e.model.empty();
  }
  const train::ExistingRun how = train::parse_existing_run(job.existing_run);
  const bool resumable = job.trainer.resume && has_state;
  if (!resumable && how != train::ExistingRun::kRefuse) {
    const std::string archive = train::set_aside_run(job.run_dir, how);
    std::printf("train: %s\n", archive.empty() ? ("deleted the previous run in " + job.run_dir).c_str()
                                               : ("moved the previous run to " + archive).c_str());
    return false;
  }
  if (!job.trainer.resume)
    throw metta::Error(job.run_dir + " already holds a run (" + files.front() + (files.size() > 1 ? ", ..." : "") +
                       "); trainer.resume=false would mix two runs in one folder. Give this run another run=NAME, "
                       "or set the old one aside with existing_run=archive (moved to " + job.run_dir +
                       ".archive-N) or existing_run=overwrite (deleted)");
  if (!has_state && has_model) return true;  // Trainer::resume explains that models without a state cannot resume
  // the same run continues (or restarts, when it never saved a checkpoint): its training settings must not change
  const std::string saved_path = job.run_dir + "/config.yaml";
  if (fs::exists(saved_path)) {
    YAML::Node saved;
    try {
      saved = YAML::LoadFile(saved_path);
    } catch (const YAML::Exception& e) {
      throw metta::Error(saved_path + ": cannot read the run's saved config (" + e.msg + ")");
    }
    const std::vector<std::string> safe = config::resume_safe_keys();
    const std::vector<std::string> changed =
        train::changed_training_keys(config::normalized_saved_config(saved), job.resolved, safe);
    if (!changed.empty())
      throw metta::Error(job.run_dir + " holds a run with other training settings; resuming it would continue "
                         "with a different run. Changed:" + join_lines(changed, 12) +
                         "\n  Keep them as saved in " + saved_path + ", give this run another run=NAME, or set the old one "
                         "aside with existing_run=archive or existing_run=overwrite. (Keys that may change on resume: " +
                         join_list(safe) + ")");
  }
  return has_state;
}

int run_train(const TrainOptions& o) {
  const config::TrainJob job = config::load_train_job(o.config, o.overrides);
  namespace fs = std::filesystem;
  const train::distributed::ProcessGroup& group = api::process_group();
  const bool main_rank = group.is_main();
  if (group.world() > 1) {
    std::fprintf(stderr, "train: %s\n", group.describe().c_str());
    if (!main_rank && !std::freopen("/dev/null", "w", stdout))  // progress is rank 0's to print
      throw metta::Error("rank " + std::to_string(group.rank()) + ": cannot silence stdout");
  }
  const std::string ckpt_dir = job.run_dir + "/checkpoints";
  std::unique_ptr<train::RunDirLock> lock;  // one run per folder; rank 0 holds it for the run
  bool resuming = false;
  if (main_rank) {
    fs::create_directories(job.run_dir);
    lock = std::make_unique<train::RunDirLock>(job.run_dir);
    for (const std::string& dir : {job.run_dir, ckpt_dir})
      for (const std::string& f : checkpoint::remove_stale_temp_files(dir))
        std::printf("train: removed %s (left by an interrupted write)\n", f.c_str());
    resuming = prepare_run_dir(job, ckpt_dir);
  }
  // the other ranks wait here until the folder is ready, and learn whether the run resumes
  resuming = group.broadcast({static_cast<std::uint8_t>(resuming)}).at(0) != 0;
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
  if (job.device == "cpu" && job.agent.rfind("api_default", 0) == 0)
    std::fprintf(stderr,
                 "train: note: agent=api_default (6.4M parameters) trains at hundreds to a few thousand agent-steps/s "
                 "on a CPU; agent=fast or agent=small are made for CPU runs, api_default for device=cuda\n");
  for (const std::string& teacher : training.kickstarter.teacher_paths)
    std::printf("train: kickstarting from teacher %s\n", teacher.c_str());
  if (resuming && training.trainer().resume(ckpt_dir, job.trainer.resume_from)) {
    training.agent_step = training.trainer().agent_step();
    std::printf("train: resumed from %s at epoch %lld, %lld agent steps\n", ckpt_dir.c_str(),
                static_cast<long long>(training.epoch()), static_cast<long long>(training.agent_step));
    if (env.curriculum()) {
      char model[64];
      std::snprintf(model, sizeof model, "/model_%04lld.safetensors", static_cast<long long>(training.epoch()));
      const checkpoint::PolicyMetadata meta = checkpoint::PolicyStore::read_metadata(ckpt_dir + model);
      const auto state = meta.user.find("curriculum_state");
      if (state != meta.user.end()) {
        training.load_curriculum_state(state->second);
      } else {
        std::printf("train: the checkpoint holds no curriculum state (saved before curricula kept theirs): the "
                    "curriculum starts again from its configured weights\n");
      }
    }
  } else if (!job.trainer.initial_policy.uri.empty()) {
    std::printf("train: starting from %s (generation %lld)\n", job.trainer.initial_policy.uri.c_str(),
                static_cast<long long>(training.trainer().generation()));
  }
  // every check passed: record the config, and drop records made after the resumed checkpoint
  std::unique_ptr<logging::MetricsLog> metrics;
  std::unique_ptr<logging::TensorBoardWriter> tensorboard;
  if (main_rank) {
    YAML::Emitter em;
    em << job.resolved;
    checkpoint::write_file_atomic(job.run_dir + "/config.yaml", std::string(em.c_str()) + "\n");
    const std::string dropped = train::truncate_run_records(job.run_dir, training.epoch(), training.agent_step);
    if (!dropped.empty()) std::printf("train: %s\n", dropped.c_str());
    metrics = std::make_unique<logging::MetricsLog>(job.run_dir + "/metrics.jsonl");
    tensorboard = std::make_unique<logging::TensorBoardWriter>(job.run_dir);
  }
  std::fflush(stdout);
  // the newest evaluation's scores go into each model's metadata (score = the mean category score)
  std::map<std::string, double> eval_scores;
  double eval_score = 0;
  std::unique_ptr<eval::EvalSuite> suite;
  if (!job.trainer.simulation.suite.empty())
    suite = std::make_unique<eval::EvalSuite>(eval::load_eval_suite(job.trainer.simulation.suite));
  auto score_metadata = [&] {
    std::map<std::string, std::string> m;
    if (eval_scores.empty()) return m;
    m["score"] = std::to_string(eval_score);
    m["eval_scores"] = nlohmann::json(eval_scores).dump();
    return m;
  };
  g_stop_requested = 0;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  std::int64_t epochs_run = 0;
  bool interrupted = false;
  if (training.agent_step >= job.trainer.total_timesteps)
    std::printf("train: the run already has %lld agent steps (trainer.total_timesteps=%lld): nothing to train\n",
                static_cast<long long>(training.agent_step), static_cast<long long>(job.trainer.total_timesteps));
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
    ++epochs_run;
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
    for (const auto& [k, v] : training.curriculum_stats()) line["env_" + k] = v;  // trainer.md §16: env_<key>
    // decided together: a rank that stopped alone would leave the others waiting in a collective
    interrupted = group.any(g_stop_requested != 0);
    const bool out_of_time = group.any(job.max_seconds > 0 && elapsed >= job.max_seconds);
    const bool last_epoch = training.agent_step >= job.trainer.total_timesteps || out_of_time || interrupted;
    const bool evaluating = st.epoch % job.trainer.evaluate_interval == 0 || last_epoch;
    if (main_rank) {
      if (evaluating) {
        eval_scores = evaluate(training, job, env, suite.get(), &eval_score);
        for (auto& [k, v] : eval_scores) line[k] = v;
      }
      metrics->append(line);
      std::map<std::string, double> scalars;
      for (auto it = line.begin(); it != line.end(); ++it) scalars[it.key()] = it->get<double>();
      tensorboard->add_scalars(training.agent_step, scalars);
    }
    // the other ranks wait for rank 0's evaluation however long it takes, not collective_timeout
    if (evaluating) group.barrier_within(train::distributed::ProcessGroup::kSlowWorkSeconds);
    if (st.epoch % job.trainer.checkpoint_interval == 0)  // every rank: rank 0 gathers the others' state
      std::printf("train: saved %s\n", api::save_checkpoint(training, store, training.epoch(), score_metadata()).path.c_str());
    if (out_of_time) {
      std::printf("train: stopping at max_seconds (%.0fs)\n", job.max_seconds);
      break;
    }
    if (interrupted) break;
  }
  // the last epoch's checkpoint (never rewritten when this process trained nothing)
  if (epochs_run > 0 && training.epoch() % job.trainer.checkpoint_interval != 0)
    std::printf("train: saved %s\n", api::save_checkpoint(training, store, training.epoch(), score_metadata()).path.c_str());
  if (interrupted) {
    std::printf("train: interrupted at epoch %lld, %lld agent steps; saved, run the same command to resume\n",
                static_cast<long long>(training.epoch()), static_cast<long long>(training.agent_step));
    return kInterruptedExit;
  }
  std::printf("train: done, %lld agent steps, %lld epochs\n", static_cast<long long>(training.agent_step),
              static_cast<long long>(training.epoch()));
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train with PPO: configs/train_job.yaml, group=option selections (trainer=reference) and "
               "key=value overrides (e.g. agent=small trainer.total_timesteps=2000000 ++trainer.ppo.clip_coef=0.2)");
  cmd->add_option("--config", o->config, "A job config YAML; its config groups are looked up beside it, then compiled in (default: the embedded "
                  "configs/train_job.yaml)");
  cmd->add_option("overrides", o->overrides, "Overrides: group=option, key=value, +key=value, ++key=value, ~key");
  return [o] { return run_train(*o); };
}

}  // namespace metta::cli
