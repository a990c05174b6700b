#include "train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "train/checkpoint/safetensors.h"
#include "train/logging/metrics_log.h"
#include "train/logging/tensorboard.h"
#include "engine/config.h"
#include "kernels/common.h"

namespace metta::train {
namespace fs = std::filesystem;

RunDirLock::RunDirLock(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / kRunLockName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw metta::Error(path + ": cannot open the run's lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {0};
    const ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw metta::Error(run_dir + ": another metta train is using this run" +
                         (n > 0 ? std::string(" (pid ") + std::string(pid, static_cast<std::size_t>(n)) + ")" : "") +
                         "; wait for it to end, or give this one another run=NAME");
    throw metta::Error(path + ": cannot lock: " + std::strerror(err));
  }
  const std::string me = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // the pid is only a courtesy for the message of a second process
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

std::vector<std::string> run_files(const std::string& run_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name != kRunLockName) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ExistingRun parse_existing_run(const std::string& value) {
  if (value == "refuse") return ExistingRun::kRefuse;
  if (value == "archive") return ExistingRun::kArchive;
  if (value == "overwrite") return ExistingRun::kOverwrite;
  engine::config_fail("existing_run", "'" + value + "'", "'refuse', 'archive' or 'overwrite'");
}

std::string set_aside_run(const std::string& run_dir, ExistingRun how) {
  if (how == ExistingRun::kRefuse) return "";
  const std::vector<std::string> files = run_files(run_dir);
  if (how == ExistingRun::kOverwrite) {
    for (const std::string& f : files) fs::remove_all(fs::path(run_dir) / f);
    return "";
  }
  std::string base = fs::path(run_dir).lexically_normal().string();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string archive;
  for (int n = 1;; ++n) {
    archive = base + ".archive-" + std::to_string(n);
    if (!fs::exists(archive)) break;
  }
  fs::create_directories(archive);
  for (const std::string& f : files) fs::rename(fs::path(run_dir) / f, fs::path(archive) / f);
  return archive;
}

namespace {
void flatten(const YAML::Node& n, const std::string& key, std::map<std::string, std::string>& out) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it)
      flatten(it->second, key.empty() ? it->first.Scalar() : key + "." + it->first.Scalar(), out);
  } else if (n.IsSequence()) {
    if (n.size() == 0) out[key] = "[]";
    for (std::size_t i = 0; i < n.size(); ++i) flatten(n[i], key + "[" + std::to_string(i) + "]", out);
  } else if (n.IsNull() || !n.IsDefined()) {
    out[key] = "null";
  } else {
    out[key] = n.Scalar();
  }
}

bool safe(const std::string& key, const std::vector<std::string>& safe_keys) {
  for (const std::string& k : safe_keys)
    if (key == k || key.rfind(k + ".", 0) == 0 || key.rfind(k + "[", 0) == 0) return true;
  return false;
}

// Numbers compare by value ("0.002" and "2.0e-3" are the same setting).
bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  try {
    std::size_t ua = 0, ub = 0;
    const double x = std::stod(a, &ua), y = std::stod(b, &ub);
    return ua == a.size() && ub == b.size() && x == y;
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

std::vector<std::string> changed_training_keys(const YAML::Node& saved, const YAML::Node& now,
                                               const std::vector<std::string>& safe_keys) {
  std::map<std::string, std::string> a, b;
  flatten(saved, "", a);
  flatten(now, "", b);
  std::vector<std::string> out;
  for (auto& [k, v] : a) {
    if (safe(k, safe_keys)) continue;
    auto it = b.find(k);
    if (it == b.end()) out.push_back(k + ": " + v + " -> (removed)");
    else if (!same_value(v, it->second)) out.push_back(k + ": " + v + " -> " + it->second);
  }
  for (auto& [k, v] : b)
    if (!safe(k, safe_keys) && !a.count(k)) out.push_back(k + ": (absent) -> " + v);
  return out;
}

std::string truncate_run_records(const std::string& run_dir, std::int64_t epoch, std::int64_t agent_step) {
  const std::size_t lines = logging::truncate_metrics_log((fs::path(run_dir) / "metrics.jsonl").string(), epoch);
  std::size_t events = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0 && e.is_regular_file(ec))
      events += logging::truncate_event_file(e.path().string(), agent_step);
  if (lines == 0 && events == 0) return "";
  return "dropped " + std::to_string(lines) + " metrics.jsonl line(s) and " + std::to_string(events) +
         " TensorBoard event(s) recorded after epoch " + std::to_string(epoch);
}

}  // namespace metta::train
