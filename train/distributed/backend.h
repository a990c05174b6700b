// The transport behind a ProcessGroup (internal to train/distributed/): MPI for world > 1, and NCCL for
// device buffers when the build has it. Every call takes the deadline in seconds and throws metta::Error
// naming `what` when it passes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "train/distributed/process_group.h"

namespace metta::train::distributed {

struct ProcessGroup::Backend {
  virtual ~Backend() = default;
  virtual void sum_host(float* data, std::int64_t n, double timeout_s, const char* what) = 0;
  virtual void sum_host(double* data, std::int64_t n, double timeout_s, const char* what) = 0;
  virtual void broadcast(std::vector<std::uint8_t>& bytes, double timeout_s) = 0;
  virtual std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes, double timeout_s) = 0;
  virtual void barrier(double timeout_s) = 0;
  [[noreturn]] virtual void abort(int code) = 0;
  // Sums device memory in place (NCCL); false when this backend cannot (the group then stages through
  // the host).
  virtual bool sum_device(const kernels::Context& ctx, float* data, std::int64_t n, double timeout_s) {
    return false;
  }
};

// MPI started for `info` (throws in a build without MPI). Selects the GPU before NCCL is set up.
std::unique_ptr<ProcessGroup::Backend> make_mpi_backend(const RankInfo& info);
// A one-rank NCCL communicator for measuring the all-reduce's cost in a plain run (METTA_NCCL_SINGLE=1);
// nullptr in a build without NCCL.
std::unique_ptr<ProcessGroup::Backend> make_nccl_single_backend();

}  // namespace metta::train::distributed
