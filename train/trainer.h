// The PPO trainer (trainer.md §7–12, decision D4) over one batched environment and one policy, all on
// one backend. An epoch is a rollout of exactly batch_size agent-steps into the experience buffer
// ([S, H], S = k x agents) followed by the train phase: full-buffer advantage, then per minibatch a
// prioritized sample, the training forward over the horizon, the V-trace advantage with the new ratio,
// the fused PPO loss, backward, global-norm clipping and the Adam step. Everything per agent stays on
// the device; the host reads a few scalars per epoch (EpochStats).
// Data parallel (train/distributed/): in a run of N ranks each process holds one Trainer over its own
// envs (env keys and action draws numbered after the ranks before it, so N ranks of E envs are one
// process of N x E envs), batch_size and minibatch_size are global (each rank takes 1/N), gradients
// are averaged over the ranks before clipping, and statistics are reduced; the weights stay identical.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/checkpoint/checkpoint_dir.h"
#include "engine/batched_env.h"
#include "kernels/advantage.h"
#include "kernels/captured_work.h"
#include "kernels/experience.h"
#include "kernels/kickstarter.h"
#include "kernels/optimizer.h"
#include "kernels/ppo_loss.h"
#include "kernels/sampling.h"
#include "nn/policy.h"
#include "train/distributed/process_group.h"
#include "train/epoch_timing.h"
#include "train/trainer_config.h"

namespace metta::train {

// Means over the epoch's experience buffer (trainer.md §16 experience/...), after the train phase wrote
// its values and ratios back; actions over every action int (type and argument).
struct ExperienceStats {
  double rewards = 0, values = 0, logprobs = 0, dones = 0, truncateds = 0, ratio = 0;
  double actions_mean = 0, actions_std = 0;
};

struct EpochStats {
  std::int64_t epoch = 0, agent_step = 0;
  double seconds = 0, rollout_seconds = 0, train_seconds = 0, sps = 0;
  double episodes = 0, mean_episode_reward = 0;  // episodes completed during this epoch's rollout
  float losses[kernels::kPpoStatCount] = {};     // means over the epoch's minibatches
  float grad_norm = 0;
  float ks_action_loss = 0, ks_value_loss = 0;   // kickstarter terms (0 without a teacher)
  double explained_variance = 0;
  float l2_reg_loss = 0, l2_init_loss = 0;       // 0 unless their coefficients are set
  bool has_grad_stats = false;                   // grad_mean_variance_interval epochs
  double grad_mean = 0, grad_variance = 0, grad_l2_norm = 0;
  ExperienceStats experience;
  EpochTiming timing;  // seconds per part of this epoch (all zero when part timing is off)
};

// One sampled minibatch (device pointers into the trainer's workspaces).
struct Minibatch {
  const std::int32_t* rows;  // [segments] buffer rows
  const float* weights;      // [segments] prioritized-replay weights
  std::int64_t segments;
};

class Trainer {
 public:
  // Trains preset `agent` (nn::PolicyArch::by_name) on num_envs copies of env_config; config.validate()
  // runs first (a bad value is a ConfigError naming the field).
  Trainer(const TrainerConfig& config, const engine::EnvConfig& env_config, std::int64_t num_envs,
          const std::string& agent);
  // The same over several tasks (curricula): each env draws its task at reset (engine::BatchedEnv), the
  // first episodes' from task_probabilities (empty = uniform).
  Trainer(const TrainerConfig& config, const std::vector<engine::EnvConfig>& tasks, std::int64_t num_envs,
          const std::string& agent, const std::vector<double>& task_probabilities = {});
  ~Trainer();
  // One epoch: the composition of the steps below (the documented API loop, metta::api).
  EpochStats run_epoch();

