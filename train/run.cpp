#include "train/run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/config_yaml.h"
#include "kernels/log.h"
#include "train/checkpoint/checkpoint_dir.h"
#include "train/checkpoint/policy_store.h"
#include "train/curriculum/curriculum_yaml.h"
#include "train/curriculum_feedback.h"
#include "train/epoch_metrics.h"
#include "train/distributed/process_group.h"
#include "train/eval/evaluate.h"
#include "train/eval/suite.h"
#include "train/logging/metrics_log.h"
#include "train/logging/tensorboard.h"
#include "train/run_dir.h"
#include "train/starting_weights.h"

namespace metta::train {
namespace fs = std::filesystem;

struct Run::Folder {
  std::unique_ptr<RunDirLock> lock;
  std::unique_ptr<logging::MetricsLog> metrics;
  std::unique_ptr<logging::TensorBoardWriter> tensorboard;
};

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

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

// A metrics line as JSON: whole numbers (epoch, agent steps, counts) as integers, as readers expect.
nlohmann::json json_line(const std::map<std::string, double>& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : metrics) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
      j[k] = static_cast<std::int64_t>(v);
    else
      j[k] = v;
  }
  return j;
}
}  // namespace

std::string run_config_json(const TrainerConfig& c, const std::string& env) {
  const nlohmann::json cfg = {{"total_timesteps", c.total_timesteps},
                              {"batch_size", c.batch_size},
                              {"minibatch_size", c.minibatch_size},
                              {"bptt_horizon", c.bptt_horizon},
                              {"optimizer", c.optimizer.type},
                              {"learning_rate", c.optimizer.learning_rate},
                              {"seed", c.seed},
                              {"curriculum", env}};
  return cfg.dump();
}

Run::Run(RunSpec spec) : spec_(std::move(spec)), ckpt_dir_(spec_.run_dir + "/checkpoints") {
  const distributed::ProcessGroup& group = distributed::ProcessGroup::get();
  const bool main_rank = group.is_main();
  if (group.world() > 1) log_message(LogLevel::kInfo, "train: " + group.describe());
  folder_ = std::make_unique<Folder>();
  bool resuming = false;
  if (main_rank) {  // one run per folder; rank 0 holds the lock for the run
    fs::create_directories(spec_.run_dir);
    folder_->lock = std::make_unique<RunDirLock>(spec_.run_dir);
    for (const std::string& dir : {spec_.run_dir, ckpt_dir_})
      for (const std::string& f : checkpoint::remove_stale_temp_files(dir))
        say("train: removed %s (left by an interrupted write)", f.c_str());
    resuming = prepare_run_dir(ckpt_dir_);
  }
  // the other ranks wait here until the folder is ready, and learn whether the run resumes
  resuming = group.broadcast({static_cast<std::uint8_t>(resuming)}).at(0) != 0;

  const TrainerConfig& c = spec_.trainer;
  std::vector<engine::EnvConfig> tasks;
  std::vector<double> probabilities;
  if (curriculum::is_curriculum(spec_.env)) {
    curriculum_ = std::make_shared<curriculum::Curriculum>(curriculum::load_curriculum(spec_.env));
    tasks = curriculum_->env_task_configs();
    probabilities = curriculum_->env_task_probabilities();
  } else {
    tasks = {engine::env_config_from(spec_.env)};
  }
  try {
    trainer_ = std::make_unique<Trainer>(c, tasks, spec_.num_envs, spec_.agent, probabilities);
  } catch (const std::bad_alloc&) {
    engine::config_fail("agent", "'" + spec_.agent + "'",
                        "an agent that fits in memory (building its weights, optimizer state and " +
                            std::to_string(spec_.num_envs) + " envs' buffers ran out of memory: use a smaller "
                        "hidden_dim or fewer lstm_layers, or fewer num_envs)");
  }
  say("train: run %s (%s), env %s, %s", spec_.run.c_str(), spec_.run_dir.c_str(), spec_.env.c_str(),
              trainer_->describe().c_str());
  const engine::EnvConfig progress_env = curriculum_ ? curriculum_->tasks().front().config : tasks.front();
  metrics_ = EpochMetrics({spec_.derived_env_stats, progress_stat_of(progress_env)});
  if (!c.simulation.suite.empty())
    suite_ = std::make_unique<metta::eval::EvalSuite>(metta::eval::load_eval_suite(c.simulation.suite));
  resume_or_start(resuming, ckpt_dir_);
  // every check passed: record the config, and drop records made after the resumed checkpoint
  if (main_rank) {
    YAML::Emitter em;
    em << spec_.resolved;
    checkpoint::write_file_atomic(spec_.run_dir + "/config.yaml", std::string(em.c_str()) + "\n");
    const std::string dropped = truncate_run_records(spec_.run_dir, trainer_->epoch(), trainer_->agent_step());
    if (!dropped.empty()) say("train: %s", dropped.c_str());
    folder_->metrics = std::make_unique<logging::MetricsLog>(spec_.run_dir + "/metrics.jsonl");
    folder_->tensorboard = std::make_unique<logging::TensorBoardWriter>(spec_.run_dir);
  }
  if (trainer_->agent_step() >= c.total_timesteps)
    say("train: the run already has %lld agent steps (trainer.total_timesteps=%lld): nothing to train",
                static_cast<long long>(trainer_->agent_step()), static_cast<long long>(c.total_timesteps));
  start_ = last_end_ = now_seconds();
}

