// Test helper: the message of the exception a call throws ("no error" when it returns), for tests that
// check what an error says.
#pragma once

#include <exception>
#include <string>

namespace metta::testing {

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace metta::testing
