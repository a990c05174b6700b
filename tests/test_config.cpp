// Config loading and validation: the embedded default, and every kind of bad input named by field,
// value and expectation (with file:line from YAML).
#include <gtest/gtest.h>

#include <set>

#include "engine/batched_env.h"
#include "engine/config_yaml.h"
#include "engine/map_plan.h"
#include "engine/stats_keys.h"
#include "scenario.h"

using namespace metta;
using namespace metta::engine;

namespace {
// Expects a ConfigError whose message contains every fragment.
template <class F>
void expect_config_error(F f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    for (auto& frag : fragments) EXPECT_NE(m.find(frag), std::string::npos) << "'" << frag << "' not in: " << m;
  }
}

std::string simple_with(const std::string& from, const std::string& to) {
  const std::string base = R"(game:
  num_agents: 1
  max_steps: 10
  inventory_item_names: [ore_red, heart]
  agent: {default_item_max: 50, rewards: {heart: 1}}
  groups: {agent: {id: 0}}
  objects:
    wall: {type_id: 1}
    mine_red: {type_id: 2, output_ore_red: 1, max_output: 5, conversion_ticks: 1, cooldown: 5}
  actions: {noop: {}, move: {}}
  map_builder:
    _target_: ascii
    map: ["###", "#A#", "###"]
)";
  std::string s = base;
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}
}  // namespace

TEST(Config, EmbeddedSimpleCompilesToTheReferenceGame) {
  CompiledEnv c = compile_env(default_env_config());
  EXPECT_EQ(c.params.height, 62);
  EXPECT_EQ(c.params.width, 62);
  EXPECT_EQ(c.params.num_agents, 24);
  EXPECT_EQ(c.params.num_actions, 9);
  EXPECT_EQ(c.action_names, (std::vector<std::string>{"noop", "move", "rotate", "put_recipe_items", "get_output",
                                                       "attack", "attack_nearest", "swap", "change_color"}));
  EXPECT_EQ(c.params.num_items, 10);
  EXPECT_EQ(feature_spec(c.item_names).size(), 22u);
  EXPECT_EQ(c.params.num_converters, 80);   // 40 mines, 20 generators, 20 altars
  EXPECT_EQ(c.params.num_objects, 24 + 80 + 80 + 80 + (62 * 62 - 50 * 50));
  EXPECT_EQ(c.type_names[8], "altar");
  EXPECT_EQ(c.type_names[14], "block");
  EXPECT_EQ(c.params.num_obs_cells, 121);
  const int max_args[] = {0, 1, 3, 0, 0, 9, 0, 0, 3};
  for (int a = 0; a < 9; ++a) EXPECT_EQ(c.params.action_max_arg[a], max_args[a]);
  EXPECT_EQ(c.params.action_priority[5], 1);
  EXPECT_EQ(c.params.action_priority[6], 1);
  EXPECT_EQ(c.params.reward_cap[0][6], 1000.0f);
  EXPECT_EQ(c.params.max_items[0][6], 255);
  EXPECT_EQ(c.params.max_items[0][0], 50);
}

TEST(Config, DisabledActionsAreRemovedAndIdsShift) {
  EnvConfig cfg = default_env_config();
  for (auto& [k, a] : cfg.actions)
    if (k == "attack") a.enabled = false;
  CompiledEnv c = compile_env(cfg);
  EXPECT_EQ(c.action_names, (std::vector<std::string>{"noop", "move", "rotate", "put_recipe_items", "get_output",
                                                       "swap", "change_color"}));
  EXPECT_EQ(c.params.max_priority, 0);
}

TEST(Config, UnknownKeySuggestsTheClosest) {
  expect_config_error([] { parse_env_config(simple_with("max_steps: 10", "max_stepz: 10"), "t.yaml"); },
                      {"t.yaml:3", "game.max_stepz", "did you mean 'max_steps'"});
  expect_config_error([] { parse_env_config(simple_with("cooldown: 5", "cooldwn: 5"), "t.yaml"); },
                      {"game.objects.mine_red.cooldwn", "did you mean 'cooldown'"});
}

