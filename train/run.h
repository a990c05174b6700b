// One training run, from its folder to its last checkpoint: what `metta train`, and every other skin
// that runs a whole job, calls. Opening a run takes its folder (one process per folder: a lock; leftovers
// of interrupted writes removed; an existing run resumed with the same training settings, set aside by
// existing_run, or refused), builds the trainer over the env or curriculum, starts it from
// trainer.initial_policy and its teachers, or resumes it (weights, trainer state, curriculum state), and
// opens the logs (config.yaml, metrics.jsonl, TensorBoard). Each epoch is the rollout with curriculum
// feedback, the update passes with target_kl, a metrics line and progress line, and the evaluation and
// checkpoint cadences; close() saves the last epoch. The documented API loop
// (api::TrainingComponents) keeps its explicit steps and shares the pieces below the run: the curriculum
// feedback (train/curriculum_feedback.h) and the starting weights (train/starting_weights.h).
// As one rank of a data-parallel run, rank 0 alone owns the folder and reports progress; every rank
// trains, and they decide together when to stop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "train/epoch_metrics.h"
#include "train/trainer.h"

namespace metta::eval {
struct EvalSuite;
}

namespace metta::train {

namespace curriculum {
class Curriculum;
}

// What a run is given: the job's choices besides the trainer's config.
struct RunSpec {
  std::string run, run_dir;  // the run's name and folder
  std::string env;           // an env config or a curriculum: a YAML path or an embedded env's name
  std::string agent;         // an agent preset spec (nn::PolicyArch::by_name)
  std::int64_t num_envs = 16;
  double max_seconds = 0;    // 0: no limit
  std::string existing_run = "refuse";  // refuse | archive | overwrite (run_dir.h)
  bool derived_env_stats = true;        // env_agent/ and env_game/ with their derived entries (env_stats=all)
  TrainerConfig trainer;     // with the job's seed, device and threads
  YAML::Node resolved;       // the job's resolved config: written to run_dir/config.yaml
  // For the resume rule: the keys that may change, and a saved config.yaml in the form `resolved` has.
  std::vector<std::string> resume_safe_keys;
  std::function<YAML::Node(const YAML::Node&)> normalize_saved_config;
  // Where the run's progress lines go (rank 0's; one line per call, without its newline). Empty: dropped.
  // The library prints nothing itself; metta train prints them to stdout.
  std::function<void(const std::string& line)> progress;
};

enum class RunEnd { kDone, kOutOfTime, kInterrupted };

// The training summary every model file of a run records (its "config" metadata).
std::string run_config_json(const TrainerConfig& config, const std::string& env);

class Run {
 public:
  explicit Run(RunSpec spec);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // True once the run has its total_timesteps, ran out of max_seconds, or was stopped.
  bool finished() const;
  // One epoch and its cadences. stop_requested (Ctrl-C on some rank) makes it the last: every rank
  // learns it in the same epoch, which is then evaluated and saved.
  const EpochStats& run_epoch(bool stop_requested = false);
  // Saves the last epoch when it is not saved yet and says how the run ended.
  RunEnd close();

  Trainer& trainer() { return *trainer_; }
  const RunSpec& spec() const { return spec_; }
  // The metrics line of the last epoch (train/epoch_metrics.h; trainer.md §16 names), as written to
  // metrics.jsonl and TensorBoard, with the curriculum's env_ keys and the evaluation's when it ran.
  const std::map<std::string, double>& last_metrics() const { return last_metrics_; }

 private:
  bool prepare_run_dir(const std::string& ckpt_dir);
  void resume_or_start(bool resuming, const std::string& ckpt_dir);
  std::map<std::string, double> evaluate(double* score);
  std::string save();
  void say(const char* format, ...) const __attribute__((format(printf, 2, 3)));

  RunSpec spec_;
  std::string ckpt_dir_;
  struct Folder;  // the lock and the logs (rank 0)
  std::unique_ptr<Folder> folder_;
  std::shared_ptr<curriculum::Curriculum> curriculum_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<metta::eval::EvalSuite> suite_;
  EpochMetrics metrics_;
  std::map<std::string, double> curriculum_stats_, eval_scores_, last_metrics_;
  double eval_score_ = 0;
  EpochStats last_;
  double start_ = 0, last_end_ = 0;
  std::int64_t epochs_run_ = 0, saved_epoch_ = -1;
  bool stopped_ = false, out_of_time_ = false;
};

}  // namespace metta::train
