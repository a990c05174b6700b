#include "api/config/overrides.h"

#include <functional>
#include <set>

#include "engine/config.h"
#include "engine/config_yaml.h"

namespace metta::config {
namespace {
using engine::ConfigError;

std::vector<std::string> split_path(const std::string& dotted, const std::string& context) {
  std::vector<std::string> parts;
  std::string cur;
  for (char ch : dotted) {
    if (ch == '.') {
      if (cur.empty()) throw ConfigError(context + ": empty key segment in '" + dotted + "'");
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  if (cur.empty()) throw ConfigError(context + ": empty key segment in '" + dotted + "'");
  parts.push_back(cur);
  return parts;
}

std::vector<std::string> keys_of(const YAML::Node& map) {
  std::vector<std::string> keys;
  if (map.IsMap())
    for (auto it = map.begin(); it != map.end(); ++it) keys.push_back(it->first.Scalar());
  return keys;
}

[[noreturn]] void unknown_key(const std::string& context, const std::string& path, const std::string& key,
                              const YAML::Node& parent) {
  const std::string hint = engine::closest_key(key, keys_of(parent));
  throw ConfigError(context + ": " + path + ": got an unknown key" +
                    (hint.empty() ? std::string(", expected an existing key") : ", expected an existing key (did you mean '" + hint + "'?)"));
}

// A top-level comma outside brackets and quotes means a sweep.
bool is_sweep(const std::string& v) {
  int depth = 0;
  char quote = 0;
  for (char ch : v) {
    if (quote) {
      if (ch == quote) quote = 0;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
    } else if (ch == '[' || ch == '{') {
      ++depth;
    } else if (ch == ']' || ch == '}') {
      --depth;
    } else if (ch == ',' && depth == 0) {
      return true;
    }
  }
  return false;
}

YAML::Node parse_value(const std::string& text, const std::string& context) {
  if (text.empty()) return YAML::Node(YAML::NodeType::Null);
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(context + ": value '" + text + "' is not valid YAML (" + e.msg + ")");
  }
}

bool same_value(const YAML::Node& a, const YAML::Node& b) { return YAML::Dump(a) == YAML::Dump(b); }
}  // namespace

YAML::Node find_path(const YAML::Node& root, const std::string& dotted) {
  YAML::Node cur = YAML::Clone(root);
  for (const std::string& k : split_path(dotted, "path")) {
    if (!cur.IsMap() || !cur[k]) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(cur[k]);
  }
  return cur;
}

void apply_override(YAML::Node& root, const std::string& text) {
  const std::string context = "override '" + text + "'";
  std::string body = text;
  enum class Mode { kSet, kAdd, kSetOrAdd, kDelete } mode = Mode::kSet;
  if (body.rfind("++", 0) == 0) {
    mode = Mode::kSetOrAdd;
    body = body.substr(2);
  } else if (body.rfind("+", 0) == 0) {
    mode = Mode::kAdd;
    body = body.substr(1);
  } else if (body.rfind("~", 0) == 0) {
    mode = Mode::kDelete;
    body = body.substr(1);
  }
  const auto eq = body.find('=');
  if (eq == std::string::npos && mode != Mode::kDelete)
    throw ConfigError(context + ": expected key=value (or ~key to delete)");
  const std::string key = body.substr(0, eq);
  const bool has_value = eq != std::string::npos;
  const std::string value_text = has_value ? body.substr(eq + 1) : "";
  if (has_value && is_sweep(value_text))
    throw ConfigError(context + ": got a sweep ('" + value_text + "'), expected one value (sweeps need a multirun)");
  const std::vector<std::string> path = split_path(key, context);
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  // walk to the parent, creating maps only when adding
  YAML::Node parent = root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + path[i];
    YAML::Node next = parent[path[i]];
    if (!next || next.IsNull()) {
      if (mode == Mode::kAdd || mode == Mode::kSetOrAdd) {
        parent[path[i]] = YAML::Node(YAML::NodeType::Map);
        next = parent[path[i]];
      } else {
        unknown_key(context, walked, path[i], parent);
      }
    } else if (!next.IsMap()) {
      throw ConfigError(context + ": " + walked + " is a value, not a group of keys");
    }
    parent.reset(next);
  }
  const std::string& leaf = path.back();
  const bool exists = parent.IsMap() && parent[leaf].IsDefined();
  switch (mode) {
    case Mode::kSet:
      if (!exists) unknown_key(context, key, leaf, parent);
      parent[leaf] = parse_value(value_text, context);
      break;
    case Mode::kAdd:
      if (exists) throw ConfigError(context + ": " + key + " already exists (use " + key + "=... or ++" + key + "=...)");
      parent[leaf] = parse_value(value_text, context);
      break;
    case Mode::kSetOrAdd:
      parent[leaf] = parse_value(value_text, context);
      break;
    case Mode::kDelete:
      if (!exists) unknown_key(context, key, leaf, parent);
      if (has_value && !same_value(parent[leaf], parse_value(value_text, context)))
        throw ConfigError(context + ": " + key + " is '" + YAML::Dump(parent[leaf]) + "', not '" + value_text + "'");
      parent.remove(leaf);
      break;
  }
}

void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) apply_override(root, o);
}