Run::~Run() = default;

void Run::say(const char* format, ...) const {
  if (!spec_.progress || !distributed::ProcessGroup::get().is_main()) return;
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  spec_.progress(line);
}

// Decides what happens to an existing run_dir before anything in it is written: resume it (with the same
// training settings), set it aside (existing_run), or refuse. Returns true when a trainer state will be
// resumed.
bool Run::prepare_run_dir(const std::string& ckpt_dir) {
  const std::vector<std::string> files = run_files(spec_.run_dir);
  if (files.empty()) return false;
  bool has_state = false, has_model = false;
  for (const checkpoint::CheckpointEntry& e : checkpoint::list_checkpoints(ckpt_dir)) {
    has_state = has_state || !e.state.empty();
    has_model = has_model || !e.model.empty();
  }
  const ExistingRun how = parse_existing_run(spec_.existing_run);
  const bool resumable = spec_.trainer.resume && has_state;
  if (!resumable && how != ExistingRun::kRefuse) {
    const std::string archive = set_aside_run(spec_.run_dir, how);
    say("train: %s", archive.empty() ? ("deleted the previous run in " + spec_.run_dir).c_str()
                                               : ("moved the previous run to " + archive).c_str());
    return false;
  }
  if (!spec_.trainer.resume)
    throw metta::Error(spec_.run_dir + " already holds a run (" + files.front() + (files.size() > 1 ? ", ..." : "") +
                       "); trainer.resume=false would mix two runs in one folder. Give this run another run=NAME, "
                       "or set the old one aside with existing_run=archive (moved to " + spec_.run_dir +
                       ".archive-N) or existing_run=overwrite (deleted)");
  if (!has_state && has_model) return true;  // Trainer::resume explains that models without a state cannot resume
  // the same run continues (or restarts, when it never saved a checkpoint): its training settings must not change
  const std::string saved_path = spec_.run_dir + "/config.yaml";
  if (fs::exists(saved_path)) {
    YAML::Node saved;
    try {
      saved = YAML::LoadFile(saved_path);
    } catch (const YAML::Exception& e) {
      throw metta::Error(saved_path + ": cannot read the run's saved config (" + e.msg + ")");
    }
    if (spec_.normalize_saved_config) saved = spec_.normalize_saved_config(saved);
    const std::vector<std::string>& safe = spec_.resume_safe_keys;
    const std::vector<std::string> changed = changed_training_keys(saved, spec_.resolved, safe);
    if (!changed.empty())
      throw metta::Error(spec_.run_dir + " holds a run with other training settings; resuming it would continue "
                         "with a different run. Changed:" + join_lines(changed, 12) +
                         "\n  Keep them as saved in " + saved_path + ", give this run another run=NAME, or set the old one "
                         "aside with existing_run=archive or existing_run=overwrite. (Keys that may change on resume: " +
                         join_list(safe) + ")");
  }
  return has_state;
}

