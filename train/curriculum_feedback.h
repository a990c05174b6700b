// What a curriculum hears after each rollout (trainer.md §15): every episode the rollout completed goes
// back to its task with its own score (the envs keep engine::kKeptScores of them per rollout; the rest
// go back with their task's mean score), then the curriculum's new probabilities go to the device. The
// documented API's rollout_step and train::Run both call this once per rollout, after
// Trainer::accumulate_stats.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "train/curriculum/curriculum.h"
#include "train/trainer.h"

namespace metta::train {

// Feeds the episodes of the trainer's last accumulate_stats to `curriculum`, sets the envs' task
// probabilities, and returns the curriculum's stats (curriculum/..., task weights), timed as the epoch's
// rollout.curriculum part.
std::map<std::string, double> feed_curriculum(Trainer& trainer, curriculum::Curriculum& curriculum);

// The same for a batch stepped by someone else (Python's VecEnv): the episodes `done` and `scores` that
// were read from `env` (completed_episodes_by_task, completed_episode_scores) go to `curriculum`, whose
// new probabilities go to `env`.
std::map<std::string, double> feed_curriculum(const std::vector<engine::TaskEpisodes>& done,
                                              const std::vector<engine::EpisodeScore>& scores,
                                              curriculum::Curriculum& curriculum, engine::BatchedEnv& env);

}  // namespace metta::train