TEST(Config, WrongTypesNameFieldAndValue) {
  expect_config_error([] { parse_env_config(simple_with("num_agents: 1", "num_agents: many"), "t.yaml"); },
                      {"t.yaml:2", "game.num_agents", "'many'", "an integer"});
  expect_config_error([] { parse_env_config(simple_with("actions: {noop: {}", "actions: {noop: {enabled: maybe}"), "t.yaml"); },
                      {"game.actions.noop.enabled", "'maybe'", "true or false"});
  expect_config_error([] { parse_env_config(simple_with("inventory_item_names: [ore_red, heart]", "inventory_item_names: ore"), "t.yaml"); },
                      {"game.inventory_item_names", "a list"});
  expect_config_error([] { parse_env_config("game: [1, 2", "broken.yaml"); }, {"broken.yaml", "invalid YAML"});
}

TEST(Config, BadValuesNameFieldValueAndRange) {
  expect_config_error([] { compile_env(parse_env_config(simple_with("max_steps: 10", "max_steps: -5"))); },
                      {"game.max_steps", "-5", "[0,"});
  expect_config_error([] { compile_env(parse_env_config(simple_with("cooldown: 5", "cooldown: -1"))); },
                      {"game.objects.mine_red.cooldown", "-1"});
  expect_config_error([] { compile_env(parse_env_config(simple_with("type_id: 2", "type_id: 1"))); },
                      {"game.objects.mine_red.type_id", "'wall'"});
  expect_config_error([] { compile_env(parse_env_config(simple_with("rewards: {heart: 1}", "rewards: {hart: 1}"))); },
                      {"game.agent.rewards.hart", "did you mean 'heart'"});
  // the rules checked at compile time are checked as the file is read, with the line of the field
  expect_config_error([] { parse_env_config(simple_with("max_steps: 10", "obs_width: 10\n  max_steps: 10"), "e.yaml"); },
                      {"e.yaml:3: game.obs_width", "10", "odd"});
  expect_config_error([] { parse_env_config(simple_with("num_agents: 1", "num_agents: -4"), "e.yaml"); },
                      {"e.yaml:2: game.num_agents: got -4"});
  expect_config_error([] { parse_env_config(simple_with("cooldown: 5", "cooldown: -1"), "e.yaml"); },
                      {"e.yaml:9: game.objects.mine_red.cooldown"});
}

TEST(Config, MissingKeysAndDeepNestingAreNamedPlainly) {
  expect_config_error([] { parse_env_config("game:\n  max_steps: 5\n", "e.yaml"); },
                      {"e.yaml: game.num_agents: got nothing (the key is missing), expected an integer"});
  std::string deep = "a: ";
  for (int i = 0; i < 3000; ++i) deep += "[";
  expect_config_error([&] { parse_env_config(deep, "deep.yaml"); }, {"deep.yaml:1: invalid YAML: nested deeper than 2000 levels"});
}

// The env config is read and validated through its tables (engine/env_config_table.h): every fixed key
// of every part, keys named after items beside them, one error format with the key's line.
TEST(Config, EnvTablesReadEveryPartWithOneErrorFormat) {
  const EnvConfig ok = parse_env_config(simple_with("groups: {agent: {id: 0}}",
                                                    "groups: {agent: {id: 0, sprite: 3, group_reward_pct: 0.25}}"));
  EXPECT_EQ(ok.groups.at(0).sprite, 3);
  EXPECT_EQ(ok.groups.at(0).group_reward_pct, 0.25f);
  EXPECT_EQ(ok.objects.at(1).recipe_output.at("ore_red"), 1);
  EXPECT_TRUE(ok.objects.at(1).converter);
  EXPECT_FALSE(ok.objects.at(0).converter);
  expect_config_error([] { parse_env_config(simple_with("groups: {agent: {id: 0}}", "groups: {agent: {sprite: 1}}"), "g.yaml"); },
                      {"g.yaml: game.groups.agent.id: got nothing (the key is missing), expected an integer"});
  expect_config_error([] { parse_env_config(simple_with("cooldown: 5", "cooldwn: 5"), "o.yaml"); },
                      {"o.yaml:9: game.objects.mine_red.cooldwn: got an unknown key", "did you mean 'cooldown'"});
  expect_config_error([] { parse_env_config(simple_with("output_ore_red: 1", "output_ore_rad: 1"), "o.yaml"); },
                      {"o.yaml:9: game.objects.mine_red.output_ore_rad: got an unknown key", "did you mean 'output_ore_red'"});
  expect_config_error([] { parse_env_config(simple_with("type_id: 1}", "type_id: 1, color: 300}"), "w.yaml"); },
                      {"w.yaml:8: game.objects.wall.color: got 300, expected an integer in [0, 255]"});
  expect_config_error([] { parse_env_config(simple_with("move: {}", "move: {consumed_resources: {heart: lots}}"), "a.yaml"); },
                      {"a.yaml:10: game.actions.move.consumed_resources.heart: got 'lots', expected a 32-bit integer"});
  expect_config_error([] { parse_env_config(simple_with("noop: {}", "noop: {enabled: true, cost: 1}"), "a.yaml"); },
                      {"a.yaml:10: game.actions.noop.cost: got an unknown key"});
  expect_config_error([] { parse_env_config(simple_with("default_item_max: 50", "default_item_max: 50, heart_maxx: 3"), "p.yaml"); },
                      {"p.yaml:5: game.agent.heart_maxx: got an unknown key", "did you mean 'heart_max'"});
  expect_config_error([] { parse_env_config(simple_with("default_item_max: 50", "default_item_max: 256"), "p.yaml"); },
                      {"game.groups.agent.props.default_item_max: got 256, expected an integer in [0, 255]"});
}

