#include "train/distributed/process_group.h"

#include <unistd.h>

#include <mutex>
#include <sstream>

#include "kernels/cuda_api.h"
#include "kernels/log.h"
#include "kernels/memory.h"
#include "train/distributed/backend.h"

namespace metta::train::distributed {

namespace {
std::mutex g_mutex;
std::unique_ptr<ProcessGroup>& the_group() {
  static std::unique_ptr<ProcessGroup> group;  // one per process; lives until exit
  return group;
}
}  // namespace

ProcessGroup& ProcessGroup::join(const RankInfo& info, bool nccl_single) {
  const std::lock_guard<std::mutex> lock(g_mutex);
  std::unique_ptr<ProcessGroup>& g = the_group();
  if (!g) {
    g.reset(new ProcessGroup(info, nccl_single));
  } else if (g->info_.rank != info.rank || g->info_.world != info.world || g->nccl_single_ != nccl_single) {
    throw Error("this process is already " + g->describe() + "; it cannot join again as rank " +
                std::to_string(info.rank) + " of " + std::to_string(info.world));
  }
  return *g;
}

ProcessGroup& ProcessGroup::get() {
  {
    const std::lock_guard<std::mutex> lock(g_mutex);
    if (the_group()) return *the_group();
  }
  return join(RankInfo{});
}

void abort_other_ranks(int code) {
  const std::lock_guard<std::mutex> lock(g_mutex);
  if (the_group() && the_group()->world() > 1) the_group()->abort(code);
}

ProcessGroup::ProcessGroup(const RankInfo& info, bool nccl_single) : info_(info), nccl_single_(nccl_single) {
  if (info_.world > 1) {
    if (!mpi_compiled())
      throw Error(info_.launcher + " started this process as rank " + std::to_string(info_.rank) + " of " +
                  std::to_string(info_.world) + ", but this build has no MPI (configure with -DMETTA_MPI=ON after "
                  "scripts/install-deps.sh installs OpenMPI)");
    // one process per GPU: the local rank names it (before anything touches the device)
    if (const int devices = kernels::cuda_api::device_count(); devices > 0)
      kernels::cuda_api::set_device(info_.local_rank % devices);
    backend_ = make_mpi_backend(info_);
  } else if (nccl_single) {
    backend_ = make_nccl_single_backend();
    if (!backend_) throw Error("a one-rank NCCL all-reduce was asked for, but this build has no NCCL");
  }
}

ProcessGroup::~ProcessGroup() = default;

std::string ProcessGroup::describe() const {
  std::ostringstream os;
  os << "rank " << info_.rank << " of " << info_.world;
  if (!info_.launcher.empty()) os << " (" << info_.launcher << ", local rank " << info_.local_rank << ", pid " << getpid() << ")";
  return os.str();
}

void ProcessGroup::set_timeout(double seconds) {
  if (!(seconds > 0)) throw Error("collective timeout: got " + std::to_string(seconds) + ", expected seconds > 0");
  timeout_s_ = seconds;
}

void ProcessGroup::sum(const kernels::Context& ctx, float* data, std::int64_t n) const {
  if (!backend_ || n == 0) return;
  if (ctx.device == kernels::Device::CUDA) {
    if (backend_->sum_device(ctx, data, n, timeout_s_)) return;
    if (!logged_host_staging_ && is_main()) {
      log_message(LogLevel::kWarning, "distributed: this build has no NCCL; device sums go through the host and MPI (slow)");
      logged_host_staging_ = true;
    }
    std::vector<float> host(static_cast<std::size_t>(n));
    kernels::download_bytes(ctx, host.data(), data, host.size() * sizeof(float));
    backend_->sum_host(host.data(), n, timeout_s_, "a sum of device values");
    kernels::upload_bytes(ctx, data, host.data(), host.size() * sizeof(float));
    return;
  }
  backend_->sum_host(data, n, timeout_s_, n > 16 ? "the gradient all-reduce" : "a sum of training statistics");
}

void ProcessGroup::sum_host(double* data, std::int64_t n) const {
  if (info_.world > 1 && n > 0) backend_->sum_host(data, n, timeout_s_, "a sum of episode statistics");
}

bool ProcessGroup::any(bool flag) const {
  if (info_.world == 1) return flag;
  double v = flag ? 1.0 : 0.0;
  backend_->sum_host(&v, 1, timeout_s_, "the agreement on stopping");
  return v > 0;
}

std::vector<std::uint8_t> ProcessGroup::broadcast(std::vector<std::uint8_t> bytes) const {
  if (info_.world > 1) backend_->broadcast(bytes, timeout_s_);
  return bytes;
}

std::vector<std::vector<std::uint8_t>> ProcessGroup::gather(const std::vector<std::uint8_t>& bytes) const {
  if (info_.world == 1) return {bytes};
  return backend_->gather(bytes, timeout_s_);
}

void ProcessGroup::barrier() const {
  if (info_.world > 1) backend_->barrier(timeout_s_);
}

void ProcessGroup::barrier_within(double timeout_s) const {
  if (info_.world > 1) backend_->barrier(timeout_s);
}

void ProcessGroup::abort(int code) const {
  if (info_.world > 1) backend_->abort(code);
}

}  // namespace metta::train::distributed

#ifndef METTA_WITH_NCCL
namespace metta::train::distributed {
bool nccl_compiled() { return false; }
std::unique_ptr<ProcessGroup::Backend> make_nccl_single_backend() { return nullptr; }
}  // namespace metta::train::distributed
#endif
