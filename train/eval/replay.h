// MettaScope replay files (formats.md §1.2, version 2): one env's episode as zlib-compressed JSON
// (<name>.json.z). Every object of grid_objects() is logged each step; a field is written as a
// constant when it never changes and as a [[step, value], ...] series (a pair only on change)
// otherwise; `location` and `inventory` are always series, as the viewer requires.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/batched_env.h"

namespace metta::eval {

class ReplayWriter {
 public:
  // Records env `env` of `batch` (its static description is read now).
  ReplayWriter(const engine::BatchedEnv& batch, std::int64_t env);
  // Logs the env's state after a step. actions: [agents, 2] (type, arg) of that step, host side.
  void log_step(const engine::BatchedEnv& batch, const std::vector<std::int32_t>& actions);
  // The replay as JSON (version 2) and written compressed (atomically) to `path`.
  nlohmann::json to_json() const;
  void write(const std::string& path) const;
  std::int64_t steps() const { return steps_; }

 private:
  struct Series {
    nlohmann::json pairs = nlohmann::json::array();
    bool always_series = false;
    void add(std::int64_t step, const nlohmann::json& v);
    nlohmann::json finish() const;
  };
  struct Object {
    std::map<std::string, Series> fields;
    nlohmann::json constants = nlohmann::json::object();
  };
  void log_objects(const engine::BatchedEnv& batch, const std::vector<std::int32_t>* actions);

  std::int64_t env_, steps_ = 0;
  nlohmann::json header_;
  std::vector<Object> objects_;
  std::vector<double> total_reward_;
  std::map<std::string, int> item_ids_;  // "inv:<item>" feature name -> item id
};

// zlib (RFC 1950) compression and decompression of a byte string.
std::string zlib_compress(const std::string& data);
std::string zlib_decompress(const std::string& data);

}  // namespace metta::eval
