#include "train/checkpoint/checkpoint_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "train/checkpoint/safetensors.h"

namespace metta::checkpoint {
namespace fs = std::filesystem;

namespace {
std::string numbered(const char* stem, std::int64_t epoch) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s_%04lld.safetensors", stem, static_cast<long long>(epoch));
  return buf;
}

// The epoch of "<stem>_<digits>.safetensors", or -1.
std::int64_t epoch_in(const std::string& name, const std::string& stem) {
  const std::string prefix = stem + "_", suffix = ".safetensors";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// The epoch a legacy trainer_state.safetensors records, or -1 when it cannot be read.
std::int64_t legacy_state_epoch(const std::string& path) {
  try {
    const SafetensorsFile f = parse_safetensors(read_file(path), path);
    return std::stoll(f.metadata.at("epoch"));
  } catch (const std::exception&) {
    return -1;
  }
}
}  // namespace

std::string model_file_name(std::int64_t epoch) { return numbered("model", epoch); }
std::string state_file_name(std::int64_t epoch) { return numbered("trainer_state", epoch); }

std::vector<CheckpointEntry> list_checkpoints(const std::string& dir) {
  std::map<std::int64_t, CheckpointEntry, std::greater<>> by_epoch;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  std::string legacy;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (const std::int64_t m = epoch_in(name, "model"); m >= 0) {
      by_epoch[m].epoch = m;
      by_epoch[m].model = e.path().string();
    } else if (const std::int64_t s = epoch_in(name, "trainer_state"); s >= 0) {
      by_epoch[s].epoch = s;
      by_epoch[s].state = e.path().string();
    } else if (name == kLegacyStateName) {
      legacy = e.path().string();
    }
  }
  if (!legacy.empty()) {
    const std::int64_t le = legacy_state_epoch(legacy);
    // an unreadable legacy state is listed as the newest, so a resume reports it instead of skipping it
    const std::int64_t at = le >= 0 ? le : (by_epoch.empty() ? 0 : by_epoch.begin()->first);
    CheckpointEntry& entry = by_epoch[at];
    entry.epoch = at;
    if (entry.state.empty()) entry.state = legacy;
  }
  std::vector<CheckpointEntry> out;
  for (auto& [epoch, entry] : by_epoch) out.push_back(entry);
  return out;
}

std::int64_t resume_from_epoch(const std::string& value, const std::string& dir) {
  if (!value.empty() && value.size() <= 15 && value.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(value);
  const std::string path = value.rfind("file://", 0) == 0 ? value.substr(7) : value;
  const fs::path p(path);
  const std::string name = p.filename().string();
  std::int64_t epoch = epoch_in(name, "model");
  if (epoch < 0) epoch = epoch_in(name, "trainer_state");
  if (epoch < 0)
    throw CheckpointError("trainer.resume_from: got '" + value +
                          "', expected an epoch number or a model_NNNN.safetensors / trainer_state_NNNN.safetensors "
                          "file of " + dir);
  std::error_code ec;
  if (p.has_parent_path() && !fs::equivalent(p.parent_path(), dir, ec))
    throw CheckpointError("trainer.resume_from: got '" + value + "', which is not in this run's checkpoint folder " +
                          dir + " (to start from another run's policy, use trainer.initial_policy.uri)");
  return epoch;
}

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || !e.is_regular_file(ec)) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::remove(e.path(), ec)) removed.push_back(e.path().string());
  }
  return removed;
}

}  // namespace metta::checkpoint