// Error prefixes find a key's line without touching the tree (a Node assignment would overwrite it).
TEST(Config, KeySourceNamesLinesAndLeavesTheTreeAlone) {
  const YAML::Node root = YAML::Load("a:\n  b: 1\nc: [4, 5]\n");
  const auto where = yaml_key_source(root, "f.yaml");
  EXPECT_EQ(where("a.b"), "f.yaml:2");
  EXPECT_EQ(where("c[1]"), "f.yaml:3");
  EXPECT_EQ(where("a.b"), "f.yaml:2");
  EXPECT_EQ(where("a.z"), "f.yaml");  // not in the file: no line
  EXPECT_EQ(root["a"]["b"].as<int>(), 1);
  EXPECT_EQ(root["c"][1].as<int>(), 5);
}

TEST(Config, ConverterThatWouldLoopForeverIsRejected) {
  expect_config_error(
      [] {
        compile_env(parse_env_config(simple_with("max_output: 5, conversion_ticks: 1, cooldown: 5",
                                                 "max_output: -1, conversion_ticks: 0, cooldown: 0")));
      },
      {"game.objects.mine_red", "convert forever"});
}

TEST(Config, MapErrors) {
  // agent count mismatch
  expect_config_error([] { compile_env(parse_env_config(simple_with("num_agents: 1", "num_agents: 2"))); },
                      {"game.map_builder", "1 agents", "2 agents (game.num_agents)"});
  // unknown map character
  expect_config_error([] { compile_env(parse_env_config(simple_with("\"#A#\"", "\"#AZ\""))); },
                      {"row 1 column 2", "'Z'", "legend"});
  // ragged rows
  expect_config_error([] { compile_env(parse_env_config(simple_with("\"#A#\"", "\"#A#.\""))); },
                      {"row 1", "4 characters", "3"});
  // unknown object in a legend
  expect_config_error(
      [] {
        compile_env(parse_env_config(simple_with("map: [\"###\", \"#A#\", \"###\"]",
                                                 "map: [\"###\", \"#A#\", \"#X#\"]\n    legend: {X: dragon}")));
      },
      {"cell 'dragon'", "an object of game.objects"});
  // unknown builder
  expect_config_error([] { parse_env_config(simple_with("_target_: ascii", "_target_: maze")); },
                      {"game.map_builder._target_", "'maze'"});
}

TEST(Config, RandomRoomSizesAndFit) {
  MapBuilderConfig b;
  b.kind = MapBuilderConfig::Kind::kRandom;
  b.width = -3;
  b.height = 5;
  expect_config_error([&] { build_layout(b); }, {"game.map_builder.width", "-3"});
  b.width = 3;
  b.height = 3;
  b.agents = {{"agent.agent", 7}};
  expect_config_error([&] { build_layout(b); }, {"game.map_builder.objects", "at most 2/3"});
  // Objects that do not fit are halved (minimum 1) until objects + agents <= 2/3 of the area.
  b.width = 10;
  b.height = 10;
  b.border_width = 1;
  b.agents = {{"agent.agent", 6}};
  b.objects = {{"wall", 200}, {"altar", 3}};
  MapLayout l = build_layout(b);
  ASSERT_EQ(l.rooms.size(), 1u);
  EXPECT_EQ(l.height, 12);
  int walls = 0, altars = 0;
  for (auto& s : l.rooms[0].symbols) {
    walls += s == "wall";
    altars += s == "altar";
  }
  EXPECT_EQ(walls, 50);  // 200 -> 100 -> 50, with altars 3 -> 1 -> 1: 50 + 1 + 6 = 57 <= 66
  EXPECT_EQ(altars, 1);
  EXPECT_EQ(l.labels, (std::vector<std::string>{"random", "small"}));
}

