#include "kernels/log.h"

#include <mutex>
#include <utility>

namespace metta {
namespace {
std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}
LogCallback& log_callback() {
  static LogCallback cb;
  return cb;
}
}  // namespace

LogCallback set_log_callback(LogCallback callback) {
  std::lock_guard<std::mutex> lock(log_mutex());
  std::swap(log_callback(), callback);
  return callback;
}

void log_message(LogLevel level, const std::string& message) noexcept {
  try {
    std::lock_guard<std::mutex> lock(log_mutex());
    if (log_callback()) log_callback()(level, message);
  } catch (...) {
    // a message must never turn into a failure of the code that reported it
  }
}

}  // namespace metta
