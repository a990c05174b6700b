// Device memory: move-only RAII buffers with a live-bytes counter, and the one counted copy function.
// Every allocation of the project goes through `device_alloc`; every host<->device transfer through
// `copy_bytes`. Tests read `live_bytes()` to prove a step allocates nothing and `copy_stats()` to prove an
// epoch moves only scalars. The counters cover both backends (CPU "device" memory is host memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/device.h"

namespace metta::kernels {

// Bytes currently allocated through device_alloc, per backend.
std::int64_t live_bytes(Device d);
// Number of allocations made so far, per backend (monotonic).
std::int64_t alloc_count(Device d);

void* device_alloc(Device d, std::size_t bytes);
void device_free(Device d, void* p, std::size_t bytes) noexcept;

// Counted copies. Direction is implied by the devices of the two sides.
struct CopyStats {
  std::int64_t host_to_device_bytes = 0, device_to_host_bytes = 0, device_to_device_bytes = 0;
  std::int64_t calls = 0;
};
CopyStats copy_stats();
void copy_bytes(const Context& ctx, Device dst_dev, void* dst, Device src_dev, const void* src, std::size_t bytes);
// Host <-> device transfers counted as such on every backend (on the CPU backend "device" memory is host
// memory, so copy_bytes alone could not tell a download from a device-side copy).
void download_bytes(const Context& ctx, void* host_dst, const void* device_src, std::size_t bytes);
void upload_bytes(const Context& ctx, void* device_dst, const void* host_src, std::size_t bytes);
void fill_bytes(const Context& ctx, void* dst, int value, std::size_t bytes);

// Move-only owning buffer of `n` elements of trivially copyable T on one backend.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Device d, std::size_t n) : device_(d), size_(n) {
    if (n) data_ = static_cast<T*>(device_alloc(d, n * sizeof(T)));
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      swap(o);
    }
    return *this;
  }
  void reset() noexcept {
    if (data_) device_free(device_, data_, size_ * sizeof(T));
    data_ = nullptr;
    size_ = 0;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  Device device() const { return device_; }

  void upload(const Context& ctx, const T* host, std::size_t n) {
    METTA_CHECK(n <= size_, "upload of " << n << " elements into a buffer of " << size_);
    METTA_CHECK(ctx.device == device_, "upload through a context of another backend");
    upload_bytes(ctx, data_, host, n * sizeof(T));
  }
  void upload(const Context& ctx, const std::vector<T>& host) { upload(ctx, host.data(), host.size()); }
  void download(const Context& ctx, T* host, std::size_t n) const {
    METTA_CHECK(n <= size_, "download of " << n << " elements from a buffer of " << size_);
    METTA_CHECK(ctx.device == device_, "download through a context of another backend");
    download_bytes(ctx, host, data_, n * sizeof(T));
  }
  std::vector<T> to_host(const Context& ctx) const {
    std::vector<T> v(size_);
    download(ctx, v.data(), size_);
    return v;
  }
  void fill_bytes_with(const Context& ctx, int byte) { fill_bytes(ctx, data_, byte, bytes()); }

 private:
  void swap(DeviceBuffer& o) noexcept {
    std::swap(device_, o.device_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  Device device_ = Device::CPU;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace metta::kernels
