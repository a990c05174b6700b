#include "engine/config_yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/config_fields.h"
#include "engine/embedded_configs.h"
#include "engine/env_config_table.h"

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

  // Fails on keys outside `allowed`, naming the closest valid key.
  void check_keys(const YAML::Node& n, const std::string& field, const std::vector<std::string>& allowed) const {
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(it->first, field + "." + key, "an unknown key", unknown_key_expected(key, allowed));
    }
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

// Where a dotted field ("game.objects.altar.cooldown", "a.b[2]") is in the file: the line of its key
// (of the item, for an index), or -1 when the path does not exist all the way (exact) or at all.
int line_of(const YAML::Node& root, const std::string& field, bool exact) {
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
    YAML::Node next;  // (a default Node is a defined null: found says whether the key is there)
    int at = -1;
    if (k.front() == '[') {
      const std::size_t i = static_cast<std::size_t>(std::atol(k.c_str() + 1));
      if (!n.IsSequence() || i >= n.size()) return exact ? -1 : line;
      next = n[i];
      at = next.Mark().line;
    } else {
      if (!n.IsMap()) return exact ? -1 : line;
      bool found = false;
      for (auto it = n.begin(); it != n.end() && !found; ++it) {
        if (it->first.Scalar() != k) continue;
        next = it->second;
        at = it->first.Mark().line;
        found = true;
      }
      if (!found) return exact ? -1 : line;
    }
    n.reset(next);  // rebind: assigning would overwrite the node n refers to (the caller's tree)
    if (at >= 0) line = at;
  }
  return line;
}

}  // namespace

KeySource yaml_key_source(const YAML::Node& root, const std::string& source) {
  return [root, source](const std::string& dotted) {
    const int line = line_of(root, dotted, /*exact=*/true);
    return line >= 0 ? source + ":" + std::to_string(line + 1) : source;
  };
}

