// The scalars of one minibatch update that change from one update to the next, for an update phase
// recorded once and replayed (trainer.update_graph; issue 13: CUDA graphs and no syncs). A plain update
// passes them to its kernels as arguments; a replay repeats its kernels' arguments, so it reads them from
// device memory instead. The host writes a table of every update of an epoch before the epoch's updates
// (with the same functions that give the plain update its arguments, so the same bits), and each replay
// first copies its entry to a fixed place (select_update_step), where the sampler and the optimizer read.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/device.h"

namespace metta::kernels {

struct UpdateStepScalars {
  std::uint32_t sample_pass = 0;  // the sampler's epoch key: epoch * update_epochs + update epoch
  std::uint32_t minibatch = 0;    // the sampler's minibatch key
  float beta = 0;                 // prioritized replay's importance exponent
  float adam_step_size = 0;       // Adam's lr / (1 - beta1^t)  (adam_step_scalars)
  float adam_bc2_sqrt = 0;        // Adam's sqrt(1 - beta2^t)
};

// *current = table[*index], then ++*index: one thread, first in each replay.
void select_update_step(const Context& ctx, const UpdateStepScalars* table, std::uint32_t* index,
                        UpdateStepScalars* current);

// Device addresses of the fields the kernels read (no dereference: offsets from the struct's address).
inline const std::uint32_t* sampler_key_of(const UpdateStepScalars* s) {  // {sample_pass, minibatch}
  return reinterpret_cast<const std::uint32_t*>(reinterpret_cast<const char*>(s) +
                                                offsetof(UpdateStepScalars, sample_pass));
}
inline const float* beta_of(const UpdateStepScalars* s) {
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(s) + offsetof(UpdateStepScalars, beta));
}
inline const float* adam_scalars_of(const UpdateStepScalars* s) {  // {adam_step_size, adam_bc2_sqrt}
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(s) +
                                        offsetof(UpdateStepScalars, adam_step_size));
}

}  // namespace metta::kernels
