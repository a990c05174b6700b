// MPI (and NCCL) behind ProcessGroup. Compiled only in builds with MPI; process_group_none.cpp stands in
// otherwise. Collectives are the non-blocking MPI ones, waited for with a deadline (MPI's blocking
// collectives would wait forever for a rank that stalled).
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "train/distributed/backend.h"

#ifdef METTA_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace metta::train::distributed {

bool mpi_compiled() { return true; }

namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, static_cast<std::size_t>(len));
}

void check_mpi(int code, const char* call) {
  if (code != MPI_SUCCESS) throw Error(std::string("MPI: ") + call + " failed: " + mpi_error_text(code));
}

// Polls a request until it completes or the deadline passes: a short spin, then sleeps that grow to 1 ms
// (the other rank may need this core).
void wait_for(MPI_Request& req, double timeout_s, int rank, const std::string& what) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  int done = 0;
  for (long i = 0;; ++i) {
    check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    if (i > 200) {
      if (clock::now() > deadline)
        throw Error("rank " + std::to_string(rank) + ": " + what + " did not complete within " +
                    std::to_string(static_cast<int>(timeout_s)) +
                    " s: another rank has stopped, died or is far behind (the limit is trainer.collective_timeout)");
      std::this_thread::sleep_for(std::chrono::microseconds(i < 2000 ? 10 : 1000));
    }
  }
}