TEST(Config, MultiRoomGridLayout) {
  CompiledEnv c = compile_env(default_env_config());
  ASSERT_EQ(c.plan_rooms.size(), 4u * 6u);
  // 2x2 rooms of 25x25 inside a 6-wide border, edge to edge
  const int expect[4][2] = {{6, 6}, {6, 31}, {31, 6}, {31, 31}};
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(c.plan_rooms[r * 6 + 0], expect[r][0]);
    EXPECT_EQ(c.plan_rooms[r * 6 + 1], expect[r][1]);
    EXPECT_EQ(c.plan_rooms[r * 6 + 2], 25);
    EXPECT_EQ(c.plan_rooms[r * 6 + 5], 66);  // 10 + 5 + 5 + 20 + 20 objects + 6 agents
  }
}

TEST(Config, FileErrorsNameThePath) {
  expect_config_error([] { load_env_config_file("/nonexistent/env.yaml"); }, {"/nonexistent/env.yaml", "cannot open"});
  EnvConfig cfg = load_env_config_file(std::string(METTA_SOURCE_DIR) + "/configs/env/mettagrid/simple.yaml");
  EXPECT_EQ(cfg.num_agents, 24);
}

TEST(Config, BatchedEnvRejectsBadSizes) {
  EXPECT_THROW(BatchedEnv(default_env_config(), 0, 1, kernels::Context::cpu(1)), metta::Error);
}

// The stat rows come from one table (engine/stat_table.h): every slot is named once, blocks lie in table
// order, and the (item, group) blocks are item-major, as the step kernels index them.
TEST(StatTable, EverySlotIsNamedOnceInTableOrder) {
  const CompiledEnv env = compile_env(default_env_config());
  const EnvParams& p = env.params;
  const std::vector<std::string> agent = agent_stat_names(env), conv = converter_stat_names(env);
  ASSERT_EQ(static_cast<std::int32_t>(agent.size()), p.stats.agent_count);
  ASSERT_EQ(static_cast<std::int32_t>(conv.size()), p.stats.converter_count);
  std::set<std::string> seen;
  for (const std::string& n : agent) EXPECT_TRUE(n.empty() || seen.insert(n).second) << "named twice: " << n;
  // the attack-hit blocks name the attack handlers' slots only
  for (int a = 0; a < p.num_actions; ++a)
    EXPECT_EQ(agent[p.stats.action_agent + a].empty(), env.action_names[a].rfind("attack", 0) != 0) << env.action_names[a];
  EXPECT_EQ(std::set<std::string>(conv.begin(), conv.end()).size(), conv.size());
  EXPECT_EQ(p.stats.action_success, 0);
  EXPECT_EQ(agent[0], "action." + env.action_names[0] + ".success");
  EXPECT_EQ(p.stats.action_failed, p.num_actions);
  ASSERT_GE(p.num_items, 2);
  ASSERT_GE(p.num_groups, 1);
  const int G = p.num_groups;
  const std::string g_last = env.group_names[G - 1].empty() ? "group" + std::to_string(G - 1) : env.group_names[G - 1];
  EXPECT_EQ(agent[p.stats.stolen + 1 * G + (G - 1)], env.item_names[1] + ".stolen." + g_last);
  EXPECT_EQ(agent[p.stats.swap_type + p.num_types - 1].rfind("action.swap.", 0), 0u);
  EXPECT_EQ(agent[p.stats.attack_win_pair + 0 * G + (G - 1)], "attack.win." + env.group_names[0] + "." + g_last);
  EXPECT_EQ(p.stats.agent_count, p.stats.attack_loss_from_other_team + G);  // the last block ends the row
  EXPECT_EQ(conv[p.stats.item_removed + p.num_items - 1], env.item_names[p.num_items - 1] + ".removed");
  EXPECT_EQ(conv[p.stats.type_produced + p.num_types - 1], env.type_names[p.num_types - 1] + ".produced");
  EXPECT_EQ(p.stats.converter_count, p.stats.type_produced + p.num_types);
}
