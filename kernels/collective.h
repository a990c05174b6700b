// What a kernel needs from data-parallel training: sums across the ranks of a run. The kernels layer
// knows nothing of MPI or NCCL; train/distributed/ implements this for a process group, and a run of
// one process passes nullptr (no collective at all).
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace metta::kernels {

class RankSum {
 public:
  virtual ~RankSum() = default;
  virtual int world() const = 0;
  // In place: data[i] = the sum over every rank of data[i]. `data` is memory of ctx's device; every
  // rank calls this at the same point with the same n, and every rank gets the same bits back.
  virtual void sum(const Context& ctx, float* data, std::int64_t n) const = 0;
};

}  // namespace metta::kernels
