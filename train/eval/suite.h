// Evaluation suites (trainer.md §17): a YAML list of simulations (an env, episodes, seeds), each played
// with the policy; a simulation's category is the first '/' segment of its name, a category's score the
// mean of its simulations' per-agent episode rewards, and the suite's score (a model's `score` metadata)
// the mean of the category scores. Keys: eval_<name> per simulation (eval_<category>/<rest>),
// eval_<category>/score and overview/<category>_score per category.
//
//   name: arena                       # optional
//   simulations:
//     - {name: navigation/simple, env: simple, episodes: 4, seeds: [1000, 1001]}
//     - {name: hearts/room, env: ../envs/hearts.yaml}    # episodes 8, seeds [1000] by default
//
// Env paths are read beside the suite file first. Shared by `metta eval --suite` and the in-training
// evaluation (trainer.simulation.suite).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/config_fields.h"
#include "train/eval/evaluate.h"

namespace metta::eval {

struct SimulationSpec {
  std::string name;  // "<category>/<name>"
  std::string env;   // an embedded env or an env YAML path
  std::int64_t episodes = 8;  // per seed
  std::vector<long> seeds = {1000};
};

template <class V>
void visit_fields(SimulationSpec& s, V& v) {
  using engine::field;
  v(field("name", s.name).required("a name '<category>/<simulation>'"));
  v(field("env", s.env).required("an embedded env (simple, hearts_room, hearts_solo) or an env YAML path"));
  v(field("episodes", s.episodes).range(1, 1 << 20, engine::integer_in(1, 1 << 20)));
  v(field("seeds", s.seeds).required("a non-empty list of seeds >= 0").range(0, 9.0e15, "a non-empty list of seeds >= 0"));
}

struct EvalSuite {
  std::string name = "suite";
  std::vector<SimulationSpec> simulations;
  std::string dir;  // where the suite file is: env paths are read beside it first
};

template <class V>
void visit_fields(EvalSuite& s, V& v) {
  using engine::field;
  v(field("name", s.name).required("a suite name"));
  v.list("simulations", s.simulations);
}

// Reads and checks a suite file: names "<category>/<simulation>" and unique, every env readable.
EvalSuite load_eval_suite(const std::string& path);

struct SimulationResult {
  std::string name;
  double mean_episode_reward = 0;  // over every episode of every seed
  double episodes = 0;
  std::map<std::string, double> agent_stats;  // per episode, mean over agents (averaged over seeds)
};

// The keys of §17 from each simulation's reward; `score` gets the mean of the category scores.
std::map<std::string, double> suite_scores(const std::vector<SimulationResult>& sims, double* score);

// Plays one env with the policy: evaluate_policy for weights in training, evaluate_checkpoint for a file.
using Evaluator = std::function<EvalResult(const engine::EnvConfig& env, const EvalOptions& options)>;

// Plays every simulation of the suite through `evaluate`. `replay_dir` "" = no replays, else each
// simulation's first episode of its first seed goes to <replay_dir>/<name with '/' as '_'><suffix>.json.z.
std::vector<SimulationResult> run_suite(const EvalSuite& suite, const Evaluator& evaluate, std::int64_t num_envs,
                                        const std::string& replay_dir = "", const std::string& replay_suffix = "");

}  // namespace metta::eval
