// The trainer's configuration, written once: each field has one default (here) and one row in its
// struct's table (visit_fields below), from which reading YAML, validation, writing the resolved config
// and the resume rule all follow (engine/config_fields.h). The documented API re-exports these structs
// under the seed's names (metta::api::TrainerConfig, PPOConfig, ...). The kernels' parameter structs (PPO
// loss, advantage, Adam, kickstarter) are built from them by the *_params functions below, the one place
// doubles of the config become the kernels' floats. Defaults follow trainer.md §7, §12, §13.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/advantage.h"
#include "kernels/kickstarter.h"
#include "kernels/optimizer.h"
#include "kernels/ppo_loss.h"
#include "nn/policy.h"
#include "engine/config_fields.h"

namespace metta::train {

using engine::field;
using engine::number_in;
using engine::validate_fields;

struct PPOConfig {
  double clip_coef = 0.1, ent_coef = 0.0021, gamma = 0.977, gae_lambda = 0.916, vf_coef = 0.44, vf_clip_coef = 0.1;
  double max_grad_norm = 0.5;
  bool norm_adv = true, clip_vloss = true;
  double vtrace_rho_clip = 1.0, vtrace_c_clip = 1.0;
  // Logged terms without gradient, as in the reference: l2_reg = coef * sum W^2, l2_init = coef *
  // sum (W - W_init)^2 (losses/l2_reg_loss, losses/l2_init_loss; computed once per train phase).
  double l2_reg_loss_coef = 0.0, l2_init_loss_coef = 0.0;
  void validate() const;
};

struct OptimizerConfig {
  std::string type = "adam";  // "adam" | "muon" (same lr, betas, eps, weight decay)
  double learning_rate = 0.0004573146765703167, beta1 = 0.9, beta2 = 0.999, eps = 1e-12, weight_decay = 0.0;
  void validate() const;
};

struct PrioritizedExperienceReplayConfig {
  double prio_alpha = 0.0, prio_beta0 = 0.6;
  void validate() const;
};

struct TeacherConfig {
  std::string teacher_uri;  // a model file or checkpoint folder (file:// accepted)
  double action_loss_coef = 1.0, value_loss_coef = 1.0;
};

struct KickstartConfig {
  // A model file (or a checkpoint folder: its newest valid model) to distil from; "" = no teacher.
  // Accepted forms: a path or file://path.
  std::string teacher_uri;
  double action_loss_coef = 1.0, value_loss_coef = 1.0, anneal_ratio = 0.65, kickstart_steps = 1e9;
  // More teachers after teacher_uri, each with its own coefficients (trainer.md §13).
  std::vector<TeacherConfig> additional_teachers;
  void validate() const;
};

struct LrSchedulerConfig {
  bool enabled = false;  // cosine annealing over total_timesteps / batch_size train phases
  // Accepted and ignored, as in the reference (the schedule is always cosine when enabled).
  bool anneal_lr = false;
  std::int64_t warmup_steps = 0;  // YAML null = 0
  std::string schedule_type;      // YAML null = ""
  void validate() const;
};

// The policy a run starts from when it has no checkpoint of its own (trainer.md §14).
struct InitialPolicyConfig {
  std::string uri;           // "" = a fresh policy; a model file, a checkpoint folder, or file://...
  std::string type = "top";  // how a folder is read: "top" (best metric), "latest" or "specific" (= the file)
  int range = 1;             // the reference's candidate count; we take the single best
  std::string metric = "epoch";  // "epoch", "agent_step" or a metadata score key
  void validate() const;
};

// In-training evaluation (trainer.md §17): every evaluate_interval epochs and at the end, the current
// policy plays num_episodes of the training task (fresh maps from eval_seed) and the scores are logged
// as eval_eval/score, eval_eval/training_task and overview/eval_score. With replay_dir set, the first
// evaluation env of each evaluation is written as a MettaScope replay <replay_dir>/<run>_e<epoch>.json.z.
struct SimulationConfig {
  int num_episodes = 8;
  std::uint64_t eval_seed = 1000;
  std::string replay_dir;  // "" = no replays
  std::string suite;       // an evaluation suite file (train/eval/suite.h), played besides the training task
  void validate() const;
};

struct TrainerConfig {
  int num_workers = 1;  // YAML null = derived from the CPU count (trainer.md §10)
  std::int64_t total_timesteps = 10'000'000'000;
  // Targets: the effective batch is k x agents x bptt_horizon, the minibatch whole segments dividing it.
  std::int64_t batch_size = 524'288, minibatch_size = 16'384;
  int bptt_horizon = 64, update_epochs = 1;
  std::int64_t forward_pass_minibatch_target_size = 4096;
  int async_factor = 2;
  bool zero_copy = true;
  int checkpoint_interval = 50, evaluate_interval = 200, wandb_checkpoint_interval = 50;
  bool resume = true;   // continue from the newest checkpoint of the run when there is one
  // Resume from this checkpoint of the run instead of the newest: an epoch number or a model_NNNN /
  // trainer_state_NNNN file of its checkpoint folder ("" = the newest); newer ones are moved aside.
  std::string resume_from;
  bool verbose = true;  // a progress line per epoch
  // Accepted for compatibility: our kernels are compiled ahead of time (compile has no effect) and the
  // training state never leaves the device (cpu_offload must be false). batch_size and minibatch_size
  // are always global over the ranks of a data-parallel run, as the reference's
  // scale_batches_by_world_size: true makes them (so the flag changes nothing).
  bool cpu_offload = false, compile = false, scale_batches_by_world_size = false;
  // Seconds a rank of a data-parallel run waits in a collective before it gives up with an error.
  double collective_timeout = 600;
  std::string compile_mode = "reduce-overhead";
  int profiler_interval_epochs = 10000;    // accepted; profiling is done with the bench/ tools
  int grad_mean_variance_interval = 0;     // epochs between grad/{mean, variance, norm} logs; 0 = off
  int l2_init_weight_update_interval = 0;  // epochs between W_init <- 0.9 W_init + 0.1 W; 0 = fixed
  // The job's top-level keys seed, device and threads in YAML; fields here for the API.
  std::uint64_t seed = 1;
  std::string device = "cpu";
  int threads = 0;                         // CPU threads, 0 = all
  bool train_from_rollout_state = true;    // false: segments replay from a zero LSTM state (reference)
  double target_kl = 0;                    // stop an epoch's update passes above this mean approx_kl; <= 0: off
  // The LSTM of a CUDA policy: "auto" (cuDNN when it works here, else ours), "cudnn" or "native" (ours).
  std::string lstm = "auto";
  // CUDA GEMMs: "fp32", "tf32" or "bf16" (tensor cores, fp32 storage and accumulation;
  // kernels::MathMode). The CPU computes in fp32 either way.
  std::string precision = "fp32";
  // The policy's first convolution: "tokens" (computed from the observation tokens, no box and no
  // im2col) or "dense" (over the scattered box, as GEMMs on im2col columns). The same function and
  // weights either way; a speed choice, both backends.
  std::string first_conv = "tokens";
  // Record the rollout (policy forward and sampling, experience store, env step: every step of an
  // epoch's rollout) once, after a first plain rollout, and replay it each epoch: on CUDA one graph
  // launch on a stream of the trainer's own; on the CPU the same recorded work runs again. The first
  // rollout_step() of an epoch then runs the whole rollout. The same results as without.
  bool rollout_graph = false;
  // Record one minibatch update (sampling, gather, forward, loss, backward, clipping, optimizer step)
  // once and replay it for every minibatch of every epoch: on CUDA one graph launch per minibatch, on the
  // stream rollout_graph uses; on the CPU the same recorded work runs again. What changes from update to
  // update (the sampler's keys, beta, Adam's bias corrections) is read from a table the host writes once
  // per epoch. The same results as without. Runs with an active kickstarting teacher or several ranks
  // keep the plain update (Trainer::sample_minibatch says when a call replays).
  bool update_graph = false;
  // CUDA: linear and convolution layers add their bias and ReLU inside the GEMM (cuBLASLt epilogues)
  // instead of in a pass of their own; shapes cuBLASLt cannot serve keep the pass. The CPU ignores it.
  bool fused_epilogues = false;
  LrSchedulerConfig lr_scheduler;
  InitialPolicyConfig initial_policy;
  SimulationConfig simulation;
  PPOConfig ppo;
  OptimizerConfig optimizer;
  PrioritizedExperienceReplayConfig prioritized_experience_replay;
  KickstartConfig kickstart;
  void validate() const;
};

// num_workers: null (trainer.md §10): the largest power of 2 <= cpu_count / 2, at least 1.
int derived_num_workers();

// The tables: one row per field (engine/config_fields.h says how they are used).
template <class V>
void visit_fields(PPOConfig& c, V& v) {
  v(field("clip_coef", c.clip_coef).range(0, 10, number_in(0, 10)));
  v(field("vf_clip_coef", c.vf_clip_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("ent_coef", c.ent_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("vf_coef", c.vf_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("gamma", c.gamma).range(0, 1, number_in(0, 1)));
  v(field("gae_lambda", c.gae_lambda).range(0, 1, number_in(0, 1)));
  v(field("max_grad_norm", c.max_grad_norm).range(1e-12, 1e12, number_in(1e-12, 1e12)));
  v(field("norm_adv", c.norm_adv));
  v(field("clip_vloss", c.clip_vloss));
  v(field("vtrace_rho_clip", c.vtrace_rho_clip).range(1e-12, 1e12, number_in(1e-12, 1e12)));
  v(field("vtrace_c_clip", c.vtrace_c_clip).range(1e-12, 1e12, number_in(1e-12, 1e12)));
  v(field("l2_reg_loss_coef", c.l2_reg_loss_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("l2_init_loss_coef", c.l2_init_loss_coef).range(0, 1e9, number_in(0, 1e9)));
}

template <class V>
void visit_fields(OptimizerConfig& c, V& v) {
  v(field("type", c.type).one_of({"adam", "muon"}));
  v(field("learning_rate", c.learning_rate).range(1e-12, 10, number_in(1e-12, 10)));
  v(field("beta1", c.beta1).range(0, 0.999999, number_in(0, 0.999999)));
  v(field("beta2", c.beta2).range(0, 0.999999999, number_in(0, 0.999999999)));
  v(field("eps", c.eps).range(0, 1, number_in(0, 1)));
  v(field("weight_decay", c.weight_decay).range(0, 1, number_in(0, 1)));
}

template <class V>
void visit_fields(PrioritizedExperienceReplayConfig& c, V& v) {
  v(field("prio_alpha", c.prio_alpha).range(0, 10, number_in(0, 10)));
  v(field("prio_beta0", c.prio_beta0).range(0, 1, number_in(0, 1)));
}

template <class V>
void visit_fields(TeacherConfig& c, V& v) {
  v(field("teacher_uri", c.teacher_uri).required("a model file or checkpoint folder"));
  v(field("action_loss_coef", c.action_loss_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("value_loss_coef", c.value_loss_coef).range(0, 1e9, number_in(0, 1e9)));
}

template <class V>
void visit_fields(KickstartConfig& c, V& v) {
  v(field("teacher_uri", c.teacher_uri).null_reads_as(""));
  v(field("action_loss_coef", c.action_loss_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("value_loss_coef", c.value_loss_coef).range(0, 1e9, number_in(0, 1e9)));
  v(field("anneal_ratio", c.anneal_ratio).range(0, 1, number_in(0, 1)));
  v(field("kickstart_steps", c.kickstart_steps).range(0, 1e18, number_in(0, 1e18)));
  v.list("additional_teachers", c.additional_teachers);
}

template <class V>
void visit_fields(LrSchedulerConfig& c, V& v) {
  v(field("enabled", c.enabled));
  v(field("anneal_lr", c.anneal_lr));
  v(field("warmup_steps", c.warmup_steps).range(0, 1e18, "null or >= 0").null_reads_as(0));
  v(field("schedule_type", c.schedule_type).null_reads_as(""));
}

template <class V>
void visit_fields(InitialPolicyConfig& c, V& v) {
  v(field("uri", c.uri).null_reads_as(""));
  v(field("type", c.type).one_of({"top", "latest", "specific"}));
  v(field("range", c.range).range(1, 1 << 20, "an integer in [1, 1048576]"));
  v(field("metric", c.metric).required("a metric name such as 'epoch'"));
}

template <class V>
void visit_fields(SimulationConfig& c, V& v) {
  v(field("num_episodes", c.num_episodes).range(1, 1 << 20, "an integer in [1, 1048576]").resume_safe());
  v(field("eval_seed", c.eval_seed).resume_safe());
  v(field("replay_dir", c.replay_dir).null_reads_as("").resume_safe());
  v(field("suite", c.suite).null_reads_as("").resume_safe());
}

template <class V>
void visit_fields(TrainerConfig& c, V& v) {
  v(field("total_timesteps", c.total_timesteps).range(1, 9.2e18, "a count >= 1").resume_safe());
  v(field("batch_size", c.batch_size).range(1, 9.2e18, "a count >= 1"));
  v(field("minibatch_size", c.minibatch_size));  // rules across fields: TrainerConfig::validate
  v(field("bptt_horizon", c.bptt_horizon).range(2, 1 << 16, "an integer in [2, 65536]"));
  v(field("update_epochs", c.update_epochs).range(1, 1 << 16, "an integer in [1, 65536]"));
  v(field("num_workers", c.num_workers).range(1, 4096, "an integer in [1, 4096]").null_reads_as(derived_num_workers()).resume_safe());
  v(field("forward_pass_minibatch_target_size", c.forward_pass_minibatch_target_size).range(1, 9.2e18, "a count >= 1"));
  v(field("async_factor", c.async_factor).range(1, 1 << 10, "an integer in [1, 1024]"));
  v(field("zero_copy", c.zero_copy));
  v(field("resume", c.resume).resume_safe());
  v(field("resume_from", c.resume_from).null_reads_as("").resume_safe());
  v(field("verbose", c.verbose).resume_safe());
  v(field("cpu_offload", c.cpu_offload).range(0, 0, "false (the training state stays on the training device)"));
  v(field("compile", c.compile).resume_safe());
  v(field("compile_mode", c.compile_mode).one_of({"default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"}).resume_safe());
  v(field("scale_batches_by_world_size", c.scale_batches_by_world_size));
  v(field("collective_timeout", c.collective_timeout).range(0.001, 1e9, "seconds > 0").resume_safe());
  v(field("profiler_interval_epochs", c.profiler_interval_epochs).range(1, 1 << 30, "an integer in [1, 1073741824]").resume_safe());
  v(field("checkpoint_interval", c.checkpoint_interval).range(1, 1 << 30, "an integer in [1, 1073741824]").resume_safe());
  v(field("evaluate_interval", c.evaluate_interval).resume_safe());              // >= checkpoint_interval: validate()
  v(field("wandb_checkpoint_interval", c.wandb_checkpoint_interval).resume_safe());  // likewise
  v(field("grad_mean_variance_interval", c.grad_mean_variance_interval).range(0, 1 << 30, "an integer in [0, 1073741824]").resume_safe());
  v(field("l2_init_weight_update_interval", c.l2_init_weight_update_interval).range(0, 1 << 30, "an integer in [0, 1073741824]"));
  v(field("train_from_rollout_state", c.train_from_rollout_state));
  v(field("target_kl", c.target_kl).range(0, 1e18, "null (off) or a number > 0").null_reads_as(0.0));
  v(field("lstm", c.lstm).one_of({"auto", "cudnn", "native"}).resume_safe());
  v(field("precision", c.precision).one_of({"fp32", "tf32", "bf16"}).resume_safe());
  v(field("first_conv", c.first_conv).one_of({"tokens", "dense"}).resume_safe());
  v(field("rollout_graph", c.rollout_graph).resume_safe());
  v(field("update_graph", c.update_graph).resume_safe());
  v(field("fused_epilogues", c.fused_epilogues).resume_safe());
  v(field("seed", c.seed).api_only());
  v(field("device", c.device).one_of({"cpu", "cuda"}).api_only());
  v(field("threads", c.threads).range(0, 4096, "an integer in [0, 4096]").api_only());
  v.group("lr_scheduler", c.lr_scheduler);
  v.group("initial_policy", c.initial_policy);
  v.group("simulation", c.simulation);
  v.group("ppo", c.ppo);
  v.group("optimizer", c.optimizer);
  v.group("prioritized_experience_replay", c.prioritized_experience_replay);
  v.group("kickstart", c.kickstart);
}

// The kernels' parameters of a config.
kernels::PpoLossParams ppo_loss_params(const PPOConfig& c);
kernels::AdvantageParams advantage_params(const PPOConfig& c);
kernels::AdamParams adam_params(const OptimizerConfig& c);
kernels::KickstarterParams kickstarter_params(const KickstartConfig& c);
nn::LstmBackend lstm_backend(const std::string& lstm);

}  // namespace metta::train