class MpiBackend : public ProcessGroup::Backend {
 public:
  explicit MpiBackend(const RankInfo& info) : info_(info) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit(finalize);
    }
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != info.world || rank != info.rank)
      throw Error(info.launcher + "'s variables say rank " + std::to_string(info.rank) + " of " + std::to_string(info.world) +
                  ", MPI says rank " + std::to_string(rank) + " of " + std::to_string(size) +
                  (size == 1 ? ": the ranks are connected by MPI, so start them with mpirun -np N (or srun --mpi=pmix), "
                               "not torchrun"
                             : ""));
  }
  // After a timeout the group is broken: its requests may still be pending (MPI cannot cancel a
  // collective), so every later call fails at once instead of mixing with them.
  void wait(MPI_Request& req, double timeout_s, const std::string& what) {
    try {
      wait_for(req, timeout_s, info_.rank, what);
    } catch (...) {
      broken_ = true;
      throw;
    }
  }
  void check_usable() const {
    if (broken_)
      throw Error("rank " + std::to_string(info_.rank) +
                  ": an earlier collective failed or timed out, so this process group cannot be used again; stop the "
                  "process");
  }

  ~MpiBackend() override {
#ifdef METTA_WITH_NCCL
    if (nccl_) ncclCommAbort(nccl_);  // at exit: frees it without waiting on the peers
#endif
  }

  void sum_host(float* data, std::int64_t n, double timeout_s, const char* what) override {
    check_usable();
    all_reduce(data, n, MPI_FLOAT, timeout_s, what);
  }
  void sum_host(double* data, std::int64_t n, double timeout_s, const char* what) override {
    check_usable();
    all_reduce(data, n, MPI_DOUBLE, timeout_s, what);
  }

  void broadcast(std::vector<std::uint8_t>& bytes, double timeout_s) override {
    check_usable();
    long long size = static_cast<long long>(bytes.size());
    MPI_Request req;
    check_mpi(MPI_Ibcast(&size, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast");
    wait(req, timeout_s, "a broadcast from rank 0");
    bytes.resize(static_cast<std::size_t>(size));
    for (long long off = 0; off < size; off += kChunk) {
      const int len = static_cast<int>(std::min<long long>(kChunk, size - off));
      check_mpi(MPI_Ibcast(bytes.data() + off, len, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast");
      wait(req, timeout_s, "a broadcast from rank 0");
    }
  }

  std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes, double timeout_s) override {
    check_usable();
    const int W = info_.world;
    long long mine = static_cast<long long>(bytes.size());
    std::vector<long long> sizes(static_cast<std::size_t>(W));
    MPI_Request req;
    check_mpi(MPI_Igather(&mine, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD, &req), "MPI_Igather");
    wait(req, timeout_s, "the gather of checkpoint state on rank 0");
    // then each rank's bytes in turn, as point-to-point messages in chunks (no 2 GB limit of int counts)
    std::vector<std::vector<std::uint8_t>> out;
    if (info_.rank == 0) {
      out.resize(static_cast<std::size_t>(W));
      out[0] = bytes;
      for (int r = 1; r < W; ++r) {
        out[r].resize(static_cast<std::size_t>(sizes[r]));
        for (long long off = 0; off < sizes[r]; off += kChunk) {
          const int len = static_cast<int>(std::min<long long>(kChunk, sizes[r] - off));
          check_mpi(MPI_Irecv(out[r].data() + off, len, MPI_BYTE, r, kGatherTag, MPI_COMM_WORLD, &req), "MPI_Irecv");
          wait(req, timeout_s, "the checkpoint state of rank " + std::to_string(r));
        }
      }
    } else {
      for (long long off = 0; off < mine; off += kChunk) {
        const int len = static_cast<int>(std::min<long long>(kChunk, mine - off));
        check_mpi(MPI_Isend(bytes.data() + off, len, MPI_BYTE, 0, kGatherTag, MPI_COMM_WORLD, &req), "MPI_Isend");
        wait(req, timeout_s, "sending checkpoint state to rank 0");
      }
    }
    return out;
  }

  void barrier(double timeout_s) override {
    check_usable();
    MPI_Request req;
    check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &req), "MPI_Ibarrier");
    wait(req, timeout_s, "a barrier");
  }

  [[noreturn]] void abort(int code) override {
    std::fflush(nullptr);  // what this rank printed, before MPI stops every rank
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

#ifdef METTA_WITH_NCCL
  bool sum_device(const kernels::Context& ctx, float* data, std::int64_t n, double timeout_s) override {
    check_usable();
    auto stream = static_cast<cudaStream_t>(ctx.stream);
    if (!nccl_) {
      ncclUniqueId id;
      if (info_.rank == 0 && ncclGetUniqueId(&id) != ncclSuccess) throw Error("NCCL: ncclGetUniqueId failed");
      std::vector<std::uint8_t> bytes(sizeof id);
      std::memcpy(bytes.data(), &id, sizeof id);
      broadcast(bytes, timeout_s);
      std::memcpy(&id, bytes.data(), sizeof id);
      ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
      config.blocking = 0;  // so that a stalled peer can be waited for with a deadline and aborted
      ncclResult_t r = ncclCommInitRankConfig(&nccl_, info_.world, id, info_.rank, &config);
      wait_nccl(r, stream, timeout_s, "NCCL's communicator set-up");
    }
    const ncclResult_t r = ncclAllReduce(data, data, static_cast<std::size_t>(n), ncclFloat32, ncclSum, nccl_, stream);
    wait_nccl(r, stream, timeout_s, "the NCCL all-reduce");
    return true;
  }

 private:
  void wait_nccl(ncclResult_t r, cudaStream_t stream, double timeout_s, const char* what) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(nccl_, &state);
      if (r != ncclSuccess && r != ncclInProgress) state = r;
      if (state != ncclSuccess && state != ncclInProgress) {
        ncclCommAbort(nccl_);
        nccl_ = nullptr;
        broken_ = true;
        throw Error(std::string(what) + " failed: " + ncclGetErrorString(state));
      }
      if (state == ncclSuccess) {
        const cudaError_t q = cudaStreamQuery(stream);
        if (q == cudaSuccess) return;
        if (q != cudaErrorNotReady) {  // a real fault on this GPU, not a slow peer
          ncclCommAbort(nccl_);
          nccl_ = nullptr;
          broken_ = true;
          throw Error(std::string(what) + ": CUDA error " + cudaGetErrorString(q));
        }
      }
      if (clock::now() > deadline) {
        ncclCommAbort(nccl_);
        nccl_ = nullptr;
        broken_ = true;
        throw Error("rank " + std::to_string(info_.rank) + ": " + what + " did not complete within " +
                    std::to_string(static_cast<int>(timeout_s)) + " s: another rank has stopped or died");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
  ncclComm_t nccl_ = nullptr;
#endif

 private:
  static constexpr long long kChunk = 1 << 30;
  static constexpr int kGatherTag = 1501;
  template <class T>
  void all_reduce(T* data, std::int64_t n, MPI_Datatype type, double timeout_s, const char* what) {
    for (std::int64_t off = 0; off < n; off += kChunk) {
      const int len = static_cast<int>(std::min<std::int64_t>(kChunk, n - off));
      MPI_Request req;
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data + off, len, type, MPI_SUM, MPI_COMM_WORLD, &req), "MPI_Iallreduce");
      wait(req, timeout_s, what);
    }
  }
  static void finalize() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  RankInfo info_;
  bool broken_ = false;
};

}  // namespace

std::unique_ptr<ProcessGroup::Backend> make_mpi_backend(const RankInfo& info) { return std::make_unique<MpiBackend>(info); }

}  // namespace metta::train::distributed
