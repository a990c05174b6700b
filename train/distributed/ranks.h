// Which rank of how many this process is, read from the variables its launcher sets: mpirun (OpenMPI's
// OMPI_COMM_WORLD_*), Slurm's srun (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID) or torchrun-style
// variables (RANK, WORLD_SIZE, LOCAL_RANK). A plain start is rank 0 of 1.
#pragma once

#include <functional>
#include <string>

namespace metta::train::distributed {

struct RankInfo {
  int rank = 0, world = 1, local_rank = 0;
  std::string launcher;  // "mpirun", "slurm", "torchrun" or "" (a plain start)
};

// `get` returns a variable's value or nullptr (the program passes getenv: the library reads no
// environment itself). The first launcher whose variables are present wins, in the order above; a
// malformed or inconsistent value is a metta::Error naming the variable and value.
RankInfo rank_info_from(const std::function<const char*(const char*)>& get);

}  // namespace metta::train::distributed
