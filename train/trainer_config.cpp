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

kernels::PpoLossParams ppo_loss_params(const PPOConfig& c) {
  kernels::PpoLossParams p;
  p.clip_coef = static_cast<float>(c.clip_coef);
  p.vf_clip_coef = static_cast<float>(c.vf_clip_coef);
  p.ent_coef = static_cast<float>(c.ent_coef);
  p.vf_coef = static_cast<float>(c.vf_coef);
  p.clip_vloss = c.clip_vloss;
  p.norm_adv = c.norm_adv;
  return p;
}

kernels::AdvantageParams advantage_params(const PPOConfig& c) {
  kernels::AdvantageParams p;
  p.gamma = static_cast<float>(c.gamma);
  p.lambda = static_cast<float>(c.gae_lambda);
  p.rho_clip = static_cast<float>(c.vtrace_rho_clip);
  p.c_clip = static_cast<float>(c.vtrace_c_clip);
  return p;
}

kernels::AdamParams adam_params(const OptimizerConfig& c) {
  kernels::AdamParams p;
  p.lr = static_cast<float>(c.learning_rate);
  p.beta1 = static_cast<float>(c.beta1);
  p.beta2 = static_cast<float>(c.beta2);
  p.eps = static_cast<float>(c.eps);
  p.weight_decay = static_cast<float>(c.weight_decay);
  return p;
}

kernels::KickstarterParams kickstarter_params(const KickstartConfig& c) {
  kernels::KickstarterParams p;
  p.action_loss_coef = static_cast<float>(c.action_loss_coef);
  p.value_loss_coef = static_cast<float>(c.value_loss_coef);
  p.anneal_ratio = static_cast<float>(c.anneal_ratio);
  p.kickstart_steps = c.kickstart_steps;
  return p;
}

nn::LstmBackend lstm_backend(const std::string& lstm) {
  if (lstm == "native") return nn::LstmBackend::kNative;
  if (lstm == "cudnn") return nn::LstmBackend::kCudnn;
  return nn::LstmBackend::kAuto;
}

}  // namespace metta::train
