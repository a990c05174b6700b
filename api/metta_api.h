// metta::api — the documented API (seed/metta-api.md) as a thin host-side facade over the trainer:
// configs (TrainerConfig, PPOConfig, OptimizerConfig) with validate(), Environment, Agent,
// TrainingComponents with the loop's steps, PolicyStore with save_checkpoint / load_checkpoint,
// calculate_anneal_beta and the TYPE_* object constants. The loop written with these calls runs exactly
// the code path of `metta train` (train::Trainer), so the same config and seed give the same weights.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "train/checkpoint/policy_env_match.h"
#include "train/checkpoint/policy_store.h"
#include "train/curriculum/curriculum.h"
#include "train/epoch_metrics.h"
#include "train/trainer.h"
#include "engine/config.h"

namespace metta::api {

// ---- object type ids of the game (game-rules.md §2)
inline constexpr int TYPE_AGENT = 0, TYPE_WALL = 1, TYPE_MINE_RED = 2, TYPE_MINE_BLUE = 3, TYPE_MINE_GREEN = 4,
                     TYPE_GENERATOR_RED = 5, TYPE_GENERATOR_BLUE = 6, TYPE_GENERATOR_GREEN = 7, TYPE_ALTAR = 8,
                     TYPE_ARMORY = 9, TYPE_LASERY = 10, TYPE_LAB = 11, TYPE_FACTORY = 12, TYPE_TEMPLE = 13,
                     TYPE_BLOCK = 14;

// ---- configs: the trainer's own (train/trainer_config.h: one default and one table row per field),
// under the seed's names; validate() throws engine::ConfigError naming the field
using train::InitialPolicyConfig;
using train::KickstartConfig;
using train::LrSchedulerConfig;
using train::OptimizerConfig;
using train::PPOConfig;
using train::PrioritizedExperienceReplayConfig;
using train::SimulationConfig;
using train::TeacherConfig;
using train::TrainerConfig;

TrainerConfig create_default_trainer_config(int num_workers = 1, std::int64_t total_timesteps = 10'000'000'000,
                                            std::int64_t batch_size = 524'288, std::int64_t minibatch_size = 16'384);

double calculate_anneal_beta(std::int64_t epoch, std::int64_t total_timesteps, std::int64_t batch_size,
                             double prio_alpha, double prio_beta0);

// ---- data-parallel runs
// This process's rank of a data-parallel run, joined on the first call from the launcher's variables
// (mpirun, srun, or RANK/WORLD_SIZE/LOCAL_RANK; train/distributed/ranks.h): a plain start is rank 0 of
// 1. TrainingComponents::create calls it, so a program started by `mpirun -np N` trains as one of N
// ranks without further code; the program writes files and prints progress where is_main() holds.
// METTA_NCCL_SINGLE=1 in a plain CUDA run sends the gradients through a one-rank NCCL all-reduce (to
// measure what it costs).
const train::distributed::ProcessGroup& process_group();

// ---- environment and agent
class Environment {
 public:
  // curriculum_path: "/env/mettagrid/simple", an embedded env name, an env YAML path, or a curriculum
  // file (train/curriculum/curriculum_yaml.h: random, learning_progress, bucketed). The batch holds
  // num_envs environments; num_workers and batch_size (envs per worker batch) are accepted for
  // compatibility: all envs of a batch are stepped together on `device`. With a curriculum, each env
  // draws its task at every reset; TrainingComponents feed completed episodes back to the curriculum
  // after each rollout and upload its new task probabilities.
  explicit Environment(const std::string& curriculum_path = "/env/mettagrid/simple", std::int64_t num_envs = 64,
                       int num_workers = 1, std::int64_t batch_size = 0, const std::string& device = "cpu",
                       bool zero_copy = true);
  const engine::EnvConfig& config() const { return config_; }  // the first task's
  // The batch's env tasks (one for a plain env; a curriculum's Curriculum::env_task_configs: a task,
  // or a bucketed task's draws of its range values); the curriculum, or null for a plain env.
  std::vector<engine::EnvConfig> task_configs() const;
  const std::shared_ptr<train::curriculum::Curriculum>& curriculum() const { return curriculum_; }
  std::int64_t num_envs() const { return num_envs_; }
  int num_agents() const { return config_.num_agents; }  // per env
  const std::string& device() const { return device_; }
  const std::string& curriculum_path() const { return path_; }

