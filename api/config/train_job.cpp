#include "api/config/train_job.h"

#include <algorithm>
#include <fstream>
#include <type_traits>
#include <sstream>

#include "api/config/overrides.h"
#include "engine/config_yaml.h"
#include "engine/embedded_configs.h"

namespace metta::config {
namespace {
using engine::ConfigError;

// Reads typed values out of a mapping, remembering which keys were used, so the rest can be reported
// as unknown with the closest valid key.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string path, std::string source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {
    if (!node_.IsMap()) fail(node_, "", "a mapping");
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
  // A number, or null for "off" (returned as `off`).
  void get_or_null(const std::string& key, double& out, double off) {
    const YAML::Node v = node_[key];
    if (v.IsDefined() && v.IsNull()) {
      used_.push_back(key);
      out = off;
      return;
    }
    get(key, out);
  }
  Reader sub(const std::string& key) {
    used_.push_back(key);
    return Reader(node_[key], join(key), source_);
  }
  void finish() const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (std::find(used_.begin(), used_.end(), k) != used_.end()) continue;
      const std::string hint = engine::closest_key(k, used_);
      throw ConfigError(where(it->first) + join(k) + ": got an unknown key, expected one of the documented keys" +
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
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  std::string where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return m.line >= 0 ? source_ + ":" + std::to_string(m.line + 1) + ": " : source_ + ": ";
  }
  // A missing key is most often a misspelt one: name the closest key present.
  [[noreturn]] void missing(const std::string& key) const {
    std::vector<std::string> present;
    for (auto it = node_.begin(); it != node_.end(); ++it) present.push_back(it->first.Scalar());
    const std::string typo = engine::closest_key(key, present);
    if (!typo.empty())
      for (auto it = node_.begin(); it != node_.end(); ++it)
        if (it->first.Scalar() == typo)
          throw ConfigError(where(it->first) + join(typo) + ": got an unknown key, expected one of the documented keys"
                            " (did you mean '" + key + "'?)");
    throw ConfigError(where(node_) + join(key) + ": got nothing, expected a value (the key is missing)");
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& expected) const {
    const std::string shown = n.IsDefined() && n.IsScalar() ? "'" + n.Scalar() + "'" : (n.IsDefined() ? "a group" : "nothing");
    throw ConfigError(where(n) + join(key) + ": got " + shown + ", expected " + expected);
  }
  YAML::Node node_;
  std::string path_, source_;
  std::vector<std::string> used_;
};
}  // namespace

std::string default_train_yaml() { return engine::kTrainYaml; }

TrainJob load_train_job(const std::string& config_path, const std::vector<std::string>& overrides) {
  std::string text = engine::kTrainYaml, source = "configs/trainer/train.yaml (embedded)";
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) throw ConfigError(config_path + ": cannot open the config file");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    source = config_path;
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  apply_overrides(root, overrides);
  resolve_interpolations(root);
  check_mandatory(root, source);

  TrainJob job;
  Reader r(root, "", source);
  r.get("run", job.run);
  r.get("data_dir", job.data_dir);
  r.get("run_dir", job.run_dir);
  r.get("seed", job.seed);
  r.get("device", job.device);
  r.get("threads", job.threads);
  r.get("env", job.env);
  r.get("num_envs", job.num_envs);
  r.get("agent", job.agent);
  r.get("max_seconds", job.max_seconds);
  api::TrainerConfig& t = job.trainer;
  Reader tr = r.sub("trainer");
  tr.get("total_timesteps", t.total_timesteps);
  tr.get("batch_size", t.batch_size);
  tr.get("minibatch_size", t.minibatch_size);
  tr.get("bptt_horizon", t.bptt_horizon);
  tr.get("update_epochs", t.update_epochs);
  tr.get("checkpoint_interval", t.checkpoint_interval);
  tr.get("evaluate_interval", t.evaluate_interval);
  tr.get("wandb_checkpoint_interval", t.wandb_checkpoint_interval);
  tr.get("train_from_rollout_state", t.train_from_rollout_state);
  tr.get_or_null("target_kl", t.target_kl, 0.0);
  Reader lr = tr.sub("lr_scheduler");
  lr.get("enabled", t.lr_scheduler_enabled);
  lr.finish();
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
  ks.get("action_loss_coef", t.kickstart.action_loss_coef);
  ks.get("value_loss_coef", t.kickstart.value_loss_coef);
  ks.get("anneal_ratio", t.kickstart.anneal_ratio);
  ks.get("kickstart_steps", t.kickstart.kickstart_steps);
  ks.finish();
  tr.finish();
  r.finish();
  t.seed = job.seed;
  t.device = job.device;
  t.threads = job.threads;
  t.validate();
  if (job.num_envs < 1) engine::config_fail("num_envs", std::to_string(job.num_envs), "a count >= 1");
  job.resolved = root;
  return job;
}

}  // namespace metta::config
