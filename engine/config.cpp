#include "engine/config.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "engine/env_config_table.h"
#include "engine/map_plan.h"
#include "engine/stat_table.h"

namespace metta::engine {

void config_fail(const std::string& field, const std::string& value, const std::string& expected) {
  throw ConfigError(field + ": got " + value + ", expected " + expected);
}

void config_check_range(const std::string& field, long v, long lo, long hi) {
  if (v < lo || v > hi)
    config_fail(field, std::to_string(v), "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

namespace {

struct ItemIndex {
  std::map<std::string, int> ids;
  int at(const std::string& field, const std::string& name) const {
    auto it = ids.find(name);
    if (it == ids.end()) {
      std::string known;
      for (auto& [n, i] : ids) known += (known.empty() ? "" : ", ") + n;
      config_fail(field, "'" + name + "'", "an inventory item (" + known + ")");
    }
    return it->second;
  }
};

void fill_items(const std::string& field, const std::map<std::string, int>& src, const ItemIndex& items,
                std::uint8_t* dst) {
  for (auto& [name, n] : src) {
    const std::string f = field + "." + name;
    config_check_range(f, n, 0, 255);
    dst[items.at(f, name)] = static_cast<std::uint8_t>(n);
  }
}

struct HandlerSpec {
  const char* key;
  const char* name;
  ActionKind kind;
  int max_arg;
  int priority;
};
constexpr HandlerSpec kHandlers[] = {
    {"noop", "noop", ActionKind::kNoop, 0, 0},
    {"move", "move", ActionKind::kMove, 1, 0},
    {"rotate", "rotate", ActionKind::kRotate, 3, 0},
    {"put_items", "put_recipe_items", ActionKind::kPutItems, 0, 0},
    {"get_items", "get_output", ActionKind::kGetItems, 0, 0},
    {"attack", "attack", ActionKind::kAttack, 9, 1},
    {"attack", "attack_nearest", ActionKind::kAttackNearest, 0, 1},
    {"swap", "swap", ActionKind::kSwap, 0, 0},
    {"change_color", "change_color", ActionKind::kChangeColor, 3, 0},
};

// Offsets of the stat blocks in their rows, in table order (engine/stat_table.h).
void build_stat_layout(EnvParams& p) {
  std::int32_t k = 0;
  for (const StatBlock& b : kAgentStatBlocks) {
    p.stats.*b.offset = k;
    k += stat_span_size(b.span, p);
  }
  p.stats.agent_count = k;
  k = 0;
  for (const StatBlock& b : kConverterStatBlocks) {
    p.stats.*b.offset = k;
    k += stat_span_size(b.span, p);
  }
  p.stats.converter_count = k;
}

void build_obs_table(EnvParams& p) {
  const int rh = p.obs_height >> 1, rw = p.obs_width >> 1;
  int n = 0;
  for (int d = 0; d <= rh + rw; ++d) {
    for (int dr = -rh; dr <= rh; ++dr) {
      const int dc = d - std::abs(dr);
      if (dc < 0 || dc > rw) continue;
      const int sides[2] = {dc, -dc};
      for (int k = 0; k < (dc == 0 ? 1 : 2); ++k) {
        p.obs_dr[n] = static_cast<std::int8_t>(dr);
        p.obs_dc[n] = static_cast<std::int8_t>(sides[k]);
        p.obs_loc[n] = static_cast<std::uint8_t>(((dr + rh) << 4) | (sides[k] + rw));
        ++n;
      }
    }
  }
  p.num_obs_cells = n;
  p.obs_center_loc = static_cast<std::uint8_t>((rh << 4) | rw);
  p.obs_row_nibbles = (p.obs_width + 3) / 4;
  p.obs_mask_words = (n + 63) / 64;
}

std::vector<std::uint64_t> build_obs_order_table(const EnvParams& p) {
  const int rh = p.obs_height >> 1, rw = p.obs_width >> 1, words = p.obs_mask_words, nibbles = p.obs_row_nibbles;
  std::vector<int> rank(static_cast<std::size_t>(p.obs_height * p.obs_width), -1);
  for (int k = 0; k < p.num_obs_cells; ++k) rank[(p.obs_dr[k] + rh) * p.obs_width + p.obs_dc[k] + rw] = k;
  std::vector<std::uint64_t> table(static_cast<std::size_t>(p.obs_height * nibbles * 16 * words), 0);
  for (int row = 0; row < p.obs_height; ++row)
    for (int j = 0; j < nibbles; ++j)
      for (int v = 0; v < 16; ++v)
        for (int b = 0; b < 4; ++b) {
          const int col = j * 4 + b;
          if (!(v >> b & 1) || col >= p.obs_width) continue;
          const int k = rank[row * p.obs_width + col];
          table[((row * nibbles + j) * 16 + v) * words + k / 64] |= 1ull << (k % 64);
        }
  return table;
}

}  // namespace

std::vector<std::pair<std::string, float>> feature_spec(const std::vector<std::string>& item_names) {
  std::vector<std::pair<std::string, float>> f = {
      {"type_id", 1},       {"agent:group", 10},       {"hp", 30},          {"agent:frozen", 1},
      {"agent:orientation", 1}, {"agent:color", 255},  {"converting", 1},   {"swappable", 1},
      {"episode_completion_pct", 255}, {"last_action", 10}, {"last_action_arg", 10}, {"last_reward", 100}};
  for (auto& item : item_names) f.push_back({"inv:" + item, 100});
  return f;
}

CompiledEnv compile_env(const EnvConfig& cfg) {
  CompiledEnv out;
  EnvParams& p = out.params;
  std::memset(&p, 0, sizeof(p));

  validate_fields(cfg, "game");  // the rows' ranges (engine/env_config_table.h); the rules across them below
  if (cfg.obs_width % 2 == 0)
    config_fail("game.obs_width", std::to_string(cfg.obs_width), "an odd integer in [1, 15]");
  if (cfg.obs_height % 2 == 0)
    config_fail("game.obs_height", std::to_string(cfg.obs_height), "an odd integer in [1, 15]");
  p.obs_width = cfg.obs_width;
  p.obs_height = cfg.obs_height;
  p.num_tokens = cfg.num_observation_tokens;
  p.max_steps = cfg.max_steps;
  build_obs_table(p);

  // items
  ItemIndex items;
  if (cfg.inventory_item_names.empty()) config_fail("game.inventory_item_names", "an empty list", "at least one item name");
  config_check_range("game.inventory_item_names (count)", static_cast<long>(cfg.inventory_item_names.size()), 1, kMaxItems);
  for (std::size_t i = 0; i < cfg.inventory_item_names.size(); ++i) {
    const std::string& n = cfg.inventory_item_names[i];
    const std::string f = "game.inventory_item_names[" + std::to_string(i) + "]";
    if (n.empty()) config_fail(f, "''", "a non-empty name");
    if (items.ids.count(n)) config_fail(f, "'" + n + "'", "a name not already listed");
    items.ids[n] = static_cast<int>(i);
  }
  p.num_items = static_cast<int>(cfg.inventory_item_names.size());
  out.item_names = cfg.inventory_item_names;

  // groups
  if (cfg.groups.empty()) config_fail("game.groups", "no groups", "at least one agent group");
  int max_group = 0;
  std::set<int> group_ids;
  for (auto& g : cfg.groups) {
    const std::string f = "game.groups." + g.name;
    validate_fields(g, f);
    if (!group_ids.insert(g.id).second) config_fail(f + ".id", std::to_string(g.id), "an id no other group uses");
    max_group = std::max(max_group, g.id);
    const AgentProps& a = g.props;
    validate_fields(a, f + ".props");
    for (int i = 0; i < p.num_items; ++i) p.max_items[g.id][i] = static_cast<std::uint8_t>(a.default_item_max);
    for (auto& [item, n] : a.item_max) {
      const std::string fi = f + ".props." + item + "_max";
      config_check_range(fi, n, 0, 255);
      p.max_items[g.id][items.at(fi, item)] = static_cast<std::uint8_t>(n);
    }
    for (auto& [item, r] : a.rewards) {
      const std::string fi = f + ".props.rewards." + item;
      if (!std::isfinite(r)) config_fail(fi, std::to_string(r), "a finite number");
      const int id = items.at(fi, item);
      p.reward[g.id][id] = r;
      p.reward_cap[g.id][id] = 1000.0f;
    }
    for (auto& [item, cap] : a.reward_max) {
      const std::string fi = f + ".props.rewards." + item + "_max";
      if (!(cap >= 0.0f)) config_fail(fi, std::to_string(cap), "a number >= 0");
      p.reward_cap[g.id][items.at(fi, item)] = cap;
    }
    if (!std::isfinite(a.action_failure_penalty))
      config_fail(f + ".props.rewards.action_failure_penalty", std::to_string(a.action_failure_penalty), "a finite number");
    p.failure_penalty[g.id] = a.action_failure_penalty;
    p.freeze_duration[g.id] = static_cast<std::int16_t>(a.freeze_duration);
    p.group_reward_pct[g.id] = g.group_reward_pct;
  }
  p.num_groups = max_group + 1;
  out.group_names.assign(static_cast<std::size_t>(p.num_groups), "");
  for (auto& g : cfg.groups) out.group_names[g.id] = g.name;

  // object types (agent = 0)
  std::map<std::string, const ObjectConfig*> objects_by_name;
  int max_type = 0;
  p.type_kind[0] = static_cast<std::uint8_t>(ObjectKind::kAgent);
  std::vector<std::string> type_names(kMaxTypes, "");
  type_names[0] = "agent";
  for (auto& o : cfg.objects) {
    const std::string f = "game.objects." + o.name;
    validate_fields(o, f);
    if (!type_names[o.type_id].empty())
      config_fail(f + ".type_id", std::to_string(o.type_id), "a type id not used by '" + type_names[o.type_id] + "'");
    if (o.name.rfind("agent", 0) == 0) config_fail(f, "'" + o.name + "'", "an object name not starting with 'agent'");
    type_names[o.type_id] = o.name;
    objects_by_name[o.name] = &o;
    max_type = std::max(max_type, o.type_id);
    const int t = o.type_id;
    p.type_kind[t] = static_cast<std::uint8_t>(o.converter ? ObjectKind::kConverter : ObjectKind::kWall);
    p.type_swappable[t] = o.swappable ? 1 : 0;
    if (o.converter) {
      fill_items(f + ".input", o.recipe_input, items, p.recipe_input[t]);
      fill_items(f + ".output", o.recipe_output, items, p.recipe_output[t]);
      if (o.recipe_input.empty() && o.max_output < 0 && o.conversion_ticks == 0 && o.cooldown == 0)
        config_fail(f, "no input, max_output -1, conversion_ticks 0 and cooldown 0",
             "a limit: this converter would convert forever within one step");
      p.max_output[t] = o.max_output;
      p.conversion_ticks[t] = o.conversion_ticks;
      p.cooldown[t] = o.cooldown;
      p.initial_items[t] = static_cast<std::uint8_t>(o.initial_items);
      p.type_color[t] = static_cast<std::uint8_t>(o.color);
    }
  }
  p.num_types = max_type + 1;
  type_names.resize(static_cast<std::size_t>(p.num_types));
  out.type_names = type_names;

  // actions: enabled handlers in config order
  std::set<std::string> known = {"noop", "move", "rotate", "put_items", "get_items", "attack", "swap", "change_color"};
  int nact = 0;
  for (auto& [key, ac] : cfg.actions) {
    if (!known.count(key)) {
      std::string list;
      for (auto& k : known) list += (list.empty() ? "" : ", ") + k;
      config_fail("game.actions." + key, "an unknown action", "one of " + list);
    }
    if (!ac.enabled) continue;
    for (const HandlerSpec& h : kHandlers) {
      if (key != h.key) continue;
      if (nact >= kMaxActions) config_fail("game.actions", std::to_string(nact + 1) + " handlers", "at most 16");
      p.action_kind[nact] = static_cast<std::uint8_t>(h.kind);
      p.action_max_arg[nact] = h.max_arg;
      p.action_priority[nact] = static_cast<std::uint8_t>(h.priority);
      const std::string f = "game.actions." + key;
      fill_items(f + ".consumed_resources", ac.consumed_resources, items, p.action_consumed[nact]);
      fill_items(f + ".required_resources",
                 ac.required_resources.empty() ? ac.consumed_resources : ac.required_resources, items,
                 p.action_required[nact]);
      fill_items(f + ".defense_resources", ac.defense_resources, items, p.action_defense[nact]);
      p.action_has_defense[nact] = ac.defense_resources.empty() ? 0 : 1;
      p.max_priority = std::max(p.max_priority, h.priority);
      out.action_names.push_back(h.name);
      ++nact;
    }
  }
  if (nact == 0) config_fail("game.actions", "no enabled action", "at least one enabled action");
  p.num_actions = nact;

  // map
  MapLayout layout = build_layout(cfg.map_builder);
  config_check_range(cfg.map_builder.path + " (map height)", layout.height, 1, 65535);
  config_check_range(cfg.map_builder.path + " (map width)", layout.width, 1, 65535);
  p.height = layout.height;
  p.width = layout.width;
  for (int k = 0; k < p.num_obs_cells; ++k) p.obs_cell_offset[k] = p.obs_dr[k] * p.width + p.obs_dc[k];
  out.map_labels = layout.labels;
  out.symbol_names = {""};
  std::map<std::string, int> symbol_ids = {{"", 0}};
  auto symbol_of = [&](const std::string& name) -> std::uint8_t {
    auto it = symbol_ids.find(name);
    if (it != symbol_ids.end()) return static_cast<std::uint8_t>(it->second);
    const int id = static_cast<int>(out.symbol_names.size());
    if (id >= kMaxSymbols) config_fail(cfg.map_builder.path, "more than 127 distinct cell names", "at most 127");
    if (name.rfind("agent.", 0) == 0) {
      const std::string group = name.substr(6);
      const GroupConfig* g = nullptr;
      for (auto& gc : cfg.groups)
        if (gc.name == group) g = &gc;
      if (!g) config_fail(cfg.map_builder.path, "cell '" + name + "'", "an agent of a group defined under game.groups");
      p.symbol_kind[id] = static_cast<std::uint8_t>(ObjectKind::kAgent);
      p.symbol_type[id] = 0;
      p.symbol_group[id] = static_cast<std::uint8_t>(g->id);
    } else {
      auto ob = objects_by_name.find(name);
      if (ob == objects_by_name.end())
        config_fail(cfg.map_builder.path, "cell '" + name + "'", "'empty', 'agent.<group>' or an object of game.objects");
      p.symbol_kind[id] = p.type_kind[ob->second->type_id];
      p.symbol_type[id] = static_cast<std::uint8_t>(ob->second->type_id);
    }
    symbol_ids[name] = id;
    out.symbol_names.push_back(name);
    return static_cast<std::uint8_t>(id);
  };
  long objects = 0, agents = 0, converters = 0;
  int group_counts[kMaxGroups] = {};
  for (int t = 0; t < kMaxTypes; ++t) p.type_count[t] = 0;
  auto count = [&](std::uint8_t s) {
    if (s == 0) return;
    ++objects;
    ++p.type_count[p.symbol_type[s]];
    const auto kind = static_cast<ObjectKind>(p.symbol_kind[s]);
    if (kind == ObjectKind::kAgent) {
      ++agents;
      ++group_counts[p.symbol_group[s]];
    } else if (kind == ObjectKind::kConverter) {
      ++converters;
    }
  };
  out.plan_template.resize(layout.cells.size());
  for (std::size_t i = 0; i < layout.cells.size(); ++i) out.plan_template[i] = symbol_of(layout.cells[i]);
  std::vector<bool> in_room(layout.cells.size(), false);
  for (auto& room : layout.rooms) {
    out.plan_rooms.insert(out.plan_rooms.end(), {room.r0, room.c0, room.h, room.w,
                                                 static_cast<std::int32_t>(out.plan_symbols.size()),
                                                 static_cast<std::int32_t>(room.symbols.size())});
    for (auto& s : room.symbols) {
      const std::uint8_t id = symbol_of(s);
      out.plan_symbols.push_back(id);
      count(id);
    }
    for (int r = 0; r < room.h; ++r)
      for (int c = 0; c < room.w; ++c) in_room[(room.r0 + r) * layout.width + room.c0 + c] = true;
  }
  for (std::size_t i = 0; i < layout.cells.size(); ++i)
    if (!in_room[i]) count(out.plan_template[i]);
  if (agents != cfg.num_agents)
    config_fail(cfg.map_builder.path, "a map with " + std::to_string(agents) + " agents",
         std::to_string(cfg.num_agents) + " agents (game.num_agents)");
  config_check_range(cfg.map_builder.path + " (objects on the map)", objects, 1, 65534);
  p.num_agents = cfg.num_agents;
  p.num_objects = static_cast<int>(objects);
  p.num_converters = static_cast<int>(converters);
  for (int g = 0; g < kMaxGroups; ++g) p.group_size[g] = group_counts[g];
  build_stat_layout(p);
  out.obs_order_table = build_obs_order_table(p);
  return out;
}

}  // namespace metta::engine
