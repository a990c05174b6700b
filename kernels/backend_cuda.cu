// CUDA side of the backend layer: the runtime wrappers of cuda_api.h and the CUB segmented sum.
#include <cub/device/device_segmented_reduce.cuh>

#include "kernels/cuda_api.h"
#include "kernels/cuda_check.h"
#include "kernels/parallel.h"
#include "kernels/reduce.h"

namespace metta::kernels {
namespace cuda_api {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls see a clean state
    return 0;
  }
  return n;
}

std::string device_count_error() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  cudaGetLastError();
  if (e != cudaSuccess) return cudaGetErrorString(e);
  return n == 0 ? "cudaGetDeviceCount reported 0 devices" : "";
}

void set_device(int device) { METTA_CUDA_CHECK(cudaSetDevice(device)); }

void* malloc(std::size_t bytes) {
  void* p = nullptr;
  METTA_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void free_nothrow(void* p) noexcept { METTA_CUDA_CHECK_NOTHROW(cudaFree(p)); }

void memcpy(void* dst, const void* src, std::size_t bytes, CopyKind kind, void* stream) {
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  METTA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, k, s));
  // Host-side results must be valid on return; device-to-device copies stay asynchronous.
  if (k != cudaMemcpyDeviceToDevice) METTA_CUDA_CHECK(cudaStreamSynchronize(s));
}

void memset(void* dst, int value, std::size_t bytes, void* stream) {
  METTA_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, static_cast<cudaStream_t>(stream)));
}

void stream_synchronize(void* stream) { METTA_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream))); }

std::string device_description() {
  int dev = 0;
  cudaDeviceProp prop{};
  METTA_CUDA_CHECK(cudaGetDevice(&dev));
  METTA_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  return std::string(prop.name) + " (" + std::to_string(prop.multiProcessorCount) + " SMs, " +
         std::to_string(prop.totalGlobalMem >> 20) + " MiB)";
}

double device_memory_bandwidth() {
  int dev = 0, clock_khz = 0, bus_bits = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev) != cudaSuccess) {
    cudaGetLastError();  // clear it: the attribute is optional information
    return 0;
  }
  return 2.0 * clock_khz * 1e3 * bus_bits / 8.0;  // double data rate
}

void* stream_create() {
  cudaStream_t s = nullptr;
  METTA_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy_nothrow(void* stream) noexcept {
  if (stream) METTA_CUDA_CHECK_NOTHROW(cudaStreamDestroy(static_cast<cudaStream_t>(stream)));
}

void graph_capture_begin(void* stream) {
  METTA_CUDA_CHECK(cudaStreamBeginCapture(static_cast<cudaStream_t>(stream), cudaStreamCaptureModeThreadLocal));
}

void* graph_capture_end(void* stream) {
  cudaGraph_t graph = nullptr;
  METTA_CUDA_CHECK(cudaStreamEndCapture(static_cast<cudaStream_t>(stream), &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);  // the executable graph keeps what it needs
  METTA_CUDA_CHECK(e);
  return exec;
}

void graph_launch(void* graph, void* stream) {
  METTA_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graph), static_cast<cudaStream_t>(stream)));
}

void graph_destroy_nothrow(void* graph) noexcept {
  if (graph) METTA_CUDA_CHECK_NOTHROW(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graph)));
}

void* event_create() {
  cudaEvent_t e = nullptr;
  METTA_CUDA_CHECK(cudaEventCreate(&e));
  return e;
}

void event_destroy_nothrow(void* event) noexcept {
  if (event) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void event_record(void* event, void* stream) {
  METTA_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
}

float event_elapsed_ms(void* start, void* end) {
  METTA_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(end)));
  float ms = 0;
  METTA_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)));
  return ms;
}

}  // namespace cuda_api

void cuda_segmented_sum_setup(const Context& ctx, std::int64_t segments, std::int64_t len,
                              DeviceBuffer<std::int32_t>& offsets, DeviceBuffer<std::uint8_t>& temp,
                              std::size_t& temp_bytes) {
  METTA_CHECK(segments * len < (1ll << 31), "segmented sum too large for 32-bit offsets");
  offsets = DeviceBuffer<std::int32_t>(Device::CUDA, static_cast<std::size_t>(segments + 1));
  std::int32_t* off = offsets.data();
  const std::int32_t l = static_cast<std::int32_t>(len);
  parallel_for(ctx, segments + 1, [=] __device__(std::int64_t s) { off[s] = static_cast<std::int32_t>(s) * l; });
  temp_bytes = 0;
  METTA_CUDA_CHECK(cub::DeviceSegmentedReduce::Sum(nullptr, temp_bytes, static_cast<const float*>(nullptr),
                                                   static_cast<float*>(nullptr), static_cast<int>(segments), off,
                                                   off + 1, static_cast<cudaStream_t>(ctx.stream)));
  temp = DeviceBuffer<std::uint8_t>(Device::CUDA, temp_bytes ? temp_bytes : 1);
}

void cuda_segmented_sum_run(const Context& ctx, const float* in, float* out, std::int64_t segments,
                            const std::int32_t* offsets, std::uint8_t* temp, std::size_t temp_bytes) {
  if (segments == 0) return;
  std::size_t bytes = temp_bytes;
  METTA_CUDA_CHECK(cub::DeviceSegmentedReduce::Sum(temp, bytes, in, out, static_cast<int>(segments), offsets,
                                                   offsets + 1, static_cast<cudaStream_t>(ctx.stream)));
}

}  // namespace metta::kernels
