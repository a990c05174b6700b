// metrics.jsonl of a run: one JSON object per epoch, appended and flushed as each epoch ends. Every write
// is checked: a full disk or a failing device fails the run (like a failed checkpoint write) instead of
// leaving a silently short log. On resume, the records after the resumed checkpoint are dropped first
// (truncate_metrics_log), so no epoch appears twice.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace metta::logging {

class MetricsLog {
 public:
  explicit MetricsLog(std::string path);  // opens for append; throws metta::Error naming the file
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void append(const nlohmann::json& record);  // one line, flushed; throws on any failed write
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Keeps the records whose metric/epoch is at most `epoch` (and drops a torn last line); returns how many
// were dropped. A missing file is left missing. The rewrite is atomic.
std::size_t truncate_metrics_log(const std::string& path, std::int64_t epoch);

}  // namespace metta::logging
