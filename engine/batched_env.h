// BatchedEnv: N MettaGrid environments of one config stepped together on one backend. All state lives
// in device buffers (world.h); `step` launches the engine kernels and allocates nothing. The policy
// reads observations [agents, T, 3] uint8, rewards f32, terminals/truncations uint8 and writes actions
// int32 [agents, 2] in place. Auto-reset: an env whose episode ended is reset by its next step (its
// actions for that call are ignored). Host readouts (stats, grid_objects, hashes) copy on demand.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/world.h"
#include "kernels/phase_timer.h"
#include "kernels/reduce.h"

namespace metta::engine {

struct BatchedEnvOptions {
  // Training quirk of the reference: each env's first episode ends at a uniform random step in
  // [1, max_steps], so envs of a batch do not all reset together.
  bool randomize_first_episode = false;
  // With several tasks: the probabilities of the first episodes' draw (empty = uniform).
  std::vector<double> task_probabilities;
  // Env e draws its randomness as env env_key_base + e: a data-parallel rank's envs are then the envs
  // [base, base + num_envs) of one process holding every rank's (0 in a plain run).
  std::int64_t env_key_base = 0;
  // Track every stat key's updates (count, first and last step, min and max) so that episode stats
  // carry the reference's derived entries (.updates, .first_step, .last_step, .rate, .avg,
  // .activity_rate, .min, .max; game-rules.md §10). Costs memory and about 5 % of a CPU step; the
  // trainer and evaluation turn it on, metta sim and bench_env leave it off.
  bool track_stat_updates = false;
};

// One object as `grid_objects()` lists it: identity, place, and every observed feature by name.
struct GridObject {
  int id = 0;
  int type_id = 0;
  std::string type_name;
  int r = 0, c = 0, layer = 0;
  int agent_id = -1;  // agent index within the env, -1 for other objects
  std::vector<std::pair<std::string, int>> features;  // in token order
  int feature(const std::string& name) const;  // 0 when absent (absent inventory = 0)
};

// Statistics of one env's current episode (nonzero entries only; missing keys are 0).
struct EpisodeStats {
  std::map<std::string, float> game;
  std::vector<std::map<std::string, float>> agent;      // per agent
  std::vector<std::map<std::string, float>> converter;  // per converter, with type_id, location.r, location.c
  std::vector<float> episode_rewards;                   // per agent, before group sharing
};

// Completed episodes since the last clear, summed on the device and averaged on the host.
struct CompletedEpisodes {
  double episodes = 0;
  double mean_reward = 0;                  // mean over episodes of the per-agent mean episode reward
  double mean_length = 0;                  // mean episode length in steps
  std::map<std::string, double> agent;     // per episode, mean over agents
  std::map<std::string, double> converter; // per episode, sum over converters
  std::map<std::string, double> game;      // per episode
};

// Per task, the episodes completed since the last clear and the sum of their per-agent mean rewards.
// One finished episode: its task and score (the mean over agents of their episode rewards).
struct EpisodeScore {
  std::int32_t task = 0;
  float score = 0;
};

struct TaskEpisodes {
  double episodes = 0;
  double reward_sum = 0;
};

class BatchedEnv {
 public:
  BatchedEnv(const EnvConfig& cfg, std::int64_t num_envs, std::uint64_t seed, const kernels::Context& ctx,
             BatchedEnvOptions options = {});
  // Several tasks in one batch (curricula): each env draws its task at every reset, on the device, from
  // the probabilities of set_task_probabilities (uniform until then). Every task must share what the
  // policy sees with the first: agent count, items, types, groups, actions and observation window
  // (ConfigError naming the task otherwise); the map (size, builder, object counts), rewards, caps,
  // recipes, cooldowns, freezes, penalties and max_steps may differ. Each env's slice of the grid,
  // objects and converters is the largest task's. At most kMaxTasks tasks.
  static constexpr int kMaxTasks = 256;
  BatchedEnv(const std::vector<EnvConfig>& tasks, std::int64_t num_envs, std::uint64_t seed,
             const kernels::Context& ctx, BatchedEnvOptions options = {});
  ~BatchedEnv();
  BatchedEnv(const BatchedEnv&) = delete;
  BatchedEnv& operator=(const BatchedEnv&) = delete;

  // Starts a fresh episode in every env (no stats are folded into the completed episodes).
  void reset();
  // Starts over with another seed: every state, statistic and counter as a new batch of this config,
  // size and seed has them (the task probabilities stay), so reset(s) twice gives the same episodes.
  void reset(std::uint64_t seed);
  // CPU batches: the OpenMP threads of later calls (0 = OpenMP's default). Results never depend on it;
  // a batch built with 1 thread and switched later has run no parallel region yet (a process may fork).
  void set_cpu_threads(int threads);
  // Steps every env with the actions in `actions()` (or the given device buffer [agents, 2]).
  void step();
  void step(const std::int32_t* device_actions);
  // One step of actions() as three passes timed into `timer`'s phases "resets", "step" and
  // "observations" (kernels/phase_timer.h): the same results as step(), for a breakdown of where a
  // step's time goes (metta sim --json, bench_env). The CPU's step() fuses the passes per env.
  void step_timed(kernels::PhaseTimer& timer);
  // Bytes of policy-facing output a step writes per agent (observation row, reward, flags).
  double bytes_written_per_agent_step() const;
  // Where a step's time goes: `rounds` steps of random_actions(seed, first_counter + r) then
  // step_timed, one round each, timed per pass (synchronises every round: not for throughput).
  struct StepBreakdown {
    static constexpr const char* kPhases[4] = {"actions", "resets", "step", "observations"};
    double seconds_per_step[4] = {};      // in kPhases' order
    double observation_bytes_per_s = 0;   // observation rows written / observation pass time
  };
  StepBreakdown step_breakdown(int rounds, std::uint64_t seed, std::uint32_t first_counter);
  // Fills `actions()` with uniform random valid actions drawn from (seed, counter).
  void random_actions(std::uint64_t seed, std::uint32_t counter);
  // The same with the counter kept on the device, set once (set_action_counter, an upload) and advanced
  // by each call: a captured sequence of steps (kernels/captured_work.h) then draws fresh actions at
  // every replay, the same ones random_actions(seed, c), random_actions(seed, c + 1), ... draws.
  void set_action_counter(std::uint32_t counter);
  void random_actions_counted(std::uint64_t seed);

