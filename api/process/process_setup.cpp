#include "api/process/process_setup.h"

#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "kernels/blas_setup.h"
#include "kernels/log.h"

namespace metta::process {

std::vector<std::pair<std::string, std::string>> wanted_environment() {
  std::vector<std::pair<std::string, std::string>> env;
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) env.push_back({"GOMP_SPINCOUNT", kShortSpinCount});
  const std::string better = kernels::better_blas_core();
  if (!std::getenv("OPENBLAS_CORETYPE") && !better.empty()) env.push_back({"OPENBLAS_CORETYPE", better});
  return env;
}

void log_to_stderr() {
  set_log_callback([](LogLevel, const std::string& message) { std::fprintf(stderr, "%s\n", message.c_str()); });
}

void prepare_process(char** argv) {
  log_to_stderr();
  if (std::getenv("METTA_NO_REEXEC")) return;
  const auto env = wanted_environment();
  if (env.empty()) return;
  for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
  setenv("METTA_NO_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure; then carry on with what we have
}

}  // namespace metta::process
