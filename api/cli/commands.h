// Subcommands of the `metta` command-line tool. Each registers its options on a CLI11 app and returns
// the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace metta::cli {

// `metta sim`: step environments from a YAML config or ASCII map with random, no-op or scripted actions;
// print throughput, episode statistics, and optionally objects, observations and the map.
std::function<int()> add_sim_command(CLI::App& app);

// `metta train`: PPO training of a policy preset on an env, with a progress line per epoch.
std::function<int()> add_train_command(CLI::App& app);

// `metta eval`: N episodes of a checkpoint, JSON summary.
std::function<int()> add_eval_command(CLI::App& app);

// `metta bench`: quick simulator and training throughput figures.
std::function<int()> add_bench_command(CLI::App& app);

}  // namespace metta::cli
