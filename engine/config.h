// The environment configuration as plain structs (the YAML schema of game-rules.md §9, mid-2025), its
// validation, and its compilation into the device tables (EnvParams) and the map plan. Every error is a
// ConfigError naming the field path, the bad value and what was expected (plus file:line from YAML).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/params.h"

namespace metta::engine {

class ConfigError : public metta::Error {
 public:
  using metta::Error::Error;
};

// Insertion-ordered string map (YAML key order matters: action ids, map symbol order).
template <class V>
using OrderedMap = std::vector<std::pair<std::string, V>>;

struct ActionConfig {
  bool enabled = true;
  std::map<std::string, int> consumed_resources;
  std::map<std::string, int> required_resources;  // defaults to consumed_resources when empty
  std::map<std::string, int> defense_resources;   // attack only
};

struct AgentProps {
  int default_item_max = 0;
  std::map<std::string, int> item_max;             // "<item>_max"
  int freeze_duration = 0;
  std::map<std::string, float> rewards;            // rewards.<item>
  std::map<std::string, float> reward_max;         // rewards.<item>_max (default 1000 for rewarded items)
  float action_failure_penalty = 0.0f;             // rewards.action_failure_penalty
};

struct GroupConfig {
  std::string name;
  int id = 0;
  int sprite = 0;  // the reference renderer's sprite; read and kept, unused here
  float group_reward_pct = 0.0f;
  AgentProps props;  // game.agent merged with the group's props
};

struct ObjectConfig {
  std::string name;
  int type_id = 0;
  bool converter = false;  // else wall-like (wall, block)
  bool swappable = false;
  std::map<std::string, int> recipe_input, recipe_output;  // input_<item>, output_<item>
  int max_output = -1;
  int conversion_ticks = 0;
  int cooldown = 0;
  int initial_items = 0;
  int color = 0;
};

struct MapBuilderConfig {
  enum class Kind { kRandom, kMultiRoom, kAscii } kind = Kind::kRandom;
  std::string path = "game.map_builder";  // for error messages
  // random room
  int width = 0, height = 0, border_width = 0;
  std::string border_object = "wall";
  OrderedMap<int> agents;   // cell name ("agent.agent") -> count
  OrderedMap<int> objects;  // object name -> count
  // multi room
  int num_rooms = 0;
  std::string layout = "grid";
  std::vector<MapBuilderConfig> room;  // exactly one template room
  // ascii
  std::vector<std::string> rows;
  std::map<char, std::string> legend;  // char -> cell name
};

struct EnvConfig {
  int num_agents = 0;
  int obs_width = 11, obs_height = 11, num_observation_tokens = 200;
  int max_steps = 1000;
  std::vector<std::string> inventory_item_names;
  std::vector<GroupConfig> groups;
  std::vector<ObjectConfig> objects;          // YAML order
  OrderedMap<ActionConfig> actions;           // YAML order (noop, move, rotate, ...)
  MapBuilderConfig map_builder;
  std::string source = "<config>";            // file name for messages
};

// The default ASCII legend: '#' wall, 'b' block, 'a' altar, 'm' mine_red, 'g' generator_red,
// 'A' agent.agent, '.' and ' ' empty. A map's own `legend` adds or overrides entries.
std::map<char, std::string> default_ascii_legend();

// Compiled form: device tables plus the map plan and the names the host needs at readout.
struct CompiledEnv {
  EnvParams params{};
  std::vector<std::uint8_t> plan_template;   // [H*W] symbols
  std::vector<std::int32_t> plan_rooms;      // per room: r0, c0, h, w, symbol_offset, symbol_count
  // [obs_height][obs_row_nibbles][16][obs_mask_words]: for window row i and nibble j of its occupancy,
  // the bits (token order) of the occupied cells.
  std::vector<std::uint64_t> obs_order_table;
  std::vector<std::uint8_t> plan_symbols;
  std::vector<std::string> symbol_names;     // symbol id -> cell name ("" for empty)
  std::vector<std::string> action_names;     // action id -> handler name
  std::vector<std::string> type_names;       // type id -> object name ("" for gaps)
  std::vector<std::string> group_names;      // group id -> name ("" for gaps)
  std::vector<std::string> item_names;
  std::vector<std::string> map_labels;
};

// The one shape of a validation error: "<field>: got <value>, expected <expected>".
[[noreturn]] void config_fail(const std::string& field, const std::string& value, const std::string& expected);
// config_fail unless lo <= v <= hi.
void config_check_range(const std::string& field, long v, long lo, long hi);

// Validates `cfg` and compiles it; throws ConfigError on the first problem.
CompiledEnv compile_env(const EnvConfig& cfg);

// Feature names indexed by feature id (22 for 10 items) and their normalizations.
std::vector<std::pair<std::string, float>> feature_spec(const std::vector<std::string>& item_names);

}  // namespace metta::engine