 private:
  std::string path_, device_;
  engine::EnvConfig config_;
  std::int64_t num_envs_;
  std::shared_ptr<train::curriculum::Curriculum> curriculum_;
};

struct AgentConfig {
  std::string preset = "api_default";  // "api_default" (hidden 512, 1 LSTM layer), "fast" or "small"
  int hidden_dim = 0;                  // the encoder's output and LSTM width; 0 = the preset's
  int lstm_layers = 0;                 // 0 = the preset's
  // The agent spec the trainer and checkpoints use, e.g. "api_default:hidden_dim=256:lstm_layers=2".
  std::string spec() const;
};

class Agent;
namespace detail {
// What an Agent and the TrainingComponents that train it share: either side may go first. The agent's
// destructor clears `agent`; the end of training hands the weights back and drops the link.
struct TrainingLink {
  Agent* agent = nullptr;
  nn::Policy<float>* policy = nullptr;  // the policy being trained
};
}  // namespace detail

class Agent {
 public:
  // device: "cpu" or "cuda", where TrainingComponents trains it (the Environment and the TrainerConfig
  // must name the same device). The initial weights come from `seed`.
  explicit Agent(const Environment& env, const AgentConfig& config = {}, const std::string& device = "cpu",
                 std::uint64_t seed = 1);
  const std::string& preset() const { return preset_; }  // the agent spec (AgentConfig::spec)
  const std::string& device() const { return device_; }
  std::int64_t num_params() const { return static_cast<std::int64_t>(weights_.size()); }
  // The current weights, flat in ParamTable order: the initial or loaded ones, and while TrainingComponents
  // trains this agent, the trained ones as they are now (copied from the device at each call).
  const std::vector<float>& weights() const;
  // Replaces the weights (same count; also on the device while training).
  void set_weights(std::vector<float> weights);
  const nn::ParamTable& table() const { return table_; }  // names and shapes of the weights
  const checkpoint::EnvInterface& env_interface() const { return iface_; }  // what it was built for

  // A copy holds the source's current weights and is not trained; a move takes the training along. An
  // Agent being trained cannot be assigned to (end its TrainingComponents first). An Agent may go before
  // the TrainingComponents that train it: they keep training without it.
  Agent(const Agent& other);
  Agent(Agent&& other) noexcept;
  Agent& operator=(const Agent& other);
  Agent& operator=(Agent&& other);
  ~Agent();

 private:
  friend class TrainingComponents;
  std::string preset_, device_;
  mutable std::vector<float> weights_;
  nn::ParamTable table_;
  checkpoint::EnvInterface iface_;
  std::shared_ptr<detail::TrainingLink> link_;  // while TrainingComponents train this agent
};

// ---- checkpoints
using checkpoint::PolicyStore;
struct PolicyRecord {
  std::string path;
  checkpoint::PolicyMetadata metadata;
};

// ---- the training loop's components
struct Advantages {
  const float* data;  // [segments, bptt_horizon] on the device
};
struct Loss {
  const float* stats;  // kernels::PpoStat values of this minibatch, on the device
};

class TrainingComponents {
 public:
  // Trains `policy` on `vecenv` on the device they and trainer_config name (all three must agree). An
  // Agent is trained by one TrainingComponents at a time.
  static TrainingComponents create(Environment& vecenv, Agent& policy, const TrainerConfig& trainer_config,
                                   PolicyStore* policy_store = nullptr);

  std::int64_t agent_step = 0;   // the caller's count (the seed's loop adds rollout_step's result)
  std::int64_t epoch() const { return trainer_->epoch(); }

  struct Experience {
    std::int64_t num_minibatches = 0, segments = 0, minibatch_segments = 0, bptt_horizon = 0, batch_size = 0;
    std::vector<std::int64_t> iterate_minibatches() const;  // 0 .. num_minibatches - 1
  } experience;
  struct Optimizer {
    std::string type;
    double learning_rate = 0;
  } optimizer;
  struct Losses {
    train::EpochStats last;  // statistics of the last finished train phase
  } losses;
  struct Kickstarter {
    bool enabled = false;                    // a teacher was configured
    std::vector<std::string> teacher_paths;  // their model files, in order
  } kickstarter;
  struct Timer {
    double rollout_seconds = 0, train_seconds = 0;
  } timer;

