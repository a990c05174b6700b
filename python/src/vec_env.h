// What Python's metta_cpp.VecEnv holds: one batch of environments (an env config or a curriculum) on
// one backend, its buffers handed out once as views, and the bookkeeping that a batch stepped from
// outside our trainer needs: the always-true masks PufferLib reads, action checks against the action
// space, the curriculum fed whenever completed episodes are read, and close(). Plain C++ (no nanobind):
// python/src/module.cpp binds it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/metta_api.h"
#include "engine/batched_env.h"
#include "kernels/memory.h"

namespace metta::python {

struct VecEnvOptions {
  std::string device = "cpu";  // "cpu" or "cuda"
  std::uint64_t seed = 0;
  int threads = 0;             // CPU: OpenMP threads of each step (0 = OpenMP's default)
  void* stream = nullptr;      // CUDA: the cudaStream_t every launch goes to (null = the default stream)
  bool track_stat_updates = false;  // episode stats with the derived entries (.rate, .avg, ...)
  std::int64_t env_index = 0;  // env e draws its randomness as env env_index + e of a batch of this seed
};

// Completed episodes since the last read, and the curriculum's stats after it heard of them.
struct EpisodeReport {
  engine::CompletedEpisodes episodes;
  std::map<std::string, double> curriculum;  // empty without a curriculum
};

class VecEnv {
 public:
  // env_or_curriculum: an embedded env ("simple", "hearts_room", "/env/mettagrid/simple"), an env YAML
  // path or a curriculum file (train/curriculum/curriculum_yaml.h). Runs no parallel region (a process
  // may fork after it): the first reset is done on one thread.
  VecEnv(const std::string& env_or_curriculum, std::int64_t num_envs, const VecEnvOptions& options);
  ~VecEnv();

  // Every env starts a fresh episode; with a seed, the batch starts over as a new batch of that seed.
  void reset(std::optional<std::uint64_t> seed);
  // Steps with the actions in actions(), or with `device_actions` ([agents, 2] int32 on the batch's
  // device, read in place).
  void step();
  void step(const std::int32_t* device_actions);
  // Host actions of any strides (in elements) into actions(), checked against the action space first:
  // type in [0, num_actions), argument in [0, the largest max_arg]. Throws std::out_of_range naming the
  // first bad row. An argument beyond its own action's max_arg is the game's invalid action, not an error.
  void set_actions(const std::int32_t* host, std::int64_t row_stride, std::int64_t col_stride);

  EpisodeReport completed_episodes();
  // Every later call throws; the buffers live on until this object goes (views of them hold it alive).
  void close() { closed_ = true; }
  bool closed() const { return closed_; }

  engine::BatchedEnv& env();  // throws once closed
  const engine::BatchedEnv& env() const;
  std::uint8_t* masks() { return masks_.data(); }
  int max_action_arg() const { return max_arg_; }
  const std::string& device() const { return options_.device; }
  bool has_curriculum() const { return curriculum_ != nullptr; }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  VecEnvOptions options_;
  std::shared_ptr<train::curriculum::Curriculum> curriculum_;
  std::unique_ptr<engine::BatchedEnv> env_;
  kernels::DeviceBuffer<std::uint8_t> masks_;
  int max_arg_ = 0;
  bool closed_ = false;
  std::vector<std::int32_t> staging_;  // CUDA batches: host actions on their way up
};

}  // namespace metta::python
