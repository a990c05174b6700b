// Curricula (trainer.md §15): which task an env runs at its next reset. A curriculum is a tree whose
// leaves are tasks (an id and an env config) and whose inner nodes weigh their children: fixed weights
// (random), learning progress, or learning progress over generated bucket combinations (bucketed). The
// trainer reads the flat probability of every leaf between epochs (the device draws each reset's task
// from that small vector) and reports each finished episode's score (its mean agent reward) back through
// complete(), which updates every node on the leaf's path. Host-side, deterministic for a seed.
//
// Leaf ids join the keys on the path with ':' ("shaped.yaml:/env/mettagrid/simple"); a single-task
// curriculum's leaf id is its path. Every leaf of a curriculum has the same observation and action
// spaces (agents, window, tokens, features, actions): a leaf that differs is a config error naming it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/config.h"
#include "train/curriculum/learning_progress.h"

namespace metta::train::curriculum {

struct Task {
  std::string id;
  engine::EnvConfig config;
};

// A bucketed range value: the env key it sets, its sub-range and whether it is an integer.
struct RangeValue {
  std::string key;  // dotted, under the env config's root ("game.map_builder.width")
  double lo = 0, hi = 0;
  bool integer = false;
};

struct Node {
  enum class Kind { kTask, kRandom, kLearningProgress } kind = Kind::kTask;
  std::string key;                    // the id under its parent
  std::vector<std::unique_ptr<Node>> children;
  std::vector<double> weights;        // per child (random: configured; learning progress: the current dist)
  std::unique_ptr<LearningProgress> lp;
  std::size_t task = 0;               // a leaf: its index in Curriculum::tasks()
  std::vector<RangeValue> ranges;     // a bucketed leaf: its values drawn within these at each draw
  std::string yaml_text;              // a leaf with ranges: its env YAML (the other values set)
};

class Curriculum {
 public:
  // Takes the tree; checks that every leaf shares the first leaf's spaces.
  explicit Curriculum(std::unique_ptr<Node> root, std::vector<Task> tasks);

  const std::vector<Task>& tasks() const { return tasks_; }
  // Per task: the probability that the next reset draws it (sums to 1).
  std::vector<double> probabilities() const;
  // An episode of tasks()[task] ended with `score` (mean agent episode reward).
  void complete(std::size_t task, double score);
  // The env config of a draw of `task`: bucketed range values drawn within their bins (others as is).
  engine::EnvConfig draw_config(std::size_t task, std::mt19937_64& rng) const;

  // The batch's env tasks, which the device draws from at each env reset. A task without range values
  // is one env task. A bucketed task with range values is kRangeDraws env tasks whose values are drawn
  // once as a Latin hypercube over its bins: each key's bin is cut in kRangeDraws equal slices, each
  // slice serves one draw (in an order shuffled per key), at a uniform point within it; the draws are
  // seeded by the task id. A reset picks one of its task's draws at random, so the value changes from
  // episode to episode as the reference re-samples it at each get_task, over a fixed set of values (the
  // device holds every env task's map plan and tables). Every draw must keep the task's spaces. Fewer
  // draws (at least 1) when kRangeDraws per task would pass a batch's engine::BatchedEnv::kMaxTasks.
  static constexpr int kRangeDraws = 8;
  int range_draws() const { return range_draws_; }
  std::size_t num_env_tasks() const { return env_task_owner_.size(); }
  std::size_t task_of_env_task(std::size_t env_task) const;
  std::vector<engine::EnvConfig> env_task_configs() const;
  // probabilities(), each task's split evenly over its env tasks
  std::vector<double> env_task_probabilities() const;

  // curriculum_task_probs/<id>, task_completions/<id> (share of the last 500 completions) and
  // task_reward/<id>/rewards.mean (mean score of the episodes completed since the last call).
  std::map<std::string, double> take_stats();

  // Its whole state (every node's weights and learning-progress trackers, the completion window and the
  // pending task rewards) as text for checkpoints; load_state restores it exactly (same curriculum file).
  std::string save_state() const;
  void load_state(const std::string& state);

 private:
  void collect_probabilities(const Node& n, double p, std::vector<double>& out) const;
  bool complete_below(Node& n, std::size_t task, double score);
  const Node* leaf_node(const Node& n, std::size_t task) const;
  const Node* ranged_leaf(std::size_t task) const;  // task's leaf when it has range values, else null
  // tasks_[task]'s config with each range value at lo + fraction[i] * (hi - lo)
  engine::EnvConfig config_at(const Node& leaf, std::size_t task, const std::vector<double>& fractions) const;

  std::unique_ptr<Node> root_;
  std::vector<Task> tasks_;
  std::vector<std::size_t> env_task_owner_;  // per env task, its task
  std::string spaces_;                       // what the first task's policy sees (every task must match)
  int range_draws_ = kRangeDraws;            // env tasks per task with range values
  std::deque<std::size_t> recent_;  // the last 500 completed tasks
  std::vector<double> score_sum_;
  std::vector<std::int64_t> score_count_;
};

// Sets one dotted key of a YAML env config ("game.objects.altar.cooldown") to a scalar.
void set_dotted(YAML::Node root, const std::string& dotted, const YAML::Node& value);

// "k1=v1;k2=v2;": the last three dotted parts of each key; floats to 3 decimals, as Python prints them
// ("10.0", "0.333"); a range bin as "(lo, hi)".
std::string bucket_id_part(const std::string& key, const std::string& value_text);
std::string python_float(double v);

}  // namespace metta::train::curriculum
