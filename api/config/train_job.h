// The configuration of a `metta train` job: the embedded configs/train_job.yaml (or a file) composed with
// its defaults list (config groups such as trainer/default.yaml; `group=option` on the command line picks
// another option), then command-line overrides, interpolation and mandatory-value checks, then a strict
// conversion into typed fields (unknown keys name the closest valid one; wrong types name the value and
// the file:line of the file that set it, or "command line").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "api/metta_api.h"

namespace metta::config {

struct TrainJob {
  std::string run, data_dir, run_dir, env, agent, device;
  std::string existing_run = "refuse";  // a run_dir holding a run that is not resumed: refuse | archive | overwrite
  int threads = 0;
  std::uint64_t seed = 1;
  std::int64_t num_envs = 16;  // YAML null: derived as the reference sizes its vector env (trainer.md §10)
  double max_seconds = 0;
  api::TrainerConfig trainer;
  YAML::Node resolved;  // the final tree, written to run_dir/config.yaml
};

TrainJob load_train_job(const std::string& config_path, const std::vector<std::string>& overrides);
std::string default_train_yaml();

}  // namespace metta::config
