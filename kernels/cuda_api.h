// Host-side wrappers of the few CUDA runtime calls the C++ (g++) side needs, so .cpp files never include
// cuda_runtime.h. Defined in backend_cuda.cu; in a build without CUDA they throw (or report no device).
#pragma once

#include <cstddef>
#include <string>

namespace metta::kernels::cuda_api {

int device_count();                  // never throws; 0 when no device or no backend
void set_device(int device);         // the current thread's device (one process per GPU)
std::string device_count_error();    // the runtime's message when device_count() is 0
void* malloc(std::size_t bytes);
void free_nothrow(void* p) noexcept;  // logs instead of throwing (used in destructors)
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void memcpy(void* dst, const void* src, std::size_t bytes, CopyKind kind, void* stream);
void memset(void* dst, int value, std::size_t bytes, void* stream);
void stream_synchronize(void* stream);
std::string device_description();
// Peak memory bandwidth of the current device in bytes/s from its memory clock and bus width (0 when
// the runtime does not say).
double device_memory_bandwidth();
// Streams and graphs (kernels/captured_work.h).
void* stream_create();
void stream_destroy_nothrow(void* stream) noexcept;
void graph_capture_begin(void* stream);
void* graph_capture_end(void* stream);  // the instantiated graph (a cudaGraphExec_t)
void graph_launch(void* graph, void* stream);
void graph_destroy_nothrow(void* graph) noexcept;
// Events for timing work on a stream (kernels/phase_timer.h).
void* event_create();
void event_destroy_nothrow(void* event) noexcept;
void event_record(void* event, void* stream);
// Milliseconds between two recorded events; waits for `end`.
float event_elapsed_ms(void* start, void* end);

}  // namespace metta::kernels::cuda_api
