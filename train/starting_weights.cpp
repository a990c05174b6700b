#include "train/starting_weights.h"

namespace metta::train {

nn::ParamTable policy_table(const std::string& preset, const checkpoint::EnvInterface& env) {
  const nn::Policy<float> shape(kernels::Context::cpu(), checkpoint::policy_arch_for(preset, env),
                                nn::ActionSpace(env.action_max_args), env.feature_norms, 0, 1, 1);
  return shape.table();
}

std::vector<float> policy_weights_for(const checkpoint::PolicyFile& file, const std::string& preset,
                                      const nn::ParamTable& table, const checkpoint::EnvInterface& env) {
  if (file.metadata.agent != preset)
    throw checkpoint::CheckpointError(file.path + ": saved from agent '" + file.metadata.agent + "', this agent is '" +
                                      preset + "'");
  return checkpoint::weights_for_env(file, table, env, checkpoint::FeatureOrder::kRemapByName);
}

std::string initial_policy_path(const TrainerConfig& config) {
  const InitialPolicyConfig& c = config.initial_policy;
  if (c.uri.empty()) return "";
  return checkpoint::PolicyStore::resolve_uri(c.uri, c.type, c.metric);
}

std::vector<std::string> add_configured_teachers(Trainer& trainer, const TrainerConfig& config) {
  std::vector<TeacherConfig> teachers;
  const KickstartConfig& k = config.kickstart;
  if (!k.teacher_uri.empty()) teachers.push_back({k.teacher_uri, k.action_loss_coef, k.value_loss_coef});
  teachers.insert(teachers.end(), k.additional_teachers.begin(), k.additional_teachers.end());
  const checkpoint::EnvInterface env = checkpoint::EnvInterface::of(trainer.env().compiled());
  std::vector<std::string> paths;
  for (const TeacherConfig& tc : teachers) {
    const std::string path = checkpoint::PolicyStore::resolve_uri(tc.teacher_uri, "latest");
    const checkpoint::PolicyFile file = checkpoint::PolicyStore::open(path);
    const std::string& preset = file.metadata.agent;
    trainer.add_teacher(preset, policy_weights_for(file, preset, policy_table(preset, env), env),
                        static_cast<float>(tc.action_loss_coef), static_cast<float>(tc.value_loss_coef));
    paths.push_back(path);
  }
  return paths;
}

}  // namespace metta::train