  // Rollout phase. reset_for_rollout also closes the previous train phase (epoch += 1, losses.last).
  void reset_for_rollout();
  bool is_ready_for_training() const;
  // One step of every env: returns (agent steps, episodes completed so far in this rollout).
  std::pair<std::int64_t, engine::CompletedEpisodes> rollout_step();
  void accumulate_stats(const engine::CompletedEpisodes& infos);
  // Training phase.
  void reset_training_state();
  Advantages compute_advantages();
  train::Minibatch sample_minibatch(const Advantages& advantages, std::int64_t index, std::int64_t total_minibatches,
                                    double anneal_beta, int update_epoch = 0);
  Loss train_minibatch(const train::Minibatch& minibatch, const Advantages& advantages);
  void optimize_step(const Loss& loss, int accumulate_steps = 1);
  // Closes the train phase now (also done by the next reset_for_rollout).
  const train::EpochStats& finish_epoch();

  TrainingComponents(TrainingComponents&&) = default;
  TrainingComponents& operator=(TrainingComponents&& other);  // the replaced one hands its agent back first
  // Hands the trained weights back to the Agent, which then holds them on the host.
  ~TrainingComponents();

  train::Trainer& trainer() { return *trainer_; }
  const std::string& config_json() const { return config_json_; }  // saved in each model's metadata
  // With a curriculum: its stats after the last rollout (curriculum_task_probs/<task>, task_completions/
  // <task>, task_reward/<task>/rewards.mean); empty otherwise.
  const std::map<std::string, double>& curriculum_stats() const { return curriculum_stats_; }
  // The metrics line of the last finished epoch, as metta train logs it (train/epoch_metrics.h,
  // trainer.md §16: losses/, experience/, env_agent/<key> and env_game/<key> of the episodes given to
  // accumulate_stats, timing_per_epoch/, trainer_memory/, parameters/, the curriculum's env_ keys, ...);
  // empty before the first epoch is finished.
  const std::map<std::string, double>& stats() const { return stats_; }
  // The curriculum's state goes into each saved model's metadata ("curriculum_state"); a resumed run
  // reads it back with this (and uploads the task probabilities it gives).
  void load_curriculum_state(const std::string& state);
  const std::shared_ptr<train::curriculum::Curriculum>& curriculum() const { return curriculum_; }  // or null
  // The agent being trained; an error when it was destroyed before these components.
  Agent& agent();
  PolicyStore* policy_store() { return store_; }

 private:
  TrainingComponents() = default;
  void release_agent();
  std::unique_ptr<train::Trainer> trainer_;
  std::shared_ptr<detail::TrainingLink> link_;
  PolicyStore* store_ = nullptr;
  const train::Minibatch* last_minibatch_ = nullptr;
  train::Minibatch mb_{};
  bool training_open_ = false;
  double rollout_start_ = 0, train_start_ = 0, last_rollout_seconds_ = 0;
  std::string config_json_;
  std::shared_ptr<train::curriculum::Curriculum> curriculum_;
  std::map<std::string, double> curriculum_stats_;
  engine::CompletedEpisodes infos_;  // the last accumulate_stats's
  train::EpochMetrics metrics_;
  std::map<std::string, double> stats_;
  double created_ = 0;
};

// Saves the trained weights (and the trainer state beside them) as model_{epoch:04d}.safetensors of
// the current epoch; `epoch`, when given (>= 0), must be that epoch.
PolicyRecord save_checkpoint(TrainingComponents& training, PolicyStore& policy_store, std::int64_t epoch = -1,
                             const std::map<std::string, std::string>& metadata = {});
// Loads a model file into the agent's weights (same preset), returning its record.
PolicyRecord load_checkpoint(PolicyStore& policy_store, const std::string& path, Agent& agent);

// TrainerConfig -> the trainer's settings for a given environment.

}  // namespace metta::api
