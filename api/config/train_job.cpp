#include "api/config/train_job.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/config/compose.h"
#include "api/config/overrides.h"
#include "train/run_dir.h"
#include "engine/config_yaml.h"
#include "train/curriculum/curriculum_yaml.h"
#include "api/config/embedded_job_configs.h"

namespace metta::config {
namespace {
using engine::ConfigError;
constexpr const char* kCommandLine = "command line";

// The dotted key an override names (without its +, ++ or ~ and its value).
std::string override_key(const std::string& o) {
  std::size_t b = 0;
  while (b < o.size() && (o[b] == '+' || o[b] == '~')) ++b;
  return o.substr(b, o.find('=') == std::string::npos ? std::string::npos : o.find('=') - b);
}

// The job's rules across fields: the job's own keys first (their names are what the user typed), then
// the trainer's; derives num_envs when it is null.
void check_job(TrainJob& job, YAML::Node& root) {
  api::TrainerConfig& t = job.trainer;
  engine::validate_fields(job, "");  // the table's rules: the job's keys, then the trainer's
  const std::vector<std::string> presets = {"fast", "api_default", "small"};
  const std::string preset = job.agent.substr(0, job.agent.find(':'));
  if (std::find(presets.begin(), presets.end(), preset) == presets.end()) {
    const std::string hint = engine::closest_key(preset, presets);
    engine::config_fail("agent", "'" + job.agent + "'",
                        "'fast', 'api_default' or 'small', optionally with :hidden_dim=N and :lstm_layers=N" +
                            (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
  }
  try {
    nn::PolicyArch::by_name(job.agent, 22);
  } catch (const metta::Error& e) {
    const std::string why = e.what();
    engine::config_fail("agent", "'" + job.agent + "'", "a valid agent spec (" + why + ")");
  }
  // fails early on a bad env or curriculum (a curriculum's tasks share the first's agents)
  const engine::EnvConfig env_config = train::curriculum::is_curriculum(job.env)
                                           ? train::curriculum::load_curriculum(job.env).tasks().front().config
                                           : engine::env_config_from(job.env);
  t.validate();
  if (job.num_envs != kDerivedNumEnvs && job.num_envs < 1)
    engine::config_fail("num_envs", std::to_string(job.num_envs), "null (derived) or a count >= 1");
  if (job.num_envs == kDerivedNumEnvs) {
    // trainer.md §10: envs per forward batch from the target size, times async_factor
    const std::int64_t agents = env_config.num_agents;
    std::int64_t target = t.forward_pass_minibatch_target_size / std::max<std::int64_t>(1, agents);
    if (target < std::max(2, t.num_workers)) target = t.num_workers;
    const std::int64_t per_batch = std::max<std::int64_t>(1, (target / t.num_workers) * t.num_workers);
    job.num_envs = per_batch * t.async_factor;
    root["num_envs"] = job.num_envs;  // the resolved config records the derived values
  }
}
}  // namespace

std::string default_train_yaml() { return kTrainYaml; }

train::RunSpec run_spec(const TrainJob& job, std::function<void(const std::string& line)> progress) {
  train::RunSpec s;
  s.run = job.run;
  s.run_dir = job.run_dir;
  s.env = job.env;
  s.agent = job.agent;
  s.num_envs = job.num_envs;
  s.max_seconds = job.max_seconds;
  s.existing_run = job.existing_run;
  s.derived_env_stats = job.env_stats == "all";
  s.trainer = job.trainer;
  s.resolved = job.resolved;
  s.resume_safe_keys = resume_safe_keys();
  s.normalize_saved_config = normalized_saved_config;
  s.progress = std::move(progress);
  return s;
}

std::vector<std::string> resume_safe_keys() { return engine::resume_safe_keys_of(TrainJob{}); }

YAML::Node normalized_saved_config(const YAML::Node& saved) {
  YAML::Node out = YAML::Clone(saved);
  if (!out.IsMap() || !out["trainer"].IsMap()) return out;
  try {
    api::TrainerConfig t;
    engine::read_fields(out["trainer"], "trainer", nullptr, t);
    out["trainer"] = engine::write_fields(t);
  } catch (const ConfigError&) {
    // keys this version does not know: compared as saved, so they show as changed
  }
  return out;
}

TrainJob load_train_job(const std::string& config_path, const std::vector<std::string>& overrides_in) {
  std::string text = kTrainYaml, source = "configs/train_job.yaml (embedded)", search_dir;
  if (!config_path.empty()) {
    if (std::filesystem::is_directory(config_path))
      throw ConfigError("--config: got '" + config_path + "', a folder; expected a job YAML file");
    std::ifstream in(config_path);
    if (!in) throw ConfigError(config_path + ": cannot open the config file");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    source = config_path;
    search_dir = std::filesystem::path(config_path).parent_path().string();
    if (search_dir.empty()) search_dir = ".";
  }
  std::vector<std::string> overrides = overrides_in;
  ComposedConfig composed = compose_config(text, source, search_dir, overrides);
  YAML::Node& root = composed.root;
  engine::add_absent_keys(root, engine::write_fields(TrainJob{}));  // keys the files leave out: their defaults
  apply_overrides(root, overrides);
  for (const std::string& o : overrides) composed.sources[override_key(o)] = kCommandLine;
  resolve_interpolations(root);
  check_mandatory(root, source);

  TrainJob job;
  api::TrainerConfig& t = job.trainer;
  engine::read_fields(root, "", [&](const std::string& dotted) { return composed.source_of(dotted, source); }, job);
  t.seed = job.seed;
  t.device = job.device;
  t.threads = job.threads;
  // The rules across fields, with the file:line (or "command line") that set the field they name.
  try {
    check_job(job, root);
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    const std::string field = msg.substr(0, msg.find(": "));
    const std::string top = field.substr(0, field.find_first_of(".["));
    if (field.size() == msg.size() || !root.IsMap() || !root[top].IsDefined()) throw;
    throw ConfigError(composed.source_of(field, source) + ": " + msg);
  }
  root["trainer"] = engine::write_fields(t);  // every trainer field, defaults and derived values included
  job.resolved = root;
  return job;
}

}  // namespace metta::config