  // The epoch's steps, as the documented API exposes them.
  void reset_for_rollout();
  bool is_ready_for_training() const;
  // One env step of every agent; returns agent steps (of every rank). With trainer.rollout_graph, once
  // the first rollout has run, the first call of an epoch runs the whole recorded rollout.
  std::int64_t rollout_step();
  engine::CompletedEpisodes accumulate_stats();       // episodes completed since the last call
  // Per task, the episodes of the last accumulate_stats (one entry with one task).
  const std::vector<engine::TaskEpisodes>& last_task_episodes() const { return task_episodes_; }
  // With several tasks, the own scores of the episodes of the last accumulate_stats that the envs kept
  // (engine::kKeptScores per env; every rank's, in rank order): what a curriculum is fed one by one.
  const std::vector<engine::EpisodeScore>& last_episode_scores() const { return episode_scores_; }
  void reset_training_state();
  const float* compute_advantages();                  // full-buffer advantages [S, H] on the device
  double anneal_beta() const;  // prioritized replay's beta for this epoch
  // The epoch's update passes: trainer.update_epochs passes over every minibatch (sample, train,
  // optimize), stopped early by target_kl. run_epoch and train::Run call it; the documented API loop
  // spells the same calls out.
  void run_update_passes();
  std::int64_t num_minibatches() const { return segments_ / mb_segments_; }
  // With trainer.update_graph (one rank, no active teacher, after a first plain update), the call for
  // the phase's next minibatch in order (update pass 0 minibatch 0, 1, ..., then pass 1, ...) replays
  // the recorded update whole: sampling, loss, backward and optimizer step; train_minibatch then returns
  // its statistics and optimize_step does nothing more. A call out of that order ends the phase's
  // replays (the plain update serves the rest).
  Minibatch sample_minibatch(std::int64_t index, int update_epoch, double beta);
  const float* train_minibatch(const Minibatch& mb);  // loss, backward; returns the PPO stats (device)
  void optimize_step(const Minibatch& mb);            // clip, optimizer step, buffer write-back
  void finish_training(EpochStats& out);              // explained variance, epoch statistics, epoch += 1
  // Mean approx_kl over this train phase's updates so far (one scalar read from the device).
  double mean_approx_kl() const;
  // True when target_kl is set and exceeded: the caller stops this phase's update passes.
  bool kl_limit_reached() const;
  double current_learning_rate() const { return current_lr_; }
  std::int64_t optimizer_steps() const { return total_updates_; }
  std::int64_t recorded_update_replays() const { return total_replays_; }  // trainer.update_graph's
  // Per-part epoch timing (train/epoch_timing.h): on by default on the CPU, where it costs a clock read
  // per part; off by default on CUDA, where it synchronizes after every part. finish_training hands the
  // epoch's figures to EpochStats::timing.
  void set_part_timing(bool on) { part_timing_ = on; }
  bool part_timing() const { return part_timing_; }
  // Time a caller spent on a part of its own (the run's curriculum feedback), counted into this epoch.
  void add_part_seconds(EpochPart part, double seconds) {
    if (part_timing_) timing_[part] += seconds;
  }
  std::int64_t agent_step() const { return agent_step_; }  // of every rank together
  int world() const { return world_; }
  int rank() const { return rank_; }
  std::int64_t epoch() const { return epoch_; }
  std::int64_t batch_size() const { return segments_ * config_.bptt_horizon * world_; }  // global
  std::int64_t minibatch_segments() const { return mb_segments_; }
  std::int64_t segments() const { return segments_; }
  engine::BatchedEnv& env() { return *env_; }
  nn::Policy<float>& policy() { return *policy_; }
  const TrainerConfig& config() const { return config_; }
  const std::string& agent() const { return agent_; }
  std::int64_t num_envs() const { return num_envs_; }  // this rank's
  // The effective sizes as a one-line description (k, segments, batch, minibatch).
  std::string describe() const;
  // Distil from a teacher of preset `agent` with these weights (flat, in ParamTable order); it sees the
  // same minibatches from a zero LSTM state (trainer.md §13). set_teacher replaces all teachers with one
  // using config().kickstart's coefficients; add_teacher appends one with its own. With several, the
  // reference's order is kept: each teacher's coefficients (times the annealing factor) rescale the
  // action term summed so far, so teacher j's cross-entropy weighs the product of its and every later
  // teacher's action coefficient; the value terms just add.
  void set_teacher(const std::string& agent, const std::vector<float>& weights);
  void add_teacher(const std::string& agent, const std::vector<float>& weights, float action_loss_coef,
                   float value_loss_coef);
  std::size_t num_teachers() const { return teachers_.size(); }
  // Takes the current weights as W_init of the l2-init term (call after loading starting weights).
  void capture_l2_init();
  // Lineage written into every model file (trainer.md §14): generation = the initial policy's + 1.
  void set_lineage(std::int64_t generation, const std::string& initial_uri);
  std::int64_t generation() const { return generation_; }
  // Rollout + train seconds, accumulated by the caller and saved as the models' train_time.
  void add_train_time(double seconds) { train_time_ += seconds; }
  double train_time() const { return train_time_; }
  // Bytes this trainer holds on its device, by part (the trainer_memory/ metrics): the experience
  // buffer with its epoch-statistics terms, the minibatch workspaces, the optimizer moments, the
  // weights and their gradients.
  struct MemoryBytes {
    double experience = 0, minibatch = 0, optimizer = 0, parameters = 0;
  };
  MemoryBytes memory_bytes() const;

