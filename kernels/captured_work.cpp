#include "kernels/captured_work.h"

#include "kernels/cuda_api.h"

namespace metta::kernels {

OwnedStream::OwnedStream(const Context& base) : ctx_(base) {
  if (ctx_.device == Device::CUDA) ctx_.stream = cuda_api::stream_create();
}

OwnedStream::~OwnedStream() {
  if (ctx_.device == Device::CUDA) cuda_api::stream_destroy_nothrow(ctx_.stream);
}

CapturedWork::CapturedWork(const Context& ctx, std::function<void()> work) : ctx_(ctx), work_(std::move(work)) {
  if (ctx_.device != Device::CUDA) return;
  METTA_CHECK(ctx_.stream != nullptr, "CapturedWork: a CUDA graph is captured from a stream of its own (OwnedStream), "
                                      "not the default stream");
  cuda_api::graph_capture_begin(ctx_.stream);
  try {
    work_();
  } catch (...) {
    try {  // end the capture so the stream is usable again, then report the work's own error
      cuda_api::graph_destroy_nothrow(cuda_api::graph_capture_end(ctx_.stream));
    } catch (...) {
    }
    throw;
  }
  graph_ = cuda_api::graph_capture_end(ctx_.stream);
}

CapturedWork::~CapturedWork() { cuda_api::graph_destroy_nothrow(graph_); }

void CapturedWork::replay() {
  if (ctx_.device == Device::CUDA) cuda_api::graph_launch(graph_, ctx_.stream);
  else work_();
}

}  // namespace metta::kernels
