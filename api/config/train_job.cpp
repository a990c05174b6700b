#include "api/config/train_job.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <type_traits>
#include <sstream>

#include "api/config/compose.h"
#include "api/config/overrides.h"
#include "train/run_dir.h"
#include "engine/config_yaml.h"
#include "engine/embedded_configs.h"

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

// num_workers: null (trainer.md §10): the largest power of 2 <= cpu_count / 2, at least 1.
int derived_num_workers() {
  const int half = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()) / 2);
  int w = 1;
  while (w * 2 <= half) w *= 2;
  return w;
}

// Reads typed values out of a mapping, remembering which keys were used, so the rest can be reported
// as unknown with the closest valid key.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string path, const ComposedConfig& composed, std::string fallback)
      : node_(node), path_(std::move(path)), composed_(composed), fallback_(std::move(fallback)) {
    if (!node_.IsMap()) fail(node_, "", "a mapping of its keys (" + path_ + ".<key>=value sets one)");
  }
  template <class T>
  void get(const std::string& key, T& out) {
    used_.push_back(key);
    const YAML::Node v = node_[key];
    if (!v.IsDefined()) missing(key);
    if (!v.IsScalar()) fail(v, key, "a single value");
    try {
      out = v.as<T>();
    } catch (const YAML::Exception&) {
      fail(v, key, type_name<T>());
    }
  }
  // A value, or null for "off" / "derived" (returned as `off`).
  template <class T>
  void get_or_null(const std::string& key, T& out, const T& off) {
    const YAML::Node v = node_[key];
    if (v.IsDefined() && v.IsNull()) {
      used_.push_back(key);
      out = off;
      return;
    }
    get(key, out);
  }
  // A list of {teacher_uri, action_loss_coef, value_loss_coef} mappings, or null for an empty one.
  void get_teachers(const std::string& key, std::vector<api::TeacherConfig>& out) {
    used_.push_back(key);
    const YAML::Node v = node_[key];
    if (!v.IsDefined()) missing(key);
    out.clear();
    if (v.IsNull()) return;
    if (!v.IsSequence()) fail(v, key, "null or a list of {teacher_uri, action_loss_coef, value_loss_coef}");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item = key + "[" + std::to_string(i) + "]";
      if (!v[i].IsMap()) fail(v[i], item, "a mapping with teacher_uri (and optionally the two coefficients)");
      Reader r(v[i], join(item), composed_, fallback_);
      api::TeacherConfig t;
      r.get("teacher_uri", t.teacher_uri);
      r.get_optional("action_loss_coef", t.action_loss_coef);
      r.get_optional("value_loss_coef", t.value_loss_coef);
      r.finish();
      out.push_back(t);
    }
  }
  template <class T>
  void get_optional(const std::string& key, T& out) {
    if (node_[key].IsDefined()) get(key, out);
    else used_.push_back(key);
  }
  Reader sub(const std::string& key) {
    used_.push_back(key);
    if (!node_[key].IsDefined()) missing(key);
    return Reader(node_[key], join(key), composed_, fallback_);
  }
  void finish() const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (std::find(used_.begin(), used_.end(), k) != used_.end()) continue;
      const std::string hint = engine::closest_key(k, used_);
      throw ConfigError(where(it->first, join(k)) + join(k) + ": got an unknown key, expected one of the documented keys" +
                        (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }

 private:
  template <class T>
  static const char* type_name() {
    if (std::is_same<T, bool>::value) return "true or false";
    if (std::is_integral<T>::value) return "an integer";
    if (std::is_floating_point<T>::value) return "a number";
    return "a string";
  }
  std::string join(const std::string& key) const {
    if (key.empty()) return path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  // "file:line: " of a node, from the file that set the key last ("command line" for overrides).
  std::string where(const YAML::Node& n, const std::string& dotted) const {
    (void)n;
    return composed_.source_of(dotted, fallback_) + ": ";
  }
  // A missing key is most often a misspelt one: name the closest key present.
  [[noreturn]] void missing(const std::string& key) const {
    std::vector<std::string> present;
    for (auto it = node_.begin(); it != node_.end(); ++it) present.push_back(it->first.Scalar());
    const std::string typo = engine::closest_key(key, present);
    if (!typo.empty())
      for (auto it = node_.begin(); it != node_.end(); ++it)
        if (it->first.Scalar() == typo)
          throw ConfigError(where(it->first, join(typo)) + join(typo) + ": got an unknown key, expected one of the documented keys"
                            " (did you mean '" + key + "'?)");
    throw ConfigError(where(node_, path_) + join(key) + ": got nothing, expected a value (the key is missing)");
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& expected) const {
    const std::string shown = n.IsDefined() && n.IsScalar() ? "'" + n.Scalar() + "'" : (n.IsDefined() ? "a group" : "nothing");
    throw ConfigError(where(n, join(key)) + join(key) + ": got " + shown + ", expected " + expected);
  }
  YAML::Node node_;
  std::string path_;
  const ComposedConfig& composed_;
  std::string fallback_;
  std::vector<std::string> used_;
};
constexpr std::int64_t kDerived = -1;  // num_envs: null

// The job's rules across fields: the job's own keys first (their names are what the user typed), then
// the trainer's; derives num_envs when it is null.
void check_job(TrainJob& job, YAML::Node& root) {
  api::TrainerConfig& t = job.trainer;
  if (job.device != "cpu" && job.device != "cuda")
    engine::config_fail("device", "'" + job.device + "'", "'cpu' or 'cuda'");
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
  train::parse_existing_run(job.existing_run);
  if (job.threads < 0) engine::config_fail("threads", std::to_string(job.threads), "0 (all cores) or a count >= 1");
  if (job.max_seconds < 0) engine::config_fail("max_seconds", std::to_string(job.max_seconds), "0 (no limit) or > 0");
  const engine::EnvConfig env_config = engine::env_config_from(job.env);  // fails early on a bad env
  t.validate();
  if (job.num_envs != kDerived && job.num_envs < 1)
    engine::config_fail("num_envs", std::to_string(job.num_envs), "null (derived) or a count >= 1");
  if (job.num_envs == kDerived) {
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

std::string default_train_yaml() { return engine::kTrainYaml; }

TrainJob load_train_job(const std::string& config_path, const std::vector<std::string>& overrides_in) {
  std::string text = engine::kTrainYaml, source = "configs/train_job.yaml (embedded)", search_dir;
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
  apply_overrides(root, overrides);
  for (const std::string& o : overrides) composed.sources[override_key(o)] = kCommandLine;
  resolve_interpolations(root);
  check_mandatory(root, source);

  TrainJob job;
  Reader r(root, "", composed, source);
  r.get("run", job.run);
  r.get("data_dir", job.data_dir);
  r.get("run_dir", job.run_dir);
  r.get("seed", job.seed);
  r.get("device", job.device);
  r.get("threads", job.threads);
  r.get("env", job.env);
  r.get_or_null<std::int64_t>("num_envs", job.num_envs, kDerived);
  r.get("agent", job.agent);
  r.get("max_seconds", job.max_seconds);
  r.get("existing_run", job.existing_run);
  api::TrainerConfig& t = job.trainer;
  Reader tr = r.sub("trainer");
  tr.get("total_timesteps", t.total_timesteps);
  tr.get("batch_size", t.batch_size);
  tr.get("minibatch_size", t.minibatch_size);
  tr.get("bptt_horizon", t.bptt_horizon);
  tr.get("update_epochs", t.update_epochs);
  tr.get_or_null("num_workers", t.num_workers, derived_num_workers());
  tr.get("forward_pass_minibatch_target_size", t.forward_pass_minibatch_target_size);
  tr.get("async_factor", t.async_factor);
  tr.get("zero_copy", t.zero_copy);
  tr.get("resume", t.resume);
  tr.get_or_null<std::string>("resume_from", t.resume_from, "");
  tr.get("verbose", t.verbose);
  tr.get("cpu_offload", t.cpu_offload);
  tr.get("compile", t.compile);
  tr.get("compile_mode", t.compile_mode);
  tr.get("scale_batches_by_world_size", t.scale_batches_by_world_size);
  tr.get("profiler_interval_epochs", t.profiler_interval_epochs);
  tr.get("checkpoint_interval", t.checkpoint_interval);
  tr.get("evaluate_interval", t.evaluate_interval);
  tr.get("wandb_checkpoint_interval", t.wandb_checkpoint_interval);
  tr.get("grad_mean_variance_interval", t.grad_mean_variance_interval);
  tr.get("l2_init_weight_update_interval", t.l2_init_weight_update_interval);
  tr.get("train_from_rollout_state", t.train_from_rollout_state);
  tr.get_or_null("target_kl", t.target_kl, 0.0);
  Reader lr = tr.sub("lr_scheduler");
  lr.get("enabled", t.lr_scheduler.enabled);
  lr.get("anneal_lr", t.lr_scheduler.anneal_lr);
  lr.get_or_null<std::int64_t>("warmup_steps", t.lr_scheduler.warmup_steps, 0);
  lr.get_or_null<std::string>("schedule_type", t.lr_scheduler.schedule_type, "");
  lr.finish();
  Reader ip = tr.sub("initial_policy");
  ip.get_or_null<std::string>("uri", t.initial_policy.uri, "");
  ip.get("type", t.initial_policy.type);
  ip.get("range", t.initial_policy.range);
  ip.get("metric", t.initial_policy.metric);
  ip.finish();
  Reader sim = tr.sub("simulation");
  sim.get("num_episodes", t.simulation.num_episodes);
  sim.get("eval_seed", t.simulation.eval_seed);
  sim.get_or_null<std::string>("replay_dir", t.simulation.replay_dir, "");
  sim.finish();
  Reader ppo = tr.sub("ppo");
  ppo.get("clip_coef", t.ppo.clip_coef);
  ppo.get("vf_clip_coef", t.ppo.vf_clip_coef);
  ppo.get("ent_coef", t.ppo.ent_coef);
  ppo.get("vf_coef", t.ppo.vf_coef);
  ppo.get("gamma", t.ppo.gamma);
  ppo.get("gae_lambda", t.ppo.gae_lambda);
  ppo.get("max_grad_norm", t.ppo.max_grad_norm);
  ppo.get("norm_adv", t.ppo.norm_adv);
  ppo.get("clip_vloss", t.ppo.clip_vloss);
  ppo.get("vtrace_rho_clip", t.ppo.vtrace_rho_clip);
  ppo.get("vtrace_c_clip", t.ppo.vtrace_c_clip);
  ppo.get("l2_reg_loss_coef", t.ppo.l2_reg_loss_coef);
  ppo.get("l2_init_loss_coef", t.ppo.l2_init_loss_coef);
  ppo.finish();
  Reader opt = tr.sub("optimizer");
  opt.get("type", t.optimizer.type);
  opt.get("learning_rate", t.optimizer.learning_rate);
  opt.get("beta1", t.optimizer.beta1);
  opt.get("beta2", t.optimizer.beta2);
  opt.get("eps", t.optimizer.eps);
  opt.get("weight_decay", t.optimizer.weight_decay);
  opt.finish();
  Reader per = tr.sub("prioritized_experience_replay");
  per.get("prio_alpha", t.prioritized_experience_replay.prio_alpha);
  per.get("prio_beta0", t.prioritized_experience_replay.prio_beta0);
  per.finish();
  Reader ks = tr.sub("kickstart");
  ks.get_or_null<std::string>("teacher_uri", t.kickstart.teacher_uri, "");
  ks.get("action_loss_coef", t.kickstart.action_loss_coef);
  ks.get("value_loss_coef", t.kickstart.value_loss_coef);
  ks.get("anneal_ratio", t.kickstart.anneal_ratio);
  ks.get("kickstart_steps", t.kickstart.kickstart_steps);
  ks.get_teachers("additional_teachers", t.kickstart.additional_teachers);
  ks.finish();
  tr.finish();
  r.finish();
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
  root["trainer"]["num_workers"] = t.num_workers;
  job.resolved = root;
  return job;
}

}  // namespace metta::config