void Run::resume_or_start(bool resuming, const std::string& ckpt_dir) {
  Trainer& t = *trainer_;
  const TrainerConfig& c = spec_.trainer;
  const checkpoint::EnvInterface iface = checkpoint::EnvInterface::of(t.env().compiled());
  const std::string initial = initial_policy_path(c);
  if (!initial.empty()) {  // trainer.md §14: its weights become the trainee's, generation + 1
    const checkpoint::PolicyFile file = checkpoint::PolicyStore::open(initial);
    const std::vector<float> w = policy_weights_for(file, spec_.agent, t.policy().table(), iface);
    kernels::upload_bytes(t.policy().context(), t.policy().params(), w.data(), w.size() * sizeof(float));
    t.set_lineage(file.metadata.generation + 1, initial);
  }
  t.capture_l2_init();
  for (const std::string& teacher : add_configured_teachers(t, c))
    say("train: kickstarting from teacher %s", teacher.c_str());
  if (resuming && t.resume(ckpt_dir, c.resume_from)) {
    say("train: resumed from %s at epoch %lld, %lld agent steps", ckpt_dir.c_str(),
                static_cast<long long>(t.epoch()), static_cast<long long>(t.agent_step()));
    saved_epoch_ = t.epoch();
    if (curriculum_) {
      char model[64];
      std::snprintf(model, sizeof model, "/model_%04lld.safetensors", static_cast<long long>(t.epoch()));
      const checkpoint::PolicyMetadata meta = checkpoint::PolicyStore::read_metadata(ckpt_dir + model);
      const auto state = meta.user.find("curriculum_state");
      if (state != meta.user.end()) {
        curriculum_->load_state(state->second);
        t.env().set_task_probabilities(curriculum_->env_task_probabilities());
      } else {
        say("train: the checkpoint holds no curriculum state (saved before curricula kept theirs): the "
                    "curriculum starts again from its configured weights");
      }
    }
  } else if (!initial.empty()) {
    say("train: starting from %s (generation %lld)", c.initial_policy.uri.c_str(),
                static_cast<long long>(t.generation()));
  }
}

bool Run::finished() const {
  return stopped_ || out_of_time_ || trainer_->agent_step() >= spec_.trainer.total_timesteps;
}

const EpochStats& Run::run_epoch(bool stop_requested) {
  METTA_CHECK(!finished(), "Run::run_epoch: the run has finished");
  Trainer& t = *trainer_;
  const TrainerConfig& c = spec_.trainer;
  const distributed::ProcessGroup& group = distributed::ProcessGroup::get();
  const double rollout_start = now_seconds();
  t.reset_for_rollout();
  while (!t.is_ready_for_training()) t.rollout_step();
  const engine::CompletedEpisodes done = t.accumulate_stats();
  if (curriculum_) curriculum_stats_ = feed_curriculum(t, *curriculum_);
  const double train_start = now_seconds();
  t.reset_training_state();
  t.compute_advantages();
  t.run_update_passes();
  EpochStats st;
  t.finish_training(st);
  const double end = now_seconds();
  t.add_train_time(end - rollout_start);
  st.epoch = t.epoch();
  st.agent_step = t.agent_step();
  st.episodes = done.episodes;
  st.mean_episode_reward = done.mean_reward;
  st.rollout_seconds = train_start - rollout_start;
  st.train_seconds = end - train_start;
  st.seconds = end - rollout_start;
  ++epochs_run_;
  const double elapsed = end - start_;
  // agent steps over the time since the last epoch ended (its evaluation and checkpoint included)
  st.sps = static_cast<double>(t.batch_size()) / std::max(1e-9, end - last_end_);
  if (c.verbose) {
    // the stat the env rewards (heart.gained): on a sparse task the first sign that learning begins
    const std::string& key = metrics_.options().progress_stat;
    const auto gained = done.agent.find(key);
    char stat[96] = "";
    if (!key.empty())
      std::snprintf(stat, sizeof stat, " %s %.3f", key.c_str(), gained == done.agent.end() ? 0.0 : gained->second);
    say("epoch %4lld | steps %9lld | %7.0f sps | episodes %5.0f reward %.3f%s | loss %.4f pg %.4f v %.4f ent %.3f "
        "kl %.4f clip %.3f ev %.3f | %.0fs",
        static_cast<long long>(st.epoch), static_cast<long long>(st.agent_step), st.sps, st.episodes,
        st.mean_episode_reward, stat, st.losses[kernels::kPpoLoss], st.losses[kernels::kPpoPolicyLoss],
        st.losses[kernels::kPpoValueLoss], st.losses[kernels::kPpoEntropy], st.losses[kernels::kPpoApproxKl],
        st.losses[kernels::kPpoClipFrac], st.explained_variance, elapsed);
  }
  std::map<std::string, double> line = metrics_.line(t, st, done, elapsed);
  for (const auto& [k, v] : curriculum_stats_) line["env_" + k] = v;  // trainer.md §16: env_<key>
  // decided together: a rank that stopped alone would leave the others waiting in a collective
  stopped_ = group.any(stop_requested);
  out_of_time_ = group.any(spec_.max_seconds > 0 && elapsed >= spec_.max_seconds);
  const bool evaluating = st.epoch % c.evaluate_interval == 0 || finished();
  if (group.is_main()) {
    if (evaluating) {
      eval_scores_ = evaluate(&eval_score_);
      for (auto& [k, v] : eval_scores_) line[k] = v;
    }
  }
  last_metrics_ = line;
  if (group.is_main()) {
    folder_->metrics->append(json_line(last_metrics_));
    folder_->tensorboard->add_scalars(t.agent_step(), last_metrics_);
  }
  // the other ranks wait for rank 0's evaluation however long it takes, not collective_timeout
  if (evaluating) group.barrier_within(distributed::ProcessGroup::kSlowWorkSeconds);
  if (st.epoch % c.checkpoint_interval == 0)  // every rank: rank 0 gathers the others' state
    say("train: saved %s", save().c_str());
  if (out_of_time_) say("train: stopping at max_seconds (%.0fs)", spec_.max_seconds);
  last_ = st;
  last_end_ = now_seconds();
  return last_;
}

