// The ranks of a data-parallel run and the collectives the trainer needs (issue 15): sums of gradients
// and statistics, a byte gather for checkpoints, a broadcast, agreement on stopping. One group per
// process: the program joins it once from the launcher's variables (ranks.h; api::process_group() does
// this), and a process that never joins is rank 0 of 1. World size 1 needs nothing and does nothing. Larger worlds are connected by MPI (OpenMPI); buffers on a GPU are summed by NCCL when
// the build has it (else through the host). Every wait has a deadline: a rank that died or stalls makes
// the others fail with an error naming the collective, never hang.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/collective.h"
#include "train/distributed/ranks.h"

namespace metta::train::distributed {

// Whether this build can run several ranks.
bool mpi_compiled();
bool nccl_compiled();

// After an error on this rank: stops every rank of a multi-rank run at once (MPI_Abort) and does not
// return; returns at once when the process has no such group (never creates one).
void abort_other_ranks(int code);

class ProcessGroup : public kernels::RankSum {
 public:
  // Joins the process's group as `info` says: for world > 1 this starts MPI (and selects the GPU that
  // local_rank names). nccl_single: a one-rank NCCL communicator in a plain run, so gradients take the
  // all-reduce path (to measure its cost). Throws when the build has no MPI for world > 1, when MPI's
  // world disagrees with `info`, or when the process already joined differently.
  static ProcessGroup& join(const RankInfo& info, bool nccl_single = false);
  // The joined group, or rank 0 of 1 when the process never joined.
  static ProcessGroup& get();
  ~ProcessGroup() override;

  int rank() const { return info_.rank; }
  int world() const override { return info_.world; }
  int local_rank() const { return info_.local_rank; }
  bool is_main() const { return info_.rank == 0; }
  // True when sums do something: world > 1, or a one-rank NCCL communicator (METTA_NCCL_SINGLE=1).
  bool active() const { return backend_ != nullptr; }
  const RankInfo& info() const { return info_; }
  // One line for logs: "rank 1 of 2 (mpirun, local rank 1, pid 1234)".
  std::string describe() const;

  // Seconds any collective may wait for the other ranks (default 600).
  void set_timeout(double seconds);
  double timeout() const { return timeout_s_; }

  // In place, over every rank: data[i] = sum of data[i]. Device memory for a CUDA context.
  void sum(const kernels::Context& ctx, float* data, std::int64_t n) const override;
  void sum_host(double* data, std::int64_t n) const;
  // True on every rank when `flag` is true on any rank.
  bool any(bool flag) const;
  // Rank 0's bytes, on every rank.
  std::vector<std::uint8_t> broadcast(std::vector<std::uint8_t> bytes) const;
  // Every rank's bytes on rank 0 (index = rank); an empty list on the others.
  std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes) const;
  void barrier() const;
  // A barrier with its own deadline, for waits on one rank's slow work (evaluation, writing files).
  void barrier_within(double timeout_s) const;
  static constexpr double kSlowWorkSeconds = 86400;
  // Stops every rank at once after an error on this one (MPI_Abort); returns only when world is 1.
  void abort(int code) const;

  // The backend, behind the group (MPI, NCCL); public for the files that implement it.
  struct Backend;

 private:
  ProcessGroup(const RankInfo& info, bool nccl_single);
  RankInfo info_;
  bool nccl_single_ = false;
  double timeout_s_ = 600;
  std::unique_ptr<Backend> backend_;
  mutable bool logged_host_staging_ = false;
};

}  // namespace metta::train::distributed