  // Device buffers (on the backend of `context()`).
  std::int32_t* actions();
  const std::uint8_t* observations() const;
  const float* rewards() const;
  const std::uint8_t* terminals() const;
  const std::uint8_t* truncations() const;
  const std::uint8_t* action_success() const;

  // Host copies of those buffers.
  std::vector<std::uint8_t> observations_host() const;
  std::vector<float> rewards_host() const;
  std::vector<std::uint8_t> terminals_host() const;
  std::vector<std::uint8_t> truncations_host() const;
  std::vector<std::uint8_t> action_success_host() const;
  void set_actions_host(const std::vector<std::int32_t>& actions);  // [agents * 2]

  std::int64_t num_envs() const { return num_envs_; }
  int num_agents() const { return compiled_.params.num_agents; }  // per env
  std::int64_t total_agents() const { return num_envs_ * num_agents(); }
  int num_tokens() const { return compiled_.params.num_tokens; }
  int height() const { return compiled_.params.height; }  // of the first task (tasks may differ)
  int width() const { return compiled_.params.width; }
  // The map size of env's current episode (its task's).
  int height_of(std::int64_t env) const { return params_of(env).height; }
  int width_of(std::int64_t env) const { return params_of(env).width; }
  const CompiledEnv& compiled() const { return compiled_; }
  const kernels::Context& context() const { return ctx_; }
  std::uint64_t seed() const { return seed_; }

  const std::vector<std::string>& action_names() const { return compiled_.action_names; }
  std::vector<int> action_max_args() const;
  const std::vector<std::string>& object_type_names() const { return compiled_.type_names; }
  const std::vector<std::string>& inventory_item_names() const { return compiled_.item_names; }
  std::vector<std::pair<std::string, float>> feature_normalizations() const;

  std::int32_t current_step(std::int64_t env) const;
  std::int32_t episode_max_steps(std::int64_t env) const;
  std::vector<GridObject> grid_objects(std::int64_t env) const;
  EpisodeStats episode_stats(std::int64_t env) const;
  CompletedEpisodes completed_episodes(bool clear = true);
  int num_tasks() const { return static_cast<int>(task_params_.size()); }
  // The probability of each task at the next resets (non-negative, not all 0; normalised here). A small
  // upload: call it between rollouts, never per step.
  void set_task_probabilities(const std::vector<double>& probabilities);
  // Per task, the episodes completed since the last clear (cleared with completed_episodes(true) too).
  std::vector<TaskEpisodes> completed_episodes_by_task(bool clear = true);
  // The own scores of the episodes finished since the last clear, env by env in the order they
  // finished: the first kKeptScores of each env (the rest count only in the sums above). Cleared with
  // completed_episodes(true).
  std::vector<EpisodeScore> completed_episode_scores() const;
  std::int32_t task_of(std::int64_t env) const;  // the task of env's current episode
  // FNV-1a over every state and output buffer of the batch (one env when env >= 0).
  std::uint64_t state_hash(std::int64_t env = -1) const;
  // World-state bytes per env (grid, objects, converters, agents; not stats or outputs).
  std::size_t world_bytes_per_env() const;

  // Every state buffer of the batch as (name, bytes), for checkpoints; load_state restores them (names
  // and sizes must match: same config and num_envs) so a resumed run continues bit-identically.
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> save_state() const;
  void load_state(const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& state);

  // Test and debugging hooks: write one agent's or converter's inventory item directly.
  void debug_set_agent_inventory(std::int64_t env, int agent, int item, int count);
  void debug_set_converter_inventory(std::int64_t env, int converter, int item, int count);

 private:
  friend struct BatchedEnvTestAccess;  // tests: run another launcher variant on this batch's world
  struct Buffers;
  WorldView view() const;
  void zero_state();
  void launch_step(const std::int32_t* actions);

  CompiledEnv compiled_;  // the first task's (every task shares its spaces; maps may differ)
  std::vector<EnvParams> task_params_;
  // each env's slice of the grid, objects and converters: the largest task's
  std::int64_t cells_per_env_ = 0, objects_per_env_ = 0, converters_per_env_ = 0;
  std::int32_t rows_per_env_ = 0, rooms_per_env_ = 0;  // the largest task's map height and room count
  const EnvParams& params_of(std::int64_t env) const;  // the task params of env's current episode
  std::int64_t num_envs_;
  std::uint64_t seed_;
  kernels::Context ctx_;
  BatchedEnvOptions options_;
  std::unique_ptr<Buffers> b_;
  kernels::SegmentedSum sum_agent_, sum_conv_, sum_obs_, sum_episode_, sum_length_, sum_task_, sum_agent_derived_, sum_conv_derived_,
      sum_game_derived_, sum_objects_, sum_objects_derived_;
};

}  // namespace metta::engine
