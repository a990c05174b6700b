#include "engine/config_yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/config_fields.h"
#include "engine/embedded_configs.h"

namespace metta::engine {
namespace {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& value,
                         const std::string& expected) const {
    const bool has_line = at.IsDefined() && at.Mark().line >= 0;
    yaml_error(has_line ? source_ + ":" + std::to_string(at.Mark().line + 1) : source_, field, value, expected);
  }

  std::string show(const YAML::Node& n) const { return yaml_shown(n); }

  void require_map(const YAML::Node& n, const std::string& field) const {
    if (!n.IsMap()) fail(n, field, show(n), "a mapping");
  }

  // Fails on keys outside `allowed` (and not accepted by `extra`), naming the closest valid key.
  template <class Extra>
  void check_keys(const YAML::Node& n, const std::string& field, const std::vector<std::string>& allowed,
                  Extra extra) const {
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end() || extra(key)) continue;
      fail(it->first, field + "." + key, "an unknown key", unknown_key_expected(key, allowed));
    }
  }
  void check_keys(const YAML::Node& n, const std::string& field, const std::vector<std::string>& allowed) const {
    check_keys(n, field, allowed, [](const std::string&) { return false; });
  }

  // A scalar of type T, or an error naming the field, the value and the type.
  template <class T>
  T scalar(const YAML::Node& n, const std::string& field) const {
    T v{};
    if (!yaml_scalar(n, v)) fail(n, field, show(n), yaml_type_name<T>());
    return v;
  }
  long as_int(const YAML::Node& n, const std::string& field) const { return scalar<long>(n, field); }
  int as_int32(const YAML::Node& n, const std::string& field) const {
    long v = as_int(n, field);
    if (v < -(1l << 31) || v >= (1l << 31)) fail(n, field, show(n), "a 32-bit integer");
    return static_cast<int>(v);
  }
  float as_float(const YAML::Node& n, const std::string& field) const { return scalar<float>(n, field); }
  bool as_bool(const YAML::Node& n, const std::string& field) const { return scalar<bool>(n, field); }
  std::string as_string(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, show(n), "a string");
    return n.Scalar();
  }
  std::map<std::string, int> as_int_map(const YAML::Node& n, const std::string& field) const {
    std::map<std::string, int> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    require_map(n, field);
    for (auto it = n.begin(); it != n.end(); ++it)
      out[it->first.Scalar()] = as_int32(it->second, field + "." + it->first.Scalar());
    return out;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_item(const std::vector<std::string>& items, const std::string& name) {
  return std::find(items.begin(), items.end(), name) != items.end();
}

// Agent properties (game.agent or a group's props) layered over `base`.
AgentProps read_agent_props(const Reader& rd, const YAML::Node& n, const std::string& field,
                            const std::vector<std::string>& items, AgentProps base) {
  if (!n.IsDefined() || n.IsNull()) return base;
  rd.require_map(n, field);
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string f = field + "." + key;
    if (key == "default_item_max") {
      base.default_item_max = rd.as_int32(it->second, f);
    } else if (key == "freeze_duration") {
      base.freeze_duration = rd.as_int32(it->second, f);
    } else if (key == "rewards") {
      if (it->second.IsNull()) continue;
      rd.require_map(it->second, f);
      for (auto r = it->second.begin(); r != it->second.end(); ++r) {
        const std::string rk = r->first.Scalar();
        const std::string rf = f + "." + rk;
        if (rk == "action_failure_penalty") {
          base.action_failure_penalty = rd.as_float(r->second, rf);
        } else if (ends_with(rk, "_max") && is_item(items, rk.substr(0, rk.size() - 4))) {
          if (!r->second.IsNull()) base.reward_max[rk.substr(0, rk.size() - 4)] = rd.as_float(r->second, rf);
        } else if (is_item(items, rk)) {
          base.rewards[rk] = rd.as_float(r->second, rf);
        } else {
          std::vector<std::string> valid = {"action_failure_penalty"};
          for (auto& i : items) valid.insert(valid.end(), {i, i + "_max"});
          std::string hint = closest_key(rk, valid);
          rd.fail(r->first, rf, "an unknown reward key",
                  "an item, '<item>_max' or action_failure_penalty" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        }
      }
    } else if (ends_with(key, "_max") && is_item(items, key.substr(0, key.size() - 4))) {
      base.item_max[key.substr(0, key.size() - 4)] = rd.as_int32(it->second, f);
    } else {
      std::vector<std::string> valid = {"default_item_max", "freeze_duration", "rewards"};
      for (auto& i : items) valid.push_back(i + "_max");
      std::string hint = closest_key(key, valid);
      rd.fail(it->first, f, "an unknown key",
              "default_item_max, freeze_duration, rewards or '<item>_max'" +
                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  return base;
}

ObjectConfig read_object(const Reader& rd, const std::string& name, const YAML::Node& n, const std::string& field,
                         const std::vector<std::string>& items) {
  ObjectConfig o;
  o.name = name;
  rd.require_map(n, field);
  if (!n["type_id"].IsDefined()) rd.fail(n, field + ".type_id", "nothing", "an integer type id");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string f = field + "." + key;
    const YAML::Node v = it->second;  // a handle: it->second is a temporary
    if (key == "type_id") o.type_id = rd.as_int32(v, f);
    else if (key == "swappable") o.swappable = rd.as_bool(v, f);
    else if (key == "max_output") { o.max_output = rd.as_int32(v, f); o.converter = true; }
    else if (key == "conversion_ticks") { o.conversion_ticks = rd.as_int32(v, f); o.converter = true; }
    else if (key == "cooldown") { o.cooldown = rd.as_int32(v, f); o.converter = true; }
    else if (key == "initial_items") { o.initial_items = rd.as_int32(v, f); o.converter = true; }
    else if (key == "color") o.color = rd.as_int32(v, f);
    else if (key.rfind("input_", 0) == 0 && is_item(items, key.substr(6))) {
      const int amount = rd.as_int32(v, f);
      if (amount != 0) o.recipe_input[key.substr(6)] = amount;
      o.converter = true;
    } else if (key.rfind("output_", 0) == 0 && is_item(items, key.substr(7))) {
      const int amount = rd.as_int32(v, f);
      if (amount != 0) o.recipe_output[key.substr(7)] = amount;
      o.converter = true;
    } else {
      std::vector<std::string> valid = {"type_id", "swappable", "max_output", "conversion_ticks", "cooldown",
                                        "initial_items", "color"};
      for (auto& i : items) valid.insert(valid.end(), {"input_" + i, "output_" + i});
      std::string hint = closest_key(key, valid);
      rd.fail(it->first, f, "an unknown key",
              "a converter or wall key (type_id, input_<item>, output_<item>, max_output, conversion_ticks, "
              "cooldown, initial_items, color, swappable)" + (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
  }
  return o;
}

MapBuilderConfig read_map_builder(const Reader& rd, const YAML::Node& n, const std::string& field) {
  MapBuilderConfig b;
  b.path = field;
  rd.require_map(n, field);
  const YAML::Node target = n["_target_"];
  if (!target.IsDefined()) rd.fail(n, field + "._target_", "nothing", "a map builder name");
  const std::string t = rd.as_string(target, field + "._target_");
  if (t == "mettagrid.room.random.Random" || t == "random") {
    b.kind = MapBuilderConfig::Kind::kRandom;
    rd.check_keys(n, field, {"_target_", "width", "height", "border_width", "border_object", "agents", "objects"});
    b.width = rd.as_int32(n["width"], field + ".width");
    b.height = rd.as_int32(n["height"], field + ".height");
    if (n["border_width"]) b.border_width = rd.as_int32(n["border_width"], field + ".border_width");
    if (n["border_object"]) b.border_object = rd.as_string(n["border_object"], field + ".border_object");
    const YAML::Node agents = n["agents"];
    if (agents.IsMap()) {
      for (auto it = agents.begin(); it != agents.end(); ++it)
        b.agents.push_back({"agent." + it->first.Scalar(), rd.as_int32(it->second, field + ".agents." + it->first.Scalar())});
    } else if (agents.IsDefined()) {
      b.agents.push_back({"agent.agent", rd.as_int32(agents, field + ".agents")});
    }
    const YAML::Node objects = n["objects"];
    if (objects.IsDefined() && !objects.IsNull()) {
      rd.require_map(objects, field + ".objects");
      for (auto it = objects.begin(); it != objects.end(); ++it)
        b.objects.push_back({it->first.Scalar(), rd.as_int32(it->second, field + ".objects." + it->first.Scalar())});
    }
  } else if (t == "mettagrid.room.multi_room.MultiRoom" || t == "multi_room") {
    b.kind = MapBuilderConfig::Kind::kMultiRoom;
    rd.check_keys(n, field, {"_target_", "num_rooms", "room", "layout", "border_width", "border_object"});
    b.num_rooms = rd.as_int32(n["num_rooms"], field + ".num_rooms");
    if (n["border_width"]) b.border_width = rd.as_int32(n["border_width"], field + ".border_width");
    if (n["border_object"]) b.border_object = rd.as_string(n["border_object"], field + ".border_object");
    if (n["layout"]) b.layout = rd.as_string(n["layout"], field + ".layout");
    if (!n["room"].IsDefined()) rd.fail(n, field + ".room", "nothing", "a room builder");
    b.room.push_back(read_map_builder(rd, n["room"], field + ".room"));
  } else if (t == "mettagrid.room.ascii.Ascii" || t == "ascii") {
    b.kind = MapBuilderConfig::Kind::kAscii;
    rd.check_keys(n, field, {"_target_", "map", "legend"});
    const YAML::Node map = n["map"];
    if (map.IsSequence()) {
      for (std::size_t i = 0; i < map.size(); ++i) b.rows.push_back(rd.as_string(map[i], field + ".map[" + std::to_string(i) + "]"));
    } else if (map.IsScalar()) {
      std::istringstream is(map.Scalar());
      std::string line;
      while (std::getline(is, line))
        if (!line.empty()) b.rows.push_back(line);
    } else {
      rd.fail(map, field + ".map", rd.show(map), "a block string or a list of rows");
    }
    const YAML::Node legend = n["legend"];
    if (legend.IsDefined() && !legend.IsNull()) {
      rd.require_map(legend, field + ".legend");
      for (auto it = legend.begin(); it != legend.end(); ++it) {
        const std::string ch = it->first.Scalar();
        if (ch.size() != 1) rd.fail(it->first, field + ".legend", "'" + ch + "'", "single-character keys");
        b.legend[ch[0]] = rd.as_string(it->second, field + ".legend." + ch);
      }
    }
  } else {
    rd.fail(target, field + "._target_", "'" + t + "'",
            "mettagrid.room.random.Random, mettagrid.room.multi_room.MultiRoom or mettagrid.room.ascii.Ascii "
            "(or random, multi_room, ascii)");
  }
  return b;
}

EnvConfig read_env(const Reader& rd, const YAML::Node& root) {
  EnvConfig cfg;
  cfg.source = rd.source();
  rd.require_map(root, "config");
  rd.check_keys(root, "config", {"game", "sampling", "desync_episodes", "label", "name"});
  const YAML::Node game = root["game"];
  if (!game.IsDefined()) rd.fail(root, "game", "nothing", "a 'game' mapping");
  rd.require_map(game, "game");
  rd.check_keys(game, "game",
                {"num_agents", "obs_width", "obs_height", "num_observation_tokens", "max_steps",
                 "inventory_item_names", "agent", "groups", "objects", "actions", "map_builder"});
  cfg.num_agents = rd.as_int32(game["num_agents"], "game.num_agents");
  if (game["obs_width"]) cfg.obs_width = rd.as_int32(game["obs_width"], "game.obs_width");
  if (game["obs_height"]) cfg.obs_height = rd.as_int32(game["obs_height"], "game.obs_height");
  if (game["num_observation_tokens"])
    cfg.num_observation_tokens = rd.as_int32(game["num_observation_tokens"], "game.num_observation_tokens");
  if (game["max_steps"]) cfg.max_steps = rd.as_int32(game["max_steps"], "game.max_steps");

  const YAML::Node items = game["inventory_item_names"];
  if (!items.IsSequence()) rd.fail(items, "game.inventory_item_names", rd.show(items), "a list of item names");
  for (std::size_t i = 0; i < items.size(); ++i)
    cfg.inventory_item_names.push_back(rd.as_string(items[i], "game.inventory_item_names[" + std::to_string(i) + "]"));

  AgentProps agent = read_agent_props(rd, game["agent"], "game.agent", cfg.inventory_item_names, AgentProps{});

  const YAML::Node groups = game["groups"];
  if (!groups.IsMap()) rd.fail(groups, "game.groups", rd.show(groups), "a mapping of group name to {id, props}");
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    GroupConfig g;
    g.name = it->first.Scalar();
    const std::string f = "game.groups." + g.name;
    rd.require_map(it->second, f);
    rd.check_keys(it->second, f, {"id", "sprite", "group_reward_pct", "props"});
    if (!it->second["id"].IsDefined()) rd.fail(it->second, f + ".id", "nothing", "an integer group id");
    g.id = rd.as_int32(it->second["id"], f + ".id");
    if (it->second["group_reward_pct"])
      g.group_reward_pct = rd.as_float(it->second["group_reward_pct"], f + ".group_reward_pct");
    g.props = read_agent_props(rd, it->second["props"], f + ".props", cfg.inventory_item_names, agent);
    cfg.groups.push_back(g);
  }

  const YAML::Node objects = game["objects"];
  if (objects.IsDefined() && !objects.IsNull()) {
    rd.require_map(objects, "game.objects");
    for (auto it = objects.begin(); it != objects.end(); ++it)
      cfg.objects.push_back(read_object(rd, it->first.Scalar(), it->second, "game.objects." + it->first.Scalar(),
                                        cfg.inventory_item_names));
  }

  const YAML::Node actions = game["actions"];
  if (!actions.IsMap()) rd.fail(actions, "game.actions", rd.show(actions), "a mapping of action name to settings");
  for (auto it = actions.begin(); it != actions.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string f = "game.actions." + key;
    ActionConfig ac;
    if (!it->second.IsNull()) {
      rd.require_map(it->second, f);
      rd.check_keys(it->second, f, {"enabled", "consumed_resources", "required_resources", "defense_resources"});
      if (it->second["enabled"]) ac.enabled = rd.as_bool(it->second["enabled"], f + ".enabled");
      ac.consumed_resources = rd.as_int_map(it->second["consumed_resources"], f + ".consumed_resources");
      ac.required_resources = rd.as_int_map(it->second["required_resources"], f + ".required_resources");
      ac.defense_resources = rd.as_int_map(it->second["defense_resources"], f + ".defense_resources");
    }
    cfg.actions.push_back({key, ac});
  }

  if (!game["map_builder"].IsDefined()) rd.fail(game, "game.map_builder", "nothing", "a map builder");
  cfg.map_builder = read_map_builder(rd, game["map_builder"], "game.map_builder");
  return cfg;
}

}  // namespace

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, key.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::vector<std::size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= key.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (key[i - 1] == c[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    if (prev[c.size()] < best_d) {
      best_d = prev[c.size()];
      best = c;
    }
  }
  return best;
}

YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: nested deeper than 2000 levels");
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
}

namespace {
// The line of the node a dotted field names ("game.objects.altar.cooldown", "a.b[2]"), or of its deepest
// existing ancestor; -1 when not even the first key exists.
int line_of(const YAML::Node& root, const std::string& field) {
  // the path: keys separated by '.', indices as [i]
  std::vector<std::string> keys;  // an index is kept as "[i]"
  std::string cur;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char ch = field[i];
    if (ch == '.' || ch == '[') {
      if (!cur.empty()) keys.push_back(cur);
      cur.clear();
      if (ch == '[') {
        const std::size_t close = field.find(']', i);
        if (close == std::string::npos) break;
        keys.push_back(field.substr(i, close - i + 1));
        i = close;
      }
    } else if (ch == ' ' || ch == ':') {
      break;  // the end of the field
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) keys.push_back(cur);
  YAML::Node n = root;
  int line = -1;
  for (const std::string& k : keys) {
    YAML::Node next;
    if (k.front() == '[') {
      const std::size_t i = static_cast<std::size_t>(std::atol(k.c_str() + 1));
      if (!n.IsSequence() || i >= n.size()) break;
      next = n[i];
    } else {
      if (!n.IsMap()) break;
      next = n[k];
    }
    if (!next.IsDefined()) break;
    n = next;
    if (n.Mark().line >= 0) line = n.Mark().line;
  }
  return line;
}
}  // namespace

EnvConfig parse_env_config(const std::string& yaml_text, const std::string& source_name) {
  Reader rd(source_name);
  const YAML::Node root = load_yaml(yaml_text, source_name);
  EnvConfig cfg;
  try {
    cfg = read_env(rd, root);
  } catch (const YAML::InvalidNode& e) {
    // a required key read without a check first: name it instead of yaml-cpp's internal wording
    std::string key = e.msg;
    const std::size_t q = key.find('"');
    key = q == std::string::npos ? "a required key" : "'" + key.substr(q + 1, key.rfind('"') - q - 1) + "'";
    throw ConfigError(source_name + ": " + key + ": got nothing, expected a value (the key is missing)");
  }
  // the rules checked at compile time, with the file and line of the field they name
  try {
    compile_env(cfg);
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    const std::size_t colon = msg.find(": ");
    const int line = colon == std::string::npos ? -1 : line_of(root, msg.substr(0, colon));
    throw ConfigError(source_name + (line >= 0 ? ":" + std::to_string(line + 1) : "") + ": " + msg);
  }
  return cfg;
}

EnvConfig load_env_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_env_config(ss.str(), path);
}

EnvConfig default_env_config() { return embedded_env_config("simple"); }

EnvConfig embedded_env_config(const std::string& name) {
  if (name == "simple") return parse_env_config(kSimpleYaml, "configs/env/mettagrid/simple.yaml (embedded)");
  if (name == "hearts_room")
    return parse_env_config(kHeartsRoomYaml, "configs/env/mettagrid/hearts_room.yaml (embedded)");
  throw ConfigError("env: got '" + name + "', expected an embedded env (simple, hearts_room) or a YAML file path");
}

EnvConfig env_config_from(const std::string& name_or_path) {
  if (name_or_path == "simple" || name_or_path == "hearts_room") return embedded_env_config(name_or_path);
  if (name_or_path == "/env/mettagrid/simple") return embedded_env_config("simple");
  if (!std::ifstream(name_or_path)) {
    const std::string hint = closest_key(name_or_path, {"simple", "hearts_room", "/env/mettagrid/simple"});
    throw ConfigError("env: got '" + name_or_path +
                      "', expected an embedded env (simple, hearts_room, /env/mettagrid/simple) or the path of an "
                      "env YAML file (no such file)" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  return load_env_config_file(name_or_path);
}

}  // namespace metta::engine
