// The files of a run's checkpoint folder. Each checkpoint the trainer saves is a pair:
// model_{epoch:04d}.safetensors (the policy, PolicyStore) and trainer_state_{epoch:04d}.safetensors
// (everything else a bit-identical resume needs: optimizer moments, counters, LSTM and env state). The
// state is written first, so a crash between the two leaves a state without its model (an incomplete
// checkpoint, skipped), never the reverse; a resume takes the newest complete pair. Older pairs stay (the newest keep_last models and their states) so a
// run whose newest checkpoint is damaged can continue from an older one (trainer.resume_from).
// Folders of an earlier layout hold one trainer_state.safetensors: it is listed at the epoch it records.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace metta::checkpoint {

std::string model_file_name(std::int64_t epoch);  // model_0012.safetensors
std::string state_file_name(std::int64_t epoch);  // trainer_state_0012.safetensors
inline constexpr const char* kLegacyStateName = "trainer_state.safetensors";

struct CheckpointEntry {
  std::int64_t epoch = 0;
  std::string model, state;  // paths; "" when the folder has no such file for this epoch
};

// Every epoch with a model or a trainer state in `dir`, newest first (an empty list for a missing folder).
std::vector<CheckpointEntry> list_checkpoints(const std::string& dir);

// The epoch a `trainer.resume_from` value names: an epoch number, or a model_NNNN / trainer_state_NNNN
// file (file:// accepted) of the folder `dir`. Throws CheckpointError for anything else.
std::int64_t resume_from_epoch(const std::string& value, const std::string& dir);

// Leftovers of interrupted atomic writes (`<name>.tmp.<pid>`) in `dir`, not recursive; the caller holds
// the run's lock, so no live writer owns them. Returns the removed paths.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

}  // namespace metta::checkpoint