namespace {

// game.agent.rewards and a group's props.rewards: action_failure_penalty, and keys named after items.
struct RewardKeys {
  float action_failure_penalty = 0.0f;
};
template <class V>
void visit_fields(RewardKeys& r, V& v) {
  v(field("action_failure_penalty", r.action_failure_penalty));
}

// Agent properties (game.agent or a group's props) layered over `base`: a key left out keeps base's value.
AgentProps read_agent_props(const Reader& rd, const KeySource& ks, const YAML::Node& n, const std::string& path,
                            const std::vector<std::string>& items, AgentProps base) {
  if (!n.IsDefined() || n.IsNull()) return base;
  rd.require_map(n, path);
  std::vector<std::string> max_keys;
  for (const std::string& i : items) max_keys.push_back(i + "_max");
  read_fields(n, path, ks, base,
              [&](const std::string& key, const YAML::Node& v) {
                if (!(ends_with(key, "_max") && is_item(items, key.substr(0, key.size() - 4)))) return false;
                base.item_max[key.substr(0, key.size() - 4)] = rd.as_int32(v, path + "." + key);
                return true;
              },
              max_keys);
  const YAML::Node rewards = n["rewards"];
  if (!rewards.IsDefined() || rewards.IsNull()) return base;
  const std::string rpath = path + ".rewards";
  rd.require_map(rewards, rpath);
  RewardKeys fixed{base.action_failure_penalty};
  std::vector<std::string> reward_keys;
  for (const std::string& i : items) reward_keys.insert(reward_keys.end(), {i, i + "_max"});
  read_fields(rewards, rpath, ks, fixed,
              [&](const std::string& key, const YAML::Node& v) {
                const std::string f = rpath + "." + key;
                if (ends_with(key, "_max") && is_item(items, key.substr(0, key.size() - 4))) {
                  if (!v.IsNull()) base.reward_max[key.substr(0, key.size() - 4)] = rd.as_float(v, f);
                  return true;
                }
                if (!is_item(items, key)) return false;
                base.rewards[key] = rd.as_float(v, f);
                return true;
              },
              reward_keys);
  base.action_failure_penalty = fixed.action_failure_penalty;
  return base;
}

ObjectConfig read_object(const Reader& rd, const KeySource& ks, const std::string& name, const YAML::Node& n,
                         const std::string& path, const std::vector<std::string>& items) {
  ObjectConfig o;
  o.name = name;
  rd.require_map(n, path);
  std::vector<std::string> recipe_keys;
  for (const std::string& i : items) recipe_keys.insert(recipe_keys.end(), {"input_" + i, "output_" + i});
  bool recipe = false;
  read_fields(n, path, ks, o,
              [&](const std::string& key, const YAML::Node& v) {
                const bool in = key.rfind("input_", 0) == 0 && is_item(items, key.substr(6));
                const bool out = key.rfind("output_", 0) == 0 && is_item(items, key.substr(7));
                if (!in && !out) return false;
                const int amount = rd.as_int32(v, path + "." + key);
                if (amount != 0) (in ? o.recipe_input[key.substr(6)] : o.recipe_output[key.substr(7)]) = amount;
                recipe = true;
                return true;
              },
              recipe_keys);
  o.converter = recipe;
  for (const char* k : kConverterKeys) o.converter = o.converter || n[k].IsDefined();
  return o;
}

MapBuilderConfig read_map_builder(const Reader& rd, const KeySource& ks, const YAML::Node& n,
                                  const std::string& path) {
  MapBuilderConfig b;
  b.path = path;
  rd.require_map(n, path);
  const YAML::Node target = n["_target_"];
  if (!target.IsDefined()) rd.fail(n, path + "._target_", "nothing", "a map builder name");
  const std::string t = rd.as_string(target, path + "._target_");
  if (t == "mettagrid.room.random.Random" || t == "random") {
    b.kind = MapBuilderConfig::Kind::kRandom;
  } else if (t == "mettagrid.room.multi_room.MultiRoom" || t == "multi_room") {
    b.kind = MapBuilderConfig::Kind::kMultiRoom;
  } else if (t == "mettagrid.room.ascii.Ascii" || t == "ascii") {
    b.kind = MapBuilderConfig::Kind::kAscii;
  } else {
    rd.fail(target, path + "._target_", "'" + t + "'",
            "mettagrid.room.random.Random, mettagrid.room.multi_room.MultiRoom or mettagrid.room.ascii.Ascii "
            "(or random, multi_room, ascii)");
  }
  read_fields(n, path, ks, b);  // the kind's fixed keys
  switch (b.kind) {
    case MapBuilderConfig::Kind::kRandom: {
      const YAML::Node agents = n["agents"];
      if (agents.IsMap()) {
        for (auto it = agents.begin(); it != agents.end(); ++it)
          b.agents.push_back(
              {"agent." + it->first.Scalar(), rd.as_int32(it->second, path + ".agents." + it->first.Scalar())});
      } else if (agents.IsDefined()) {
        b.agents.push_back({"agent.agent", rd.as_int32(agents, path + ".agents")});
      }
      const YAML::Node objects = n["objects"];
      if (objects.IsDefined() && !objects.IsNull()) {
        rd.require_map(objects, path + ".objects");
        for (auto it = objects.begin(); it != objects.end(); ++it)
          b.objects.push_back(
              {it->first.Scalar(), rd.as_int32(it->second, path + ".objects." + it->first.Scalar())});
      }
      break;
    }
    case MapBuilderConfig::Kind::kMultiRoom:
      if (!n["room"].IsDefined()) rd.fail(n, path + ".room", "nothing", "a room builder");
      b.room.push_back(read_map_builder(rd, ks, n["room"], path + ".room"));
      break;
    case MapBuilderConfig::Kind::kAscii: {
      const YAML::Node map = n["map"];
      if (map.IsSequence()) {
        for (std::size_t i = 0; i < map.size(); ++i)
          b.rows.push_back(rd.as_string(map[i], path + ".map[" + std::to_string(i) + "]"));
      } else if (map.IsScalar()) {
        std::istringstream is(map.Scalar());
        std::string line;
        while (std::getline(is, line))
          if (!line.empty()) b.rows.push_back(line);
      } else {
        rd.fail(map, path + ".map", rd.show(map), "a block string or a list of rows");
      }
      const YAML::Node legend = n["legend"];
      if (legend.IsDefined() && !legend.IsNull()) {
        rd.require_map(legend, path + ".legend");
        for (auto it = legend.begin(); it != legend.end(); ++it) {
          const std::string ch = it->first.Scalar();
          if (ch.size() != 1) rd.fail(it->first, path + ".legend", "'" + ch + "'", "single-character keys");
          b.legend[ch[0]] = rd.as_string(it->second, path + ".legend." + ch);
        }
      }
      break;
    }
  }
  return b;
}

EnvConfig read_env(const Reader& rd, const YAML::Node& root) {
  EnvConfig cfg;
  cfg.source = rd.source();
  const KeySource ks = yaml_key_source(root, rd.source());
  rd.require_map(root, "config");
  rd.check_keys(root, "config", {"game", "sampling", "desync_episodes", "label", "name"});
  const YAML::Node game = root["game"];
  if (!game.IsDefined()) rd.fail(root, "game", "nothing", "a 'game' mapping");
  rd.require_map(game, "game");
  read_fields(game, "game", ks, cfg);  // the fixed keys; the rest below

  const YAML::Node items = game["inventory_item_names"];
  if (!items.IsSequence()) rd.fail(items, "game.inventory_item_names", rd.show(items), "a list of item names");
  for (std::size_t i = 0; i < items.size(); ++i)
    cfg.inventory_item_names.push_back(rd.as_string(items[i], "game.inventory_item_names[" + std::to_string(i) + "]"));

  const AgentProps agent = read_agent_props(rd, ks, game["agent"], "game.agent", cfg.inventory_item_names, AgentProps{});

  const YAML::Node groups = game["groups"];
  if (!groups.IsMap()) rd.fail(groups, "game.groups", rd.show(groups), "a mapping of group name to {id, props}");
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    GroupConfig g;
    g.name = it->first.Scalar();
    const std::string f = "game.groups." + g.name;
    rd.require_map(it->second, f);
    read_fields(it->second, f, ks, g);
    g.props = read_agent_props(rd, ks, it->second["props"], f + ".props", cfg.inventory_item_names, agent);
    cfg.groups.push_back(g);
  }

