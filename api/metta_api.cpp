#include "api/metta_api.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/config_yaml.h"
#include "train/curriculum/curriculum_yaml.h"
#include "train/curriculum_feedback.h"
#include "train/run.h"
#include "train/starting_weights.h"

namespace metta::api {
namespace {
// A model file's weights into an agent of the same preset: names and shapes checked, and the policy's
// actions, window and features against the agent's env (features matched by name).
PolicyRecord load_into(const checkpoint::PolicyFile& f, Agent& agent) {
  agent.set_weights(train::policy_weights_for(f, agent.preset(), agent.table(), agent.env_interface()));
  return PolicyRecord{f.path, f.metadata};
}

[[noreturn]] void fail(const std::string& field, double value, const std::string& expected) {
  std::ostringstream v;
  v << value;
  engine::config_fail(field, v.str(), expected);
}
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

TrainerConfig create_default_trainer_config(int num_workers, std::int64_t total_timesteps, std::int64_t batch_size,
                                            std::int64_t minibatch_size) {
  TrainerConfig c;
  c.num_workers = num_workers;
  c.total_timesteps = total_timesteps;
  c.batch_size = batch_size;
  c.minibatch_size = std::min(minibatch_size, batch_size);
  c.validate();
  return c;
}

double calculate_anneal_beta(std::int64_t epoch, std::int64_t total_timesteps, std::int64_t batch_size,
                             double prio_alpha, double prio_beta0) {
  return kernels::calculate_anneal_beta(epoch, total_timesteps, batch_size, prio_beta0, prio_alpha);
}

Environment::Environment(const std::string& curriculum_path, std::int64_t num_envs, int num_workers,
                         std::int64_t batch_size, const std::string& device, bool zero_copy)
    : path_(curriculum_path), device_(device), num_envs_(num_envs) {
  if (train::curriculum::is_curriculum(curriculum_path)) {
    curriculum_ = std::make_shared<train::curriculum::Curriculum>(train::curriculum::load_curriculum(curriculum_path));
    config_ = curriculum_->tasks().front().config;
  } else {
    config_ = engine::env_config_from(curriculum_path);
  }
  if (num_envs < 1) fail("env.num_envs", static_cast<double>(num_envs), "a count >= 1");
  if (num_workers < 1) fail("env.num_workers", num_workers, "a count >= 1");
  if (batch_size < 0) fail("env.batch_size", static_cast<double>(batch_size), "a count >= 0");
  if (device != "cpu" && device != "cuda") engine::config_fail("env.device", "'" + device + "'", "'cpu' or 'cuda'");
  (void)zero_copy;  // device buffers are always shared with the policy
}

std::vector<engine::EnvConfig> Environment::task_configs() const {
  if (!curriculum_) return {config_};
  return curriculum_->env_task_configs();
}

std::string AgentConfig::spec() const {
  if (hidden_dim < 0) fail("agent.hidden_dim", hidden_dim, "0 (the preset's) or a width >= 1");
  if (lstm_layers < 0) fail("agent.lstm_layers", lstm_layers, "0 (the preset's) or a count >= 1");
  std::string options;
  if (hidden_dim > 0) options += "hidden_dim=" + std::to_string(hidden_dim);
  if (lstm_layers > 0) options += std::string(options.empty() ? "" : ":") + "lstm_layers=" + std::to_string(lstm_layers);
  return options.empty() ? preset : preset + ":" + options;
}

Agent::Agent(const Environment& env, const AgentConfig& config, const std::string& device, std::uint64_t seed)
    : preset_(config.spec()), device_(device) {
  if (device != "cpu" && device != "cuda") engine::config_fail("agent.device", "'" + device + "'", "'cpu' or 'cuda'");
  iface_ = checkpoint::EnvInterface::of(env.config());
  try {
    nn::Policy<float> init(kernels::Context::cpu(), checkpoint::policy_arch_for(preset_, iface_),
                           nn::ActionSpace(iface_.action_max_args), iface_.feature_norms, seed, 1, 1);
    weights_.assign(init.params(), init.params() + init.num_params());
    table_ = init.table();
  } catch (const std::bad_alloc&) {
    engine::config_fail("agent", "'" + preset_ + "'",
                        "an agent that fits in memory (building its weights ran out of memory: use a smaller "
                        "hidden_dim or fewer lstm_layers)");
  }
}

Agent::Agent(const Agent& other)
    : preset_(other.preset_), device_(other.device_), weights_(other.weights()), table_(other.table_),
      iface_(other.iface_) {}

Agent::Agent(Agent&& other) noexcept
    : preset_(std::move(other.preset_)), device_(std::move(other.device_)), weights_(std::move(other.weights_)),
      table_(std::move(other.table_)), iface_(std::move(other.iface_)), link_(std::move(other.link_)) {
  if (link_) link_->agent = this;
}

Agent& Agent::operator=(const Agent& other) {
  if (this == &other) return *this;
  METTA_CHECK(!link_, "an Agent being trained cannot be assigned to: end its TrainingComponents first");
  Agent copy(other);
  return *this = std::move(copy);
}

Agent& Agent::operator=(Agent&& other) {
  if (this == &other) return *this;
  METTA_CHECK(!link_, "an Agent being trained cannot be assigned to: end its TrainingComponents first");
  preset_ = std::move(other.preset_);
  device_ = std::move(other.device_);
  weights_ = std::move(other.weights_);
  table_ = std::move(other.table_);
  iface_ = std::move(other.iface_);
  link_ = std::move(other.link_);
  if (link_) link_->agent = this;
  return *this;
}

Agent::~Agent() {
  if (link_) link_->agent = nullptr;  // the TrainingComponents train on without it
}

const std::vector<float>& Agent::weights() const {
  if (link_)
    kernels::download_bytes(link_->policy->context(), weights_.data(), link_->policy->params(),
                            weights_.size() * sizeof(float));
  return weights_;
}

void Agent::set_weights(std::vector<float> weights) {
  METTA_CHECK(weights.size() == weights_.size(), "Agent::set_weights: got " << weights.size() << " weights, agent '"
                                                                           << preset_ << "' has " << weights_.size());
  weights_ = std::move(weights);
  if (link_)
    kernels::upload_bytes(link_->policy->context(), link_->policy->params(), weights_.data(),
                          weights_.size() * sizeof(float));
}

std::vector<std::int64_t> TrainingComponents::Experience::iterate_minibatches() const {
  std::vector<std::int64_t> v(static_cast<std::size_t>(num_minibatches));
  for (std::int64_t i = 0; i < num_minibatches; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

const train::distributed::ProcessGroup& process_group() {
  auto get = [](const char* name) -> const char* { return std::getenv(name); };
  const char* single = std::getenv("METTA_NCCL_SINGLE");
  return train::distributed::ProcessGroup::join(train::distributed::rank_info_from(get),
                                                single != nullptr && std::strcmp(single, "1") == 0);
}

TrainingComponents TrainingComponents::create(Environment& vecenv, Agent& policy, const TrainerConfig& trainer_config,
                                              PolicyStore* policy_store) {
  process_group();  // a rank of a data-parallel run when a launcher started this process
  if (trainer_config.device != policy.device() || vecenv.device() != policy.device())
    engine::config_fail("device", "trainer_config '" + trainer_config.device + "', Environment '" + vecenv.device() +
                                      "', Agent '" + policy.device() + "'",
                        "the same device for all three");
  METTA_CHECK(!policy.link_, "this Agent is already being trained by another TrainingComponents");
  TrainingComponents t;
  t.trainer_ =
      std::make_unique<train::Trainer>(trainer_config, vecenv.task_configs(), vecenv.num_envs(), policy.preset(),
                                       vecenv.curriculum() ? vecenv.curriculum()->env_task_probabilities() : std::vector<double>{});
  nn::Policy<float>& p = t.trainer_->policy();
  METTA_CHECK(static_cast<std::int64_t>(policy.weights().size()) == p.num_params(),
              "agent has " << policy.weights().size() << " weights, the trainer's '" << policy.preset() << "' policy "
                           << p.num_params());
  const TrainerConfig& c = trainer_config;
  if (const std::string path = train::initial_policy_path(c); !path.empty()) {
    // Start from a saved policy (trainer.md §14): its weights become the agent's, generation + 1.
    const PolicyRecord r = load_into(PolicyStore::open(path), policy);
    t.trainer_->set_lineage(r.metadata.generation + 1, path);
  }
  kernels::upload_bytes(p.context(), p.params(), policy.weights().data(), policy.weights().size() * sizeof(float));
  t.trainer_->capture_l2_init();
  // Kickstarter (trainer.md §13): teachers of any preset, loaded from their files, teacher_uri first.
  t.kickstarter.teacher_paths = train::add_configured_teachers(*t.trainer_, c);
  t.kickstarter.enabled = !t.kickstarter.teacher_paths.empty();
  t.link_ = std::make_shared<detail::TrainingLink>(detail::TrainingLink{&policy, &p});
  policy.link_ = t.link_;  // Agent::weights() reads the trained weights from now on
  t.store_ = policy_store;
  t.curriculum_ = vecenv.curriculum();  // its probabilities drew the first episodes' tasks
  t.experience.num_minibatches = t.trainer_->num_minibatches();
  t.experience.segments = t.trainer_->segments();
  t.experience.minibatch_segments = t.trainer_->minibatch_segments();
  t.experience.bptt_horizon = trainer_config.bptt_horizon;
  t.experience.batch_size = t.trainer_->batch_size();
  t.optimizer.type = trainer_config.optimizer.type;
  t.optimizer.learning_rate = trainer_config.optimizer.learning_rate;
  t.config_json_ = train::run_config_json(trainer_config, vecenv.curriculum_path());
  t.metrics_ = train::EpochMetrics({true, train::progress_stat_of(vecenv.task_configs().front())});
  t.created_ = now_seconds();
  return t;
}

void TrainingComponents::reset_for_rollout() {
  if (training_open_) finish_epoch();
  trainer_->reset_for_rollout();
  rollout_start_ = now_seconds();
}

bool TrainingComponents::is_ready_for_training() const { return trainer_->is_ready_for_training(); }

std::pair<std::int64_t, engine::CompletedEpisodes> TrainingComponents::rollout_step() {
  const std::int64_t n = trainer_->rollout_step();
  engine::CompletedEpisodes info;
  if (trainer_->is_ready_for_training()) {
    info = trainer_->accumulate_stats();  // read once per rollout: statistics stay on the device until then
    if (curriculum_) curriculum_stats_ = train::feed_curriculum(*trainer_, *curriculum_);
    last_rollout_seconds_ = now_seconds() - rollout_start_;
    timer.rollout_seconds += last_rollout_seconds_;
  }
  return {n, info};
}

void TrainingComponents::accumulate_stats(const engine::CompletedEpisodes& infos) {
  infos_ = infos;
  losses.last.episodes = infos.episodes;
  losses.last.mean_episode_reward = infos.mean_reward;
}

void TrainingComponents::reset_training_state() {
  trainer_->reset_training_state();
  training_open_ = true;
  train_start_ = now_seconds();
}

Advantages TrainingComponents::compute_advantages() { return Advantages{trainer_->compute_advantages()}; }

train::Minibatch TrainingComponents::sample_minibatch(const Advantages&, std::int64_t index, std::int64_t total,
                                                      double anneal_beta, int update_epoch) {
  METTA_CHECK(index >= 0 && index < total, "minibatch " << index << " of " << total);
  mb_ = trainer_->sample_minibatch(index, update_epoch, anneal_beta);
  return mb_;
}

Loss TrainingComponents::train_minibatch(const train::Minibatch& minibatch, const Advantages&) {
  mb_ = minibatch;
  return Loss{trainer_->train_minibatch(minibatch)};
}

void TrainingComponents::optimize_step(const Loss&, int accumulate_steps) {
  METTA_CHECK(accumulate_steps == 1, "accumulate_steps: got " << accumulate_steps
                                                               << ", expected 1 (the reference never accumulates)");
  trainer_->optimize_step(mb_);
}

const train::EpochStats& TrainingComponents::finish_epoch() {
  if (training_open_) {
    const double episodes = losses.last.episodes, reward = losses.last.mean_episode_reward;
    train::EpochStats st;
    trainer_->finish_training(st);
    st.epoch = trainer_->epoch();
    st.agent_step = trainer_->agent_step();
    st.episodes = episodes;
    st.mean_episode_reward = reward;
    const double end = now_seconds(), train = end - train_start_;
    st.rollout_seconds = last_rollout_seconds_;
    st.train_seconds = train;
    st.seconds = train + last_rollout_seconds_;
    st.sps = static_cast<double>(trainer_->batch_size()) / std::max(1e-9, st.seconds);
    losses.last = st;
    timer.train_seconds += train;
    trainer_->add_train_time(train + last_rollout_seconds_);
    training_open_ = false;
    stats_ = metrics_.line(*trainer_, st, infos_, end - created_);
    for (const auto& [k, v] : curriculum_stats_) stats_["env_" + k] = v;
  }
  return losses.last;
}

Agent& TrainingComponents::agent() {
  METTA_CHECK(link_ && link_->agent, "TrainingComponents::agent(): the Agent they train was destroyed");
  return *link_->agent;
}

void TrainingComponents::release_agent() {
  if (!link_) return;  // moved from
  if (Agent* a = link_->agent) {
    try {
      a->weights();  // the final trained weights, to the host
    } catch (const std::exception&) {
      // a failing device leaves the agent with the weights it last read; a destructor must not throw
    }
    a->link_.reset();
  }
  link_.reset();
}

TrainingComponents& TrainingComponents::operator=(TrainingComponents&& other) {
  if (this == &other) return *this;
  release_agent();  // before its trainer goes: the agent reads its final weights from it
  TrainingComponents moved(std::move(other));
  using std::swap;
  swap(agent_step, moved.agent_step);
  swap(experience, moved.experience);
  swap(optimizer, moved.optimizer);
  swap(losses, moved.losses);
  swap(kickstarter, moved.kickstarter);
  swap(timer, moved.timer);
  swap(trainer_, moved.trainer_);
  swap(link_, moved.link_);
  swap(store_, moved.store_);
  swap(last_minibatch_, moved.last_minibatch_);
  swap(mb_, moved.mb_);
  swap(training_open_, moved.training_open_);
  swap(rollout_start_, moved.rollout_start_);
  swap(train_start_, moved.train_start_);
  swap(last_rollout_seconds_, moved.last_rollout_seconds_);
  swap(config_json_, moved.config_json_);
  swap(curriculum_, moved.curriculum_);
  swap(curriculum_stats_, moved.curriculum_stats_);
  swap(infos_, moved.infos_);
  swap(metrics_, moved.metrics_);
  swap(stats_, moved.stats_);
  swap(created_, moved.created_);
  return *this;
}

TrainingComponents::~TrainingComponents() { release_agent(); }

void TrainingComponents::load_curriculum_state(const std::string& state) {
  METTA_CHECK(curriculum_, "load_curriculum_state: this Environment has no curriculum");
  curriculum_->load_state(state);
  trainer_->env().set_task_probabilities(curriculum_->env_task_probabilities());
}

PolicyRecord save_checkpoint(TrainingComponents& training, PolicyStore& policy_store, std::int64_t epoch,
                             const std::map<std::string, std::string>& metadata) {
  METTA_CHECK(epoch < 0 || epoch == training.epoch(), "save_checkpoint: epoch " << epoch << ", but the trainer is at epoch "
                                                                                << training.epoch()
                                                                                << " (leave it out to save the current one)");
  PolicyRecord r;
  std::map<std::string, std::string> meta = metadata;
  if (const auto& c = training.curriculum()) meta["curriculum_state"] = c->save_state();  // for resume
  r.path = training.trainer().save_checkpoint(policy_store.dir(), training.config_json(), meta);
  r.metadata = PolicyStore::read_metadata(r.path);
  return r;
}

PolicyRecord load_checkpoint(PolicyStore& policy_store, const std::string& path, Agent& agent) {
  (void)policy_store;  // paths are explicit; the store is the seed's signature
  return load_into(PolicyStore::open(path), agent);
}

}  // namespace metta::api
