#include "train/trainer_config.h"

#include <algorithm>
#include <thread>

namespace metta::train {

int derived_num_workers() {
  const int half = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()) / 2);
  int w = 1;
  while (w * 2 <= half) w *= 2;
  return w;
}

void PPOConfig::validate() const { validate_fields(*this, "trainer.ppo"); }
void OptimizerConfig::validate() const { validate_fields(*this, "trainer.optimizer"); }
void PrioritizedExperienceReplayConfig::validate() const {
  validate_fields(*this, "trainer.prioritized_experience_replay");
}
void KickstartConfig::validate() const { validate_fields(*this, "trainer.kickstart"); }
void LrSchedulerConfig::validate() const { validate_fields(*this, "trainer.lr_scheduler"); }
void InitialPolicyConfig::validate() const { validate_fields(*this, "trainer.initial_policy"); }
void SimulationConfig::validate() const { validate_fields(*this, "trainer.simulation"); }

void TrainerConfig::validate() const {
  validate_fields(*this, "trainer");
  // rules across fields
  if (minibatch_size < 1 || minibatch_size > batch_size)
    engine::config_fail("trainer.minibatch_size", std::to_string(minibatch_size),
                        "a count in [1, batch_size] (batch_size is " + std::to_string(batch_size) + ")");
  if (batch_size % minibatch_size != 0)
    engine::config_fail("trainer.minibatch_size", std::to_string(minibatch_size),
                        "a divisor of batch_size (" + std::to_string(batch_size) + ")");
  if (evaluate_interval < checkpoint_interval)
    engine::config_fail("trainer.evaluate_interval", std::to_string(evaluate_interval),
                        ">= checkpoint_interval (" + std::to_string(checkpoint_interval) + ")");
  if (wandb_checkpoint_interval < checkpoint_interval)
    engine::config_fail("trainer.wandb_checkpoint_interval", std::to_string(wandb_checkpoint_interval),
                        ">= checkpoint_interval (" + std::to_string(checkpoint_interval) + ")");
}

namespace {
float f(double v) { return static_cast<float>(v); }
}  // namespace

// Aggregates in the kernels' field order.
kernels::PpoLossParams ppo_loss_params(const PPOConfig& c) {
  return {f(c.clip_coef), f(c.vf_clip_coef), f(c.ent_coef), f(c.vf_coef), c.clip_vloss, c.norm_adv};
}
kernels::AdvantageParams advantage_params(const PPOConfig& c) {
  return {f(c.gamma), f(c.gae_lambda), f(c.vtrace_rho_clip), f(c.vtrace_c_clip)};
}
kernels::AdamParams adam_params(const OptimizerConfig& c) {
  return {f(c.learning_rate), f(c.beta1), f(c.beta2), f(c.eps), f(c.weight_decay)};
}
kernels::KickstarterParams kickstarter_params(const KickstartConfig& c) {
  return {f(c.action_loss_coef), f(c.value_loss_coef), f(c.anneal_ratio), c.kickstart_steps};
}

nn::LstmBackend lstm_backend(const std::string& lstm) {
  if (lstm == "native") return nn::LstmBackend::kNative;
  if (lstm == "cudnn") return nn::LstmBackend::kCudnn;
  return nn::LstmBackend::kAuto;
}

}  // namespace metta::train
