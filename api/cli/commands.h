// Subcommands of the `metta` command-line tool. Each registers its options on a CLI11 app and returns
// the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>

namespace metta::cli {

// An unsigned integer written with digits only (an unsigned option would otherwise take "-1" as 2^64 - 1).
inline CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& in) -> std::string {
        if (in.empty() || in.find_first_not_of("0123456789") != std::string::npos || in.size() > 19)
          return "got '" + in + "', expected an integer >= 0 (digits only, below 10^19)";
        return "";
      },
      "an integer >= 0");
}

// A number in [lo, hi] that is finite (CLI::Range lets NaN through: every comparison with it is false).
inline CLI::Validator finite_range(double lo, double hi) {
  std::ostringstream desc;
  desc << "a finite number in [" << lo << ", " << hi << "]";
  const std::string expected = desc.str();
  return CLI::Validator(
      [lo, hi, expected](std::string& in) -> std::string {
        double v = 0;
        try {
          std::size_t used = 0;
          v = std::stod(in, &used);
          if (used != in.size()) return "got '" + in + "', expected " + expected;
        } catch (const std::exception&) {
          return "got '" + in + "', expected " + expected;
        }
        if (!std::isfinite(v) || v < lo || v > hi) return "got " + in + ", expected " + expected;
        return "";
      },
      expected);
}

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
