// The folder of a `metta train` run (run_dir): config.yaml, metrics.jsonl, TensorBoard event files and
// checkpoints/. The rules that keep runs from mixing or losing records:
// - one process at a time: an exclusive lock on the folder (RunDirLock);
// - a folder that holds a run is resumed, or set aside on request (existing_run: archive | overwrite),
//   never trained over: a fresh run in it is refused;
// - a resumed run keeps its training settings: changed keys other than the safe ones are refused, with
//   the list (changed_training_keys), before anything in the folder is written;
// - on resume the records after the resumed checkpoint are dropped (truncate_run_records), so no epoch
//   is logged twice, and leftovers of interrupted writes are removed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace metta::train {

// An exclusive lock on run_dir (flock on run_dir/.lock, held until destruction or the end of the
// process, however it ends). Throws metta::Error when another process holds it, naming its pid.
class RunDirLock {
 public:
  explicit RunDirLock(const std::string& run_dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

 private:
  int fd_ = -1;
};
inline constexpr const char* kRunLockName = ".lock";

// The entries of run_dir (names, sorted), the lock file excepted; empty for a new or missing folder.
std::vector<std::string> run_files(const std::string& run_dir);

// What to do with a run_dir that holds a run which is not being resumed (the job key existing_run).
enum class ExistingRun { kRefuse, kArchive, kOverwrite };
ExistingRun parse_existing_run(const std::string& value);  // throws ConfigError naming existing_run
// Moves every entry but the lock to the first free <run_dir>.archive-<N> (returned) or deletes them ("").
std::string set_aside_run(const std::string& run_dir, ExistingRun how);

// "key: saved -> new" for every leaf key (dotted, lists as key[i]) that differs between the saved and the
// new resolved config, is added or removed, except `safe_keys` and the keys under them: those a resumed
// run may change because they do not alter what is trained (the config tables mark them resume_safe()).
std::vector<std::string> changed_training_keys(const YAML::Node& saved, const YAML::Node& now,
                                               const std::vector<std::string>& safe_keys);

// After resuming at (epoch, agent_step): drops later records from run_dir/metrics.jsonl and every
// TensorBoard event file in run_dir. Returns a one-line summary ("" when nothing was dropped).
std::string truncate_run_records(const std::string& run_dir, std::int64_t epoch, std::int64_t agent_step);

}  // namespace metta::train
