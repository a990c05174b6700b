// Process set-up for the programs (the `metta` CLI, the examples, the benchmarks and the learning test),
// never called by the library: some choices of the libraries we use are read from the environment once,
// when they load, so the only way to make them is to set the variables and re-execute the program once.
// 1. OpenBLAS kernels: Debian's OpenBLAS misdetects some virtualised Xeons and falls back to SSE3
//    ("Prescott") kernels, 2-4x slower than the AVX2/AVX-512 ones the CPU has: OPENBLAS_CORETYPE.
// 2. OpenMP's wait policy: libgomp's default spins about 300k iterations at each barrier, which keeps
//    a 2-core machine fast when it is quiet but collapses training when another process uses the cores
//    (measured: a 64-agent rollout step at 330 agent-steps/s instead of 45k). A short spin
//    (GOMP_SPINCOUNT=10000) is as fast on a quiet machine and degrades gracefully under load.
// A variable the user set is left as it is: OMP_WAIT_POLICY=active keeps the long spin, passive never
// spins, and OPENBLAS_CORETYPE picks the kernels.
// 3. The library's messages (kernels/log.h) go to stderr.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace metta::process {

inline constexpr const char* kShortSpinCount = "10000";

// The variables prepare_process would set in this process's environment (name, value).
std::vector<std::pair<std::string, std::string>> wanted_environment();

// Installs a log callback (kernels/log.h) that prints each library message on a line of stderr.
void log_to_stderr();

// log_to_stderr(), then sets the wanted variables and re-executes /proc/self/exe once with them (returns
// when none is needed, when METTA_NO_REEXEC is set, or when the re-exec fails: then the program carries
// on as it is).
void prepare_process(char** argv);

}  // namespace metta::process
