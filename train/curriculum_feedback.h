// What a curriculum hears after each rollout (trainer.md §15): every episode the rollout completed goes
// back to its task with its own score (the envs keep engine::kKeptScores of them per rollout; the rest
// go back with their task's mean score), then the curriculum's new probabilities go to the device. The
// documented API's rollout_step and train::Run both call this once per rollout, after
// Trainer::accumulate_stats.
#pragma once

#include <map>
#include <string>

#include "train/curriculum/curriculum.h"
#include "train/trainer.h"

namespace metta::train {

// Feeds the episodes of the trainer's last accumulate_stats to `curriculum`, sets the envs' task
// probabilities, and returns the curriculum's stats (curriculum/..., task weights), timed as the epoch's
// rollout.curriculum part.
std::map<std::string, double> feed_curriculum(Trainer& trainer, curriculum::Curriculum& curriculum);

}  // namespace metta::train
