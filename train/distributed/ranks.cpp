#include "train/distributed/ranks.h"

#include <cerrno>
#include <cstdlib>

#include "kernels/common.h"

namespace metta::train::distributed {
namespace {

int read_int(const std::function<const char*(const char*)>& get, const char* name, int min_value) {
  const char* v = get(name);
  if (!v) throw Error(std::string(name) + " is not set, but the other variables of its launcher are");
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || errno != 0 || x < min_value || x > 1000000)
    throw Error(std::string(name) + ": got '" + v + "', expected an integer >= " + std::to_string(min_value));
  return static_cast<int>(x);
}

}  // namespace

RankInfo rank_info_from(const std::function<const char*(const char*)>& get) {
  struct Launcher {
    const char *name, *rank, *world, *local;
  };
  static const Launcher launchers[] = {
      {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"slurm", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"},
      {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
  };
  for (const Launcher& l : launchers) {
    // Slurm sets SLURM_PROCID and SLURM_NTASKS in a batch script's own shell too; only srun's job step
    // has SLURM_STEP_NUM_TASKS, so only srun makes a launch.
    if (!get(l.rank) || !get(l.world)) continue;
    RankInfo r;
    r.launcher = l.name;
    r.world = read_int(get, l.world, 1);
    r.rank = read_int(get, l.rank, 0);
    r.local_rank = get(l.local) ? read_int(get, l.local, 0) : r.rank;
    if (r.rank >= r.world)
      throw Error(std::string(l.rank) + ": got " + std::to_string(r.rank) + ", expected a rank below " + l.world + "=" +
                  std::to_string(r.world));
    return r;
  }
  return RankInfo{};
}

}  // namespace metta::train::distributed
