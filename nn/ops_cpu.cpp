// CPU build of the nn/ops.h launchers.
#define METTA_BACKEND_NS cpu
#include "nn/ops_impl.h"
#include "nn/ops_list.h"

namespace metta::nn::cpu {
METTA_NN_OPS(METTA_NN_INSTANTIATE, float)
METTA_NN_OPS(METTA_NN_INSTANTIATE, double)
}  // namespace metta::nn::cpu
