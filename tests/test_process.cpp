// Process set-up of the programs (api/process/process_setup.h): OpenMP waits with a short spin unless the
// user chose a wait policy, so training does not collapse when another process uses the cores.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "api/process/process_setup.h"

using namespace metta;

namespace {
std::string wanted(const std::string& name) {
  for (const auto& [n, v] : process::wanted_environment())
    if (n == name) return v;
  return "";
}
}  // namespace

TEST(ProcessSetup, ShortOpenMpSpinUnlessTheUserChoseAWaitPolicy) {
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  EXPECT_EQ(wanted("GOMP_SPINCOUNT"), process::kShortSpinCount);
  setenv("OMP_WAIT_POLICY", "active", 1);  // the fast spin, kept as an option
  EXPECT_EQ(wanted("GOMP_SPINCOUNT"), "");
  unsetenv("OMP_WAIT_POLICY");
  setenv("GOMP_SPINCOUNT", "50", 1);
  EXPECT_EQ(wanted("GOMP_SPINCOUNT"), "");
  unsetenv("GOMP_SPINCOUNT");
}

TEST(ProcessSetup, TheUsersBlasCoreIsKept) {
  setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  EXPECT_EQ(wanted("OPENBLAS_CORETYPE"), "");
  unsetenv("OPENBLAS_CORETYPE");
}
