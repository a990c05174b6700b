// A one-rank NCCL communicator (METTA_NCCL_SINGLE=1): a plain run's gradients then go through
// ncclAllReduce as a multi-GPU run's do, so one GPU measures what the all-reduce path costs.
#include <cuda_runtime.h>
#include <nccl.h>

#include "train/distributed/backend.h"

namespace metta::train::distributed {

bool nccl_compiled() { return true; }

namespace {

class NcclSingleBackend : public ProcessGroup::Backend {
 public:
  NcclSingleBackend() {
    int device = 0;
    cudaGetDevice(&device);
    if (ncclCommInitAll(&comm_, 1, &device) != ncclSuccess) throw Error("NCCL: ncclCommInitAll for one GPU failed");
  }
  ~NcclSingleBackend() override { ncclCommDestroy(comm_); }
  void sum_host(float*, std::int64_t, double, const char*) override {}
  void sum_host(double*, std::int64_t, double, const char*) override {}
  void broadcast(std::vector<std::uint8_t>&, double) override {}
  std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes, double) override { return {bytes}; }
  void barrier(double) override {}
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
  bool sum_device(const kernels::Context& ctx, float* data, std::int64_t n, double) override {
    const ncclResult_t r = ncclAllReduce(data, data, static_cast<std::size_t>(n), ncclFloat32, ncclSum, comm_,
                                         static_cast<cudaStream_t>(ctx.stream));
    if (r != ncclSuccess) throw Error(std::string("NCCL: ncclAllReduce failed: ") + ncclGetErrorString(r));
    return true;
  }

 private:
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<ProcessGroup::Backend> make_nccl_single_backend() { return std::make_unique<NcclSingleBackend>(); }

}  // namespace metta::train::distributed