// In-training evaluation (trainer.md §17): the sim "eval/training_task" (category "eval") plays the
// training env (a curriculum's first task) with the current weights, then the simulations of
// trainer.simulation.suite; returns the logged keys, and in `score` the mean category score for the
// model metadata.
std::map<std::string, double> Run::evaluate(double* score) {
  const SimulationConfig& sim = spec_.trainer.simulation;
  metta::eval::EvalOptions opt;
  opt.episodes = sim.num_episodes;
  opt.num_envs = std::min<std::int64_t>(spec_.num_envs, sim.num_episodes);
  opt.seed = sim.eval_seed;
  const std::int64_t epoch = trainer_->epoch();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "_e%04lld", static_cast<long long>(epoch));
  if (!sim.replay_dir.empty()) {
    fs::create_directories(sim.replay_dir);
    opt.replay_path = sim.replay_dir + "/" + spec_.run + suffix + ".json.z";
  }
  nn::Policy<float>& p = trainer_->policy();
  const engine::EnvConfig env = curriculum_ ? curriculum_->tasks().front().config : engine::env_config_from(spec_.env);
  const metta::eval::EvalResult r = metta::eval::evaluate_policy(p.context(), env, spec_.agent, p.params(), p.context().device, opt);
  say("eval: epoch %lld, %.0f episodes of the training task, score %.3f%s%s", static_cast<long long>(epoch),
              r.episodes, r.mean_episode_reward, opt.replay_path.empty() ? "" : ", replay ", opt.replay_path.c_str());
  std::vector<metta::eval::SimulationResult> sims = {{"eval/training_task", r.mean_episode_reward, r.episodes, r.agent_stats}};
  if (suite_) {
    const auto play = [&](const engine::EnvConfig& e, const metta::eval::EvalOptions& o) {
      return metta::eval::evaluate_policy(p.context(), e, spec_.agent, p.params(), p.context().device, o);
    };
    for (metta::eval::SimulationResult& s :
         metta::eval::run_suite(*suite_, play, spec_.num_envs, sim.replay_dir, "_" + spec_.run + suffix)) {
      say("eval: %s: %.0f episodes, reward %.3f", s.name.c_str(), s.episodes, s.mean_episode_reward);
      sims.push_back(std::move(s));
    }
  }
  return metta::eval::suite_scores(sims, score);
}

// The checkpoint of the current epoch; the newest evaluation's scores go into the model's metadata
// (score = the mean category score), and the curriculum's state beside them (for resume).
std::string Run::save() {
  std::map<std::string, std::string> meta;
  if (!eval_scores_.empty()) {
    meta["score"] = std::to_string(eval_score_);
    meta["eval_scores"] = nlohmann::json(eval_scores_).dump();
  }
  if (curriculum_) meta["curriculum_state"] = curriculum_->save_state();
  saved_epoch_ = trainer_->epoch();
  return trainer_->save_checkpoint(ckpt_dir_, run_config_json(spec_.trainer, spec_.env), meta);
}

RunEnd Run::close() {
  // the last epoch's checkpoint (never rewritten when this process trained nothing)
  if (epochs_run_ > 0 && saved_epoch_ != trainer_->epoch()) say("train: saved %s", save().c_str());
  if (stopped_) {
    say("train: interrupted at epoch %lld, %lld agent steps; saved, run the same command to resume",
                static_cast<long long>(trainer_->epoch()), static_cast<long long>(trainer_->agent_step()));
    return RunEnd::kInterrupted;
  }
  say("train: done, %lld agent steps, %lld epochs", static_cast<long long>(trainer_->agent_step()),
              static_cast<long long>(trainer_->epoch()));
  return out_of_time_ ? RunEnd::kOutOfTime : RunEnd::kDone;
}

}  // namespace metta::train
