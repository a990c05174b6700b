// PolicyStore: policy checkpoints in a folder as model_{epoch:04d}.safetensors — the weights as named
// F32 tensors (torch names and shapes) plus metadata (agent_step, epoch, generation, train_time, the
// agent preset, the env's action names, action arguments, feature mapping and observation window, the
// config), a format version and a checksum of the whole file. Writes are atomic and only the newest `keep_last` files are kept. Loading checks the format,
// version, checksum and every tensor's name and shape, and throws CheckpointError naming the problem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/checkpoint/safetensors.h"
#include "nn/policy.h"

namespace metta::checkpoint {

inline constexpr const char* kPolicyFormat = "metta-cpp.policy";
// Version 2: the checksum covers the whole file, metadata included (file_checksum); version 1 files
// (tensor bytes only) are still read.
inline constexpr int kPolicyFormatVersion = 2;

struct PolicyMetadata {
  std::int64_t agent_step = 0, epoch = 0, generation = 0;
  double train_time = 0;
  std::string agent;                          // preset name
  std::vector<std::string> action_names;
  std::vector<int> action_max_args;           // per action; empty in files of format version 1
  int obs_width = 0, obs_height = 0;          // the observation window; 0 in files of format version 1
  std::map<std::string, int> feature_mapping; // feature name -> id
  std::string initial_uri;                    // the policy this lineage started from ("" = fresh)
  std::string config_json = "{}";
  std::map<std::string, std::string> user;    // caller metadata (e.g. score), stored as JSON
};

// A model file read once: format, version and checksum checked, metadata parsed.
struct PolicyFile {
  std::string path;
  PolicyMetadata metadata;
  SafetensorsFile file;
};

class PolicyStore {
 public:
  explicit PolicyStore(std::string checkpoint_dir, int keep_last = 5);
  // Writes model_{epoch:04d}.safetensors; returns its path.
  std::string save(const nn::Policy<float>& policy, const PolicyMetadata& meta) const;
  // The newest model file that loads cleanly (format, version, checksum), or "" when there is none.
  std::string latest() const;
  // Loads weights into `policy` (same preset and sizes) and returns the metadata.
  PolicyMetadata load(const std::string& path, nn::Policy<float>& policy) const;
  // Reads and checks a model file once (for callers that need its metadata before its weights).
  static PolicyFile open(const std::string& path);
  // Its weights, flat in `table` order, after checking every tensor's name and shape against the table.
  static std::vector<float> weights_of(const PolicyFile& policy_file, const nn::ParamTable& table);
  // A policy URI (trainer.md §14) to one model file: "file://" is dropped; a folder gives its newest
  // valid model ("latest") or the one with the largest `metric` ("top": epoch, agent_step or a key of
  // the user metadata); "specific" requires a file. Throws CheckpointError when nothing matches.
  static std::string resolve_uri(const std::string& uri, const std::string& type = "latest",
                                 const std::string& metric = "epoch");
  static PolicyMetadata read_metadata(const std::string& path);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int keep_last_;
};

}  // namespace metta::checkpoint
