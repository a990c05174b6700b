// Curricula from YAML (trainer.md §15). A path names an env config (one task), an embedded env
// ("simple", "hearts_room", "/env/mettagrid/simple"), or a curriculum file whose `_target_` is one of:
//
//   random             (metta.mettagrid.curriculum.random.RandomCurriculum)
//       tasks: {<path>: <weight>, ...}          weights >= 0, not all 0; a path may be a curriculum too
//   learning_progress  (metta.mettagrid.curriculum.learning_progress.LearningProgressCurriculum)
//       tasks: as random (the initial weights), and ema_timescale, progress_smoothing,
//       num_active_tasks, rand_task_rate, sample_threshold, memory (LearningProgressConfig)
//   bucketed           (metta.mettagrid.curriculum.bucketed.BucketedCurriculum)
//       env_cfg_template: <path>; buckets: {<dotted env key>: {values: [...]} | {range: [lo, hi], bins: n}};
//       default_bins: 1; and the learning-progress keys. One task per combination of bucket values, id
//       "k1=v1;k2=v2;"; a range value is drawn within its bin at each draw_config.
//
// Relative paths are read from the curriculum file's folder first, then from the working directory.
// Errors name the file, the line and the key, like every config file.
#pragma once

#include <cstdint>
#include <string>

#include "train/curriculum/curriculum.h"

namespace metta::train::curriculum {

Curriculum load_curriculum(const std::string& path, std::uint64_t seed = 0);

// True when `path` names a curriculum file (a mapping with `_target_`), false for an env config.
bool is_curriculum(const std::string& path);

}  // namespace metta::train::curriculum
