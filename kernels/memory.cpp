#include "kernels/memory.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels/cuda_api.h"

namespace metta::kernels {
namespace {
std::atomic<std::int64_t> g_live[2];
std::atomic<std::int64_t> g_allocs[2];
std::atomic<std::int64_t> g_h2d{0}, g_d2h{0}, g_d2d{0}, g_calls{0};
int idx(Device d) { return d == Device::CPU ? 0 : 1; }
}  // namespace

std::int64_t live_bytes(Device d) { return g_live[idx(d)].load(); }
std::int64_t alloc_count(Device d) { return g_allocs[idx(d)].load(); }

void* device_alloc(Device d, std::size_t bytes) {
  void* p = nullptr;
  if (d == Device::CPU) {
    // 64-byte alignment: cache lines, and vector loads in the CPU kernels.
    std::size_t rounded = (bytes + 63) / 64 * 64;
    p = std::aligned_alloc(64, rounded);
    METTA_CHECK(p != nullptr, "host allocation of " << bytes << " bytes failed");
  } else {
    p = cuda_api::malloc(bytes);
  }
  g_live[idx(d)] += static_cast<std::int64_t>(bytes);
  g_allocs[idx(d)] += 1;
  return p;
}

void device_free(Device d, void* p, std::size_t bytes) noexcept {
  if (!p) return;
  if (d == Device::CPU) std::free(p);
  else cuda_api::free_nothrow(p);
  g_live[idx(d)] -= static_cast<std::int64_t>(bytes);
}

CopyStats copy_stats() {
  CopyStats s;
  s.host_to_device_bytes = g_h2d.load();
  s.device_to_host_bytes = g_d2h.load();
  s.device_to_device_bytes = g_d2d.load();
  s.calls = g_calls.load();
  return s;
}

void copy_bytes(const Context& ctx, Device dst_dev, void* dst, Device src_dev, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  g_calls += 1;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    // On the CPU backend "device" memory is host memory; count by the roles the caller named.
    std::memcpy(dst, src, bytes);
    g_d2d += static_cast<std::int64_t>(bytes);
    return;
  }
  cuda_api::CopyKind kind;
  if (dst_dev == Device::CUDA && src_dev == Device::CUDA) {
    kind = cuda_api::CopyKind::DeviceToDevice;
    g_d2d += static_cast<std::int64_t>(bytes);
  } else if (dst_dev == Device::CUDA) {
    kind = cuda_api::CopyKind::HostToDevice;
    g_h2d += static_cast<std::int64_t>(bytes);
  } else {
    kind = cuda_api::CopyKind::DeviceToHost;
    g_d2h += static_cast<std::int64_t>(bytes);
  }
  cuda_api::memcpy(dst, src, bytes, kind, ctx.stream);
}

void download_bytes(const Context& ctx, void* host_dst, const void* device_src, std::size_t bytes) {
  if (bytes == 0) return;
  g_calls += 1;
  g_d2h += static_cast<std::int64_t>(bytes);
  if (ctx.device == Device::CPU) std::memcpy(host_dst, device_src, bytes);
  else cuda_api::memcpy(host_dst, device_src, bytes, cuda_api::CopyKind::DeviceToHost, ctx.stream);
}

void upload_bytes(const Context& ctx, void* device_dst, const void* host_src, std::size_t bytes) {
  if (bytes == 0) return;
  g_calls += 1;
  g_h2d += static_cast<std::int64_t>(bytes);
  if (ctx.device == Device::CPU) std::memcpy(device_dst, host_src, bytes);
  else cuda_api::memcpy(device_dst, host_src, bytes, cuda_api::CopyKind::HostToDevice, ctx.stream);
}

void fill_bytes(const Context& ctx, void* dst, int value, std::size_t bytes) {
  if (bytes == 0) return;
  if (ctx.device == Device::CPU) std::memset(dst, value, bytes);
  else cuda_api::memset(dst, value, bytes, ctx.stream);
}

#ifndef METTA_WITH_CUDA
// CPU-only build: the CUDA entry points exist so callers link, and fail loudly if reached.
namespace cuda_api {
int device_count() { return 0; }
std::string device_count_error() { return "built without CUDA"; }
void set_device(int) { METTA_FAIL("CUDA device requested in a build without the CUDA backend"); }
void* malloc(std::size_t) { METTA_FAIL("CUDA allocation requested in a build without the CUDA backend"); }
void free_nothrow(void*) noexcept {}
void memcpy(void*, const void*, std::size_t, CopyKind, void*) {
  METTA_FAIL("CUDA copy requested in a build without the CUDA backend");
}
void memset(void*, int, std::size_t, void*) { METTA_FAIL("CUDA memset requested in a build without the CUDA backend"); }
void stream_synchronize(void*) { METTA_FAIL("CUDA synchronize requested in a build without the CUDA backend"); }
std::string device_description() { return "none (built without CUDA)"; }
double device_memory_bandwidth() { return 0; }
void* stream_create() { METTA_FAIL("CUDA stream requested in a build without the CUDA backend"); }
void stream_destroy_nothrow(void*) noexcept {}
void graph_capture_begin(void*) { METTA_FAIL("CUDA graph requested in a build without the CUDA backend"); }
void* graph_capture_end(void*) { METTA_FAIL("CUDA graph requested in a build without the CUDA backend"); }
void graph_launch(void*, void*) { METTA_FAIL("CUDA graph requested in a build without the CUDA backend"); }
void graph_destroy_nothrow(void*) noexcept {}
void* event_create() { METTA_FAIL("CUDA event requested in a build without the CUDA backend"); }
void event_destroy_nothrow(void*) noexcept {}
void event_record(void*, void*) { METTA_FAIL("CUDA event requested in a build without the CUDA backend"); }
float event_elapsed_ms(void*, void*) { METTA_FAIL("CUDA event requested in a build without the CUDA backend"); }
}  // namespace cuda_api
#endif

}  // namespace metta::kernels
