// Stands in for process_group_mpi.cpp in builds without MPI: world size 1 only.
#include "train/distributed/backend.h"

namespace metta::train::distributed {

bool mpi_compiled() { return false; }

std::unique_ptr<ProcessGroup::Backend> make_mpi_backend(const RankInfo& info) {
  throw Error("this build has no MPI: rank " + std::to_string(info.rank) + " of " + std::to_string(info.world) +
              " cannot reach the others");
}

}  // namespace metta::train::distributed