void resolve_interpolations(YAML::Node& root) {
  const YAML::Node snapshot = YAML::Clone(root);
  std::set<std::string> active;
  std::function<YAML::Node(const std::string&)> lookup;
  std::function<void(YAML::Node&, const std::string&)> walk = [&](YAML::Node& n, const std::string& where) {
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        YAML::Node child = it->second;
        walk(child, where.empty() ? it->first.Scalar() : where + "." + it->first.Scalar());
      }
    } else if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        YAML::Node child = n[i];
        walk(child, where + "[" + std::to_string(i) + "]");
      }
    } else if (n.IsScalar()) {
      const std::string s = n.Scalar();
      if (s.find("${") == std::string::npos) return;
      if (s.rfind("${", 0) == 0 && s.find('}') == s.size() - 1 && s.find("${", 2) == std::string::npos) {
        n = YAML::Clone(lookup(s.substr(2, s.size() - 3)));  // the whole value: keep the referenced type
        walk(n, where);
        return;
      }
      std::string out;
      std::size_t pos = 0;
      while (true) {
        const auto b = s.find("${", pos);
        if (b == std::string::npos) break;
        const auto e = s.find('}', b);
        if (e == std::string::npos) throw ConfigError(where + ": unterminated interpolation in '" + s + "'");
        out += s.substr(pos, b - pos);
        YAML::Node v = lookup(s.substr(b + 2, e - b - 2));
        walk(v, where);
        if (!v.IsScalar()) throw ConfigError(where + ": '" + s + "' interpolates a group into a string");
        out += v.Scalar();
        pos = e + 1;
      }
      out += s.substr(pos);
      n = out;
    }
  };
  lookup = [&](const std::string& ref) -> YAML::Node {
    if (active.count(ref)) throw ConfigError("interpolation ${" + ref + "} refers to itself (a cycle)");
    YAML::Node v = find_path(snapshot, ref);
    if (!v.IsDefined()) throw ConfigError("interpolation ${" + ref + "}: no such key");
    active.insert(ref);
    YAML::Node copy = YAML::Clone(v);
    walk(copy, ref);
    active.erase(ref);
    return copy;
  };
  walk(root, "");
}

void check_mandatory(const YAML::Node& root, const std::string& source) {
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& where) {
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it)
        walk(it->second, where.empty() ? it->first.Scalar() : where + "." + it->first.Scalar());
    } else if (n.IsScalar() && n.Scalar() == "???") {
      throw ConfigError(source + ": " + where + ": got ???, expected a value (set it with " + where + "=...)");
    }
  };
  walk(root, "");
}

}  // namespace metta::config
