// The configuration of a `metta train` job: the embedded configs/train_job.yaml (or a file) composed with
// its defaults list (config groups such as trainer/default.yaml; `group=option` on the command line picks
// another option), then command-line overrides, interpolation and mandatory-value checks, then a strict
// conversion into typed fields (unknown keys name the closest valid one; wrong types name the value and
// the file:line of the file that set it, or "command line").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "api/metta_api.h"
#include "engine/config_fields.h"
#include "train/run.h"

namespace metta::config {

inline constexpr std::int64_t kDerivedNumEnvs = -1;  // num_envs: null

struct TrainJob {
  std::string run, data_dir, run_dir, env, agent, device = "cpu";
  std::string existing_run = "refuse";  // a run_dir holding a run that is not resumed: refuse | archive | overwrite
  std::string env_stats = "all";        // env_agent/ and env_game/ metrics: all (with derived entries) | base
  int threads = 0;
  std::uint64_t seed = 1;
  std::int64_t num_envs = 16;  // YAML null: derived as the reference sizes its vector env (trainer.md §10)
  double max_seconds = 0;
  api::TrainerConfig trainer;  // its seed, device and threads are the job's
  YAML::Node resolved;  // the final tree, written to run_dir/config.yaml
};

// The job's table (engine/config_fields.h): its own keys, then the trainer's group.
template <class V>
void visit_fields(TrainJob& j, V& v) {
  using engine::field;
  v(field("run", j.run).resume_safe());
  v(field("data_dir", j.data_dir).resume_safe());
  v(field("run_dir", j.run_dir).resume_safe());
  v(field("seed", j.seed));
  v(field("device", j.device).one_of({"cpu", "cuda"}));
  v(field("threads", j.threads).range(0, 4096, "0 (all cores) or a count >= 1").resume_safe());
  v(field("env", j.env));
  v(field("num_envs", j.num_envs).null_reads_as(kDerivedNumEnvs));  // rules: check_job
  v(field("agent", j.agent));
  v(field("max_seconds", j.max_seconds).range(0, 1e300, "0 (no limit) or > 0").resume_safe());
  v(field("existing_run", j.existing_run).one_of({"refuse", "archive", "overwrite"}).resume_safe());
  v(field("env_stats", j.env_stats).one_of({"all", "base"}).resume_safe());
  v.group("trainer", j.trainer);
}

// The job's keys a resumed run may change (marked resume_safe() in the tables), dotted.
std::vector<std::string> resume_safe_keys();
// A saved run's config.yaml in the form this version writes: its trainer group read through the table
// and written again (absent keys get their defaults, null its meaning), so that a comparison with a new
// resolved config sees settings, not spellings. Left as it is when this version cannot read it.
YAML::Node normalized_saved_config(const YAML::Node& saved);

TrainJob load_train_job(const std::string& config_path, const std::vector<std::string>& overrides);
std::string default_train_yaml();

// The run object's spec of a job (train/run.h), with the job's resume rule; the run's progress lines go
// to `progress` (metta train prints them, metta_cpp.train logs them).
train::RunSpec run_spec(const TrainJob& job, std::function<void(const std::string& line)> progress);

}  // namespace metta::config