  // Checkpoints (train/checkpoint/checkpoint_dir.h): everything a bit-identical continuation needs besides
  // the weights in trainer_state_{epoch:04d}.safetensors (optimizer moments, step counters: the
  // counter-based RNG's state, the rollout LSTM state and the whole environment state), then the policy
  // as model_{epoch:04d}.safetensors through a PolicyStore in `dir`. Both files are written atomically;
  // the states of models the store no longer keeps are removed. Returns the model path.
  // With several ranks every rank calls this and resume(): rank 0 gathers the others' env and LSTM
  // states (tensors "rank<r>.*") and writes the files alone; each rank resumes its own part from them
  // (the folder must be shared), and a checkpoint of another world size is refused.
  std::string save_checkpoint(const std::string& dir, const std::string& config_json = "{}",
                              const std::map<std::string, std::string>& user_metadata = {}) const;
  // Restores the newest complete checkpoint in `dir` (or the one of the epoch `resume_from` names: an epoch, or a
  // model or trainer-state file of `dir`; the newer ones are then moved to dir/abandoned); false when
  // the folder holds neither models nor states. Never a silent fresh start: throws CheckpointError when
  // models have no trainer state, and on a corrupt, truncated, wrong-version or mismatched file, naming
  // it and the ways to continue (an older sound checkpoint, deleting the damaged one).
  bool resume(const std::string& dir, const std::string& resume_from = "");
  // The epoch of the newest checkpoint this trainer saved or resumed from (0 before any).
  std::int64_t latest_saved_epoch() const { return latest_saved_epoch_; }
  // Optimizer moments (Adam m then v, or Muon's momentum) copied to the host, for tests.
  std::vector<float> optimizer_state() const;

 private:
  void restore_checkpoint(const checkpoint::CheckpointEntry& entry);
  // The weights of every rank are the same bits, or a metta::Error (checked each epoch when world > 1).
  void check_ranks_agree() const;
  // trainer.rollout_graph: the whole rollout, recorded at its first use and replayed.
  std::int64_t recorded_rollout();
  // The device work of sample_minibatch, train_minibatch and optimize_step: with device_step, their
  // per-update scalars come from device memory (a recorded update); else from the arguments.
  void sample_work(std::int64_t index, int update_epoch, double beta, const kernels::UpdateStepScalars* device_step);
  // timing: where to add the parts' seconds, or null (always null inside a recording)
  const float* train_step_work(const Minibatch& mb, EpochTiming* timing);
  void optimizer_work(const Minibatch& mb, std::int64_t step, const kernels::UpdateStepScalars* device_step,
                      EpochTiming* timing);
  EpochTiming* timing() { return part_timing_ ? &timing_ : nullptr; }
  // trainer.update_graph: replays the recorded update for minibatch (update_epoch, index) when it is the
  // phase's next (writing the phase's table first, recording at first use); false when it does not apply.
  bool replay_update(std::int64_t index, int update_epoch, double beta);

