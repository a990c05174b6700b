// The weights a training run starts from and learns beside (trainer.md §13, §14): trainer.initial_policy
// (a saved policy whose weights become the trainee's, generation + 1) and the kickstarting teachers
// (trainer.kickstart.teacher_uri, then additional_teachers, of any preset). A saved policy is read into
// a preset's parameter table for the training env: names and shapes checked, the actions, window and
// features against the env (features remapped by name). The documented API (TrainingComponents::create)
// and train::Run both use these, so a run starts the same from either.
#pragma once

#include <string>
#include <vector>

#include "train/checkpoint/policy_env_match.h"
#include "train/checkpoint/policy_store.h"
#include "train/trainer.h"

namespace metta::train {

// The parameter table of `preset` for an env (its layout, no weights kept).
nn::ParamTable policy_table(const std::string& preset, const checkpoint::EnvInterface& env);

// A model file's weights for `preset` (which must be the preset it was saved from) in `table`'s layout.
std::vector<float> policy_weights_for(const checkpoint::PolicyFile& file, const std::string& preset,
                                      const nn::ParamTable& table, const checkpoint::EnvInterface& env);

// trainer.initial_policy resolved: the file to start from ("" when the config names none).
std::string initial_policy_path(const TrainerConfig& config);

// Loads every configured teacher into the trainer; returns their resolved paths, teacher_uri first.
std::vector<std::string> add_configured_teachers(Trainer& trainer, const TrainerConfig& config);

}  // namespace metta::train
