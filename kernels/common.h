// Shared basics of every layer: the host/device function marker, the project's exception type and the
// error macros. METTA_HD marks a function compiled for both backends; it vanishes under a plain C++ compiler.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#if defined(__CUDACC__)
#define METTA_HD __host__ __device__
#define METTA_FORCEINLINE __forceinline__
#else
#define METTA_HD
#define METTA_FORCEINLINE inline __attribute__((always_inline))
#endif

namespace metta {

// The one exception type of the project. `what()` is the message for the user (what failed, the value,
// what was expected); `where()` the failing call or condition and its file:line, for bug reports ("" when
// thrown without a location).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg, std::string where = "") : std::runtime_error(msg), where_(std::move(where)) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

namespace detail {
[[noreturn]] void throw_error(const char* expr, const char* file, int line, const std::string& detail);
}  // namespace detail

}  // namespace metta

// METTA_CHECK(cond, message-stream): throws metta::Error naming the condition, file:line and the message.
#define METTA_CHECK(cond, msg)                                                      \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::ostringstream metta_check_os_;                                           \
      metta_check_os_ << msg;                                                       \
      ::metta::detail::throw_error(#cond, __FILE__, __LINE__, metta_check_os_.str()); \
    }                                                                               \
  } while (0)

// METTA_FAIL(message-stream): unconditional error.
#define METTA_FAIL(msg)                                                       \
  do {                                                                        \
    std::ostringstream metta_fail_os_;                                        \
    metta_fail_os_ << msg;                                                    \
    ::metta::detail::throw_error("failure", __FILE__, __LINE__, metta_fail_os_.str()); \
  } while (0)
