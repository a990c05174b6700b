// A fixed sequence of launches recorded once and replayed (issue 12: few launches): on CUDA a graph
// captured from a stream of its own, so a replay is one launch with no host work per kernel; on the CPU
// a replay simply runs the work again (the same results, which the tests compare). The work must not
// allocate, copy to the host or synchronise, and must keep its buffers at fixed addresses; values that
// change per replay (a step counter) live in device memory, not in kernel arguments.
#pragma once

#include <functional>

#include "kernels/device.h"

namespace metta::kernels {

// A CUDA stream owned for its lifetime (graph capture cannot use the default stream); on the CPU, no
// stream. context() is the context to launch the work on.
class OwnedStream {
 public:
  explicit OwnedStream(const Context& base);
  ~OwnedStream();
  OwnedStream(const OwnedStream&) = delete;
  OwnedStream& operator=(const OwnedStream&) = delete;
  const Context& context() const { return ctx_; }

 private:
  Context ctx_;
};

class CapturedWork {
 public:
  // Records `work` launched on ctx (a CUDA context with its own stream: OwnedStream). Nothing runs yet.
  CapturedWork(const Context& ctx, std::function<void()> work);
  ~CapturedWork();
  CapturedWork(const CapturedWork&) = delete;
  CapturedWork& operator=(const CapturedWork&) = delete;
  void replay();  // asynchronous on CUDA, like the launches it holds

 private:
  Context ctx_;
  std::function<void()> work_;  // the CPU's replay
  void* graph_ = nullptr;       // CUDA: the instantiated graph
};

}  // namespace metta::kernels
