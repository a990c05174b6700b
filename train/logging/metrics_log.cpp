#include "train/logging/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "train/checkpoint/safetensors.h"
#include "kernels/common.h"

namespace metta::logging {

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw metta::Error(path_ + ": cannot open the metrics log: " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::append(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw metta::Error(path_ + ": cannot write the metrics log: " + std::strerror(errno));
}

std::size_t truncate_metrics_log(const std::string& path, std::int64_t epoch) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return 0;  // missing, or a device (a test's /dev/full)
  const std::string text = checkpoint::read_file(path);
  std::string kept;
  std::size_t dropped = 0, start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // a line cut short by a kill
      ++dropped;
      break;
    }
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.value("metric/epoch", std::int64_t{0}) <= epoch) {
        kept += line + "\n";
        continue;
      }
    } catch (const nlohmann::json::exception&) {
    }
    ++dropped;
  }
  if (dropped > 0) checkpoint::write_file_atomic(path, kept);
  return dropped;
}

}  // namespace metta::logging