  TrainerConfig config_;
  std::int64_t num_envs_;
  std::string agent_;
  const distributed::ProcessGroup* group_ = nullptr;
  int world_ = 1, rank_ = 0;
  // The config's values as the kernels take them (floats), built once from config_.
  struct KernelParams {
    kernels::PpoLossParams ppo;
    kernels::AdvantageParams advantage;
    kernels::AdamParams adam;
    kernels::KickstarterParams kickstart;
    float max_grad_norm, prio_alpha, prio_beta0, target_kl, l2_reg_loss_coef, l2_init_loss_coef;
  } kp_{};
  // trainer.rollout_graph on CUDA: every launch goes to this stream (graph capture needs one of its own);
  // declared before everything that launches on it, so it is destroyed after them
  std::unique_ptr<kernels::OwnedStream> stream_;
  kernels::Context ctx_;
  std::unique_ptr<engine::BatchedEnv> env_;
  std::vector<engine::TaskEpisodes> task_episodes_;
  std::vector<engine::EpisodeScore> episode_scores_;
  std::unique_ptr<nn::Policy<float>> policy_;
  struct Teacher {
    std::unique_ptr<nn::Policy<float>> policy;
    float action_loss_coef, value_loss_coef;
  };
  std::vector<Teacher> teachers_;
  kernels::KickstarterLoss kickstart_;
  std::int64_t agents_ = 0, k_ = 1, segments_ = 0, mb_segments_ = 0;
  std::int64_t agent_step_ = 0, epoch_ = 0, opt_step_ = 0;
  std::uint32_t rollout_counter_ = 0;
  std::int64_t rollout_step_ = 0, updates_ = 0, total_updates_ = 0;
  double current_lr_ = 0;
  std::int64_t generation_ = 0;
  std::string initial_uri_;
  double train_time_ = 0;
  mutable std::int64_t latest_saved_epoch_ = 0;  // set by save_checkpoint (const: it changes no training state)
  struct Buffers;
  std::unique_ptr<Buffers> b_;
  kernels::ExperienceView view_{};
  kernels::PpoLoss ppo_;
  kernels::GradNorm grad_norm_;
  kernels::VectorMoments param_moments_, grad_moments_;
  kernels::Muon muon_;
  kernels::PrioritizedSampler sampler_;
  kernels::SegmentedSum epoch_sum_;
  // trainer.rollout_graph: the recorded rollout, and the sampling counter its replays read (the value of
  // rollout_counter_ when a replay starts; counter_dev_value_ is what the device holds)
  std::unique_ptr<kernels::CapturedWork> rollout_graph_;
  kernels::DeviceBuffer<std::uint32_t> counter_dev_;
  std::uint32_t counter_dev_value_ = 0;
  bool rollout_warmed_ = false;  // a plain rollout has run (handles and lazy workspaces exist)
  // trainer.update_graph: the recorded minibatch update, the epoch's table of per-update scalars, the
  // index of the next entry and the entry a replay reads (all on the device), and the learning rate the
  // recording holds (Muon takes it as an argument: a new rate means a new recording)
  std::unique_ptr<kernels::CapturedWork> update_graph_;
  kernels::DeviceBuffer<kernels::UpdateStepScalars> update_table_, update_current_;
  kernels::DeviceBuffer<std::uint32_t> update_index_;
  float recorded_lr_ = 0;
  bool update_warmed_ = false;  // a plain update has run (lazy workspaces exist)
  bool update_phase_fresh_ = false;  // reset_training_state ran: the table is still to write
  bool replayed_ = false;            // the last sample_minibatch replayed the whole update
  std::int64_t update_replays_ = 0;  // replays this phase (the device's index); -1: ended
  double update_table_beta_ = 0;
  std::int64_t total_replays_ = 0;
  bool part_timing_ = false;
  EpochTiming timing_;  // this epoch's so far
};

}  // namespace metta::train
