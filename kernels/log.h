// The library's messages to its user (a fallback taken, a damaged file skipped) go through one callback
// that the program installs; the library itself never writes to stdout or stderr. Without a callback the
// messages are dropped. The programs (metta, the examples, the benchmarks) install one that prints to
// stderr (api/process/process_setup.h).
#pragma once

#include <functional>
#include <string>

namespace metta {

enum class LogLevel { kInfo, kWarning };

using LogCallback = std::function<void(LogLevel level, const std::string& message)>;

// Replaces the callback (an empty one drops messages) and returns the previous one. Thread-safe.
LogCallback set_log_callback(LogCallback callback);

// Hands `message` to the installed callback; never throws (a throwing callback's exception is dropped),
// so destructors may call it.
void log_message(LogLevel level, const std::string& message) noexcept;

}  // namespace metta
