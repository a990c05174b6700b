#include "kernels/device.h"

#include "kernels/cuda_api.h"

namespace metta {
namespace detail {
void throw_error(const char* expr, const char* file, int line, const std::string& detail) {
  std::ostringstream where;
  where << expr << " at " << file << ":" << line;
  throw Error(detail, where.str());
}
}  // namespace detail

namespace kernels {

bool cuda_compiled() {
#ifdef METTA_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() { return cuda_api::device_count(); }

std::string cuda_unavailable_reason() {
  if (!cuda_compiled()) return "this build has no CUDA backend (configured with METTA_CUDA=OFF or without nvcc)";
  if (cuda_device_count() == 0) return "no CUDA device is present: " + cuda_api::device_count_error();
  return "";
}

Context Context::cuda() {
  std::string why = cuda_unavailable_reason();
  METTA_CHECK(why.empty(), "device 'cuda' requested but " << why);
  return Context{Device::CUDA, 0, nullptr};
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "cuda") return Device::CUDA;
  METTA_FAIL("unknown device '" << name << "': expected 'cpu' or 'cuda'");
}

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

void synchronize(const Context& ctx) {
  if (ctx.device == Device::CUDA) cuda_api::stream_synchronize(ctx.stream);
}

}  // namespace kernels
}  // namespace metta
