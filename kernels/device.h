// The backend a call runs on and the execution context handed to every launcher.
// A `Context` is chosen once per call: `Device::CPU` runs OpenMP loops, `Device::CUDA` launches kernels on
// `stream`. Asking for CUDA in a build without it, or on a machine without a GPU, throws metta::Error.
#pragma once

#include <string>

#include "kernels/common.h"

namespace metta::kernels {

enum class Device { CPU, CUDA };

// How CUDA float GEMMs multiply: fp32 throughout; TF32 tensor cores (fp32 in and out, 10-bit mantissa
// products, fp32 accumulation; trainer.precision: tf32); or bf16 tensor cores (fp32 in and out, each
// operand rounded to bf16's 8-bit mantissa inside the GEMM, fp32 accumulation; cuBLAS's
// CUBLAS_COMPUTE_32F_FAST_16BF; trainer.precision: bf16). Weights, optimizer state and activations stay
// fp32 in memory either way. The CPU always computes in fp32.
enum class MathMode { kFp32, kTf32, kBf16 };

// Execution context. `num_threads` (CPU only): 0 = OpenMP default. `stream` (CUDA only): a cudaStream_t,
// null = the default stream. `math` (CUDA only): MathMode above. `fused_epilogues` (CUDA only): linear and
// convolution layers add their bias and ReLU inside the GEMM (kernels::gemm_bias_epilogue) instead of in a
// pass of their own (trainer.fused_epilogues).
struct Context {
  Device device = Device::CPU;
  int num_threads = 0;
  void* stream = nullptr;
  MathMode math = MathMode::kFp32;
  bool fused_epilogues = false;

  static Context cpu(int threads = 0) { return Context{Device::CPU, threads, nullptr}; }
  // Throws unless the build has CUDA and a GPU is present.
  static Context cuda();
};

// True when this build was compiled with the CUDA backend.
bool cuda_compiled();
// Number of CUDA devices usable now (0 without the backend or without a GPU; never throws).
int cuda_device_count();
// Why CUDA is not usable, or "" when it is. Tests print this when they skip.
std::string cuda_unavailable_reason();
// Parses "cpu" / "cuda" (case-sensitive); any other string throws naming the value.
Device parse_device(const std::string& name);
const char* device_name(Device d);
// Waits for queued work of the context (no-op on CPU).
void synchronize(const Context& ctx);

}  // namespace metta::kernels