  const YAML::Node objects = game["objects"];
  if (objects.IsDefined() && !objects.IsNull()) {
    rd.require_map(objects, "game.objects");
    for (auto it = objects.begin(); it != objects.end(); ++it)
      cfg.objects.push_back(read_object(rd, ks, it->first.Scalar(), it->second, "game.objects." + it->first.Scalar(),
                                        cfg.inventory_item_names));
  }

  const YAML::Node actions = game["actions"];
  if (!actions.IsMap()) rd.fail(actions, "game.actions", rd.show(actions), "a mapping of action name to settings");
  for (auto it = actions.begin(); it != actions.end(); ++it) {
    const std::string key = it->first.Scalar();
    ActionConfig ac;
    if (!it->second.IsNull()) {
      rd.require_map(it->second, "game.actions." + key);
      read_fields(it->second, "game.actions." + key, ks, ac);
    }
    cfg.actions.push_back({key, ac});
  }

  if (!game["map_builder"].IsDefined()) rd.fail(game, "game.map_builder", "nothing", "a map builder");
  cfg.map_builder = read_map_builder(rd, ks, game["map_builder"], "game.map_builder");
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
    const int line = colon == std::string::npos ? -1 : line_of(root, msg.substr(0, colon), /*exact=*/false);
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

namespace {
// The embedded envs by name, and the curriculum-style path of the default.
const char* embedded_text(const std::string& name) {
  if (name == "simple" || name == "/env/mettagrid/simple") return kSimpleYaml;
  if (name == "hearts_room") return kHeartsRoomYaml;
  if (name == "hearts_solo") return kHeartsSoloYaml;
  return nullptr;
}
}  // namespace

EnvConfig embedded_env_config(const std::string& name) {
  if (name != "/env/mettagrid/simple" && embedded_text(name))
    return parse_env_config(embedded_text(name), env_yaml_from(name).source);
  throw ConfigError("env: got '" + name + "', expected an embedded env (simple, hearts_room, hearts_solo) or a YAML file path");
}

std::string path_beside(const std::string& path, const std::string& dir) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  const std::filesystem::path beside = std::filesystem::path(dir) / path;
  return std::filesystem::exists(beside) ? beside.string() : path;
}

EnvYaml env_yaml_from(const std::string& name_or_path) {
  if (const char* text = embedded_text(name_or_path)) {
    const std::string file = name_or_path == "/env/mettagrid/simple" ? "simple" : name_or_path;
    return {text, "configs/env/mettagrid/" + file + ".yaml (embedded)"};
  }
  std::ifstream in(name_or_path);
  if (!in) {
    const std::string hint = closest_key(name_or_path, {"simple", "hearts_room", "hearts_solo", "/env/mettagrid/simple"});
    throw ConfigError("env: got '" + name_or_path +
                      "', expected an embedded env (simple, hearts_room, hearts_solo, /env/mettagrid/simple) or the path of an "
                      "env YAML file (no such file)" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return {ss.str(), name_or_path};
}

EnvConfig env_config_from(const std::string& name_or_path) {
  const EnvYaml y = env_yaml_from(name_or_path);
  return parse_env_config(y.text, y.source);
}

}  // namespace metta::engine
