// Entry points of nn/ops.h: dispatch once per call to the backend the context names.
#include "kernels/dispatch.h"
#include "nn/ops_list.h"

namespace metta::nn {

namespace cpu {
METTA_NN_OPS(METTA_NN_DECLARE, T)
}
#ifdef METTA_WITH_CUDA
namespace cuda {
METTA_NN_OPS(METTA_NN_DECLARE, T)
}
#define METTA_NN_CALL_CUDA(name, args) cuda::name<T> args
#else
#define METTA_NN_CALL_CUDA(name, args) kernels::fail_no_cuda_backend()
#endif

#define METTA_NN_DEFINE(T_, name, params, args)                                   \
  template <class T>                                                              \
  void name params {                                                              \
    if (ctx.device == kernels::Device::CUDA) METTA_NN_CALL_CUDA(name, args);      \
    else cpu::name<T> args;                                                       \
  }
METTA_NN_OPS(METTA_NN_DEFINE, T)

METTA_NN_OPS(METTA_NN_INSTANTIATE, float)
METTA_NN_OPS(METTA_NN_INSTANTIATE, double)

}  // namespace metta::nn
