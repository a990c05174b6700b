#include "train/curriculum_feedback.h"

#include <chrono>
#include <cmath>

namespace metta::train {

std::map<std::string, double> feed_curriculum(const std::vector<engine::TaskEpisodes>& done,
                                              const std::vector<engine::EpisodeScore>& scores,
                                              curriculum::Curriculum& curriculum, engine::BatchedEnv& env) {
  // The envs count by env task (a bucketed task with range values has several: Curriculum::
  // env_task_configs); the curriculum hears of its task.
  std::vector<engine::TaskEpisodes> rest = done;
  for (const engine::EpisodeScore& s : scores) {
    curriculum.complete(curriculum.task_of_env_task(static_cast<std::size_t>(s.task)), s.score);
    rest[static_cast<std::size_t>(s.task)].episodes -= 1;
    rest[static_cast<std::size_t>(s.task)].reward_sum -= s.score;
  }
  for (std::size_t t = 0; t < rest.size(); ++t) {
    const auto n = static_cast<std::int64_t>(std::llround(rest[t].episodes));
    for (std::int64_t k = 0; k < n; ++k)
      curriculum.complete(curriculum.task_of_env_task(t), rest[t].reward_sum / rest[t].episodes);
  }
  env.set_task_probabilities(curriculum.env_task_probabilities());
  return curriculum.take_stats();
}

std::map<std::string, double> feed_curriculum(Trainer& trainer, curriculum::Curriculum& curriculum) {
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, double> stats =
      feed_curriculum(trainer.last_task_episodes(), trainer.last_episode_scores(), curriculum, trainer.env());
  trainer.add_part_seconds(EpochPart::kCurriculum,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return stats;
}

}  // namespace metta::train
