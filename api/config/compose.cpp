#include "api/config/compose.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "engine/config.h"
#include "engine/config_yaml.h"
#include "api/config/embedded_job_configs.h"

namespace metta::config {
namespace {
using engine::ConfigError;
namespace fs = std::filesystem;

struct LoadedFile {
  std::string text, name;
};

bool valid_name(const std::string& s) {
  return !s.empty() && s.find("..") == std::string::npos && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos;
}

const char* embedded_text(const std::string& rel) {
  for (const auto& e : kEmbeddedJobConfigs)
    if (rel == e.path) return e.text;
  for (const auto& e : engine::kEmbeddedEnvConfigs)
    if (rel == e.path) return e.text;
  return nullptr;
}

LoadedFile load_option(const std::string& group, const std::string& option, const std::string& search_dir,
                       const std::string& context) {
  if (!valid_name(group) || !valid_name(option))
    throw ConfigError(context + ": '" + group + "=" + option + "' is not a group and option name");
  const std::string rel = group + "/" + option + ".yaml";
  if (!search_dir.empty()) {
    const fs::path p = fs::path(search_dir) / rel;
    if (fs::exists(p)) {
      std::ifstream in(p);
      if (!in) throw ConfigError(p.string() + ": cannot open the config file");
      std::stringstream ss;
      ss << in.rdbuf();
      return {ss.str(), p.string()};
    }
  }
  if (const char* t = embedded_text(rel)) return {t, "configs/" + rel + " (embedded)"};
  const std::vector<std::string> options = group_options(group, search_dir);
  std::string list;
  for (const auto& o : options) list += (list.empty() ? "" : ", ") + o;
  const std::string hint = engine::closest_key(option, options);
  throw ConfigError(context + ": " + group + ": got '" + option + "', expected one of the group's options (" +
                    (list.empty() ? std::string("none found") : list) + ")" +
                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

YAML::Node parse(const LoadedFile& f) {
  YAML::Node n = engine::load_yaml(f.text, f.name);
  if (n.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!n.IsMap()) throw ConfigError(f.name + ": expected a mapping at the top of the file");
  return n;
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

// "file:line" of a key node (the line is lost for keys added by a wrapping map).
std::string at_line(const std::string& source, const YAML::Node& key) {
  const int line = key.Mark().line;
  return line >= 0 ? source + ":" + std::to_string(line + 1) : source;
}

// Deep merge of `src` into `dst` (maps merge key by key; anything else replaces), recording sources.
void merge(YAML::Node dst, const YAML::Node& src, const std::string& path, const std::string& source,
           std::map<std::string, std::string>& sources) {
  for (auto it = src.begin(); it != src.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string p = join(path, key);
    sources[p] = at_line(source, it->first);
    YAML::Node existing = dst[key];
    if (it->second.IsMap() && existing.IsDefined() && existing.IsMap()) {
      merge(existing, it->second, p, source, sources);
    } else {
      // drop stale sources below a replaced key
      for (auto s = sources.lower_bound(p + "."); s != sources.end() && s->first.rfind(p + ".", 0) == 0;)
        s = sources.erase(s);
      dst[key] = it->second;
      std::function<void(const YAML::Node&, const std::string&)> mark = [&](const YAML::Node& n, const std::string& q) {
        if (!n.IsMap()) return;
        for (auto c = n.begin(); c != n.end(); ++c) {
          sources[join(q, c->first.Scalar())] = at_line(source, c->first);
          mark(c->second, join(q, c->first.Scalar()));
        }
      };
      mark(it->second, p);
    }
  }
}

struct Composer {
  std::string search_dir;
  std::map<std::string, std::string> selections;  // group -> option from the command line
  std::map<std::string, std::string>* sources;
  int depth = 0;

  YAML::Node place(const YAML::Node& node, const std::string& package) {
    if (package.empty()) return node;
    YAML::Node wrapped(YAML::NodeType::Map);
    wrapped[package] = node;
    return wrapped;
  }

  // Composes the parsed file `node`, named `name` (to be placed under `package`; its group is `group` or
  // "" for the main file), into `out`.
  void compose(YAML::Node node, const std::string& name, const std::string& group, const std::string& package,
               YAML::Node out) {
    if (++depth > 16) throw ConfigError(name + ": defaults lists nest more than 16 deep (a cycle?)");
    YAML::Node defaults = node["defaults"];
    if (defaults.IsDefined()) node.remove("defaults");
    bool self_done = false;
    auto merge_self = [&] {
      self_done = true;
      merge(out, place(node, package), "", name, *sources);
    };
    if (defaults.IsDefined() && !defaults.IsNull()) {
      if (!defaults.IsSequence())
        throw ConfigError(name + ":" + std::to_string(defaults.Mark().line + 1) +
                          ": defaults: got a " + (defaults.IsMap() ? "mapping" : "value") + ", expected a list");
      for (const YAML::Node& entry : defaults) {
        const std::string at = name + ":" + std::to_string(entry.Mark().line + 1);
        if (entry.IsScalar()) {
          const std::string option = entry.Scalar();
          if (option == "_self_") {
            merge_self();
          } else if (!group.empty()) {
            compose_file(load_option(group, option, search_dir, at), group, package, out);  // a sibling option
          } else {
            throw ConfigError(at + ": defaults: got '" + option + "', expected '_self_' or 'group: option'");
          }
        } else if (entry.IsMap() && entry.size() == 1) {
          const std::string g = entry.begin()->first.Scalar();
          std::string option = entry.begin()->second.Scalar();
          if (auto it = selections.find(g); it != selections.end()) option = it->second;
          compose_file(load_option(g, option, search_dir, at), g, join(package, g), out);
        } else {
          throw ConfigError(at + ": defaults: expected '_self_', 'option' or 'group: option' entries");
        }
      }
    }
    if (!self_done) merge_self();
    --depth;
  }

  void compose_file(const LoadedFile& f, const std::string& group, const std::string& package, YAML::Node out) {
    compose(parse(f), f.name, group, package, out);
  }
};

bool is_group_selection(const std::string& o, std::string& group, std::string& option) {
  if (o.empty() || o[0] == '+' || o[0] == '~') return false;
  const auto eq = o.find('=');
  if (eq == std::string::npos) return false;
  group = o.substr(0, eq);
  option = o.substr(eq + 1);
  return group.find('.') == std::string::npos;
}
}  // namespace

std::string ComposedConfig::source_of(const std::string& dotted, const std::string& fallback) const {
  std::string p = dotted;
  while (!p.empty()) {
    if (auto it = sources.find(p); it != sources.end()) return it->second;
    if (p.back() == ']' && p.rfind('[') != std::string::npos) {  // a list item: where its list came from
      p = p.substr(0, p.rfind('['));
      continue;
    }
    const auto dot = p.rfind('.');
    if (dot == std::string::npos) break;
    p = p.substr(0, dot);
  }
  return fallback;
}

std::vector<std::string> group_options(const std::string& group, const std::string& search_dir) {
  std::vector<std::string> out;
  if (!search_dir.empty() && fs::is_directory(fs::path(search_dir) / group))
    for (const auto& e : fs::directory_iterator(fs::path(search_dir) / group))
      if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  const std::string prefix = group + "/";
  std::vector<engine::EmbeddedConfig> embedded(std::begin(kEmbeddedJobConfigs), std::end(kEmbeddedJobConfigs));
  embedded.insert(embedded.end(), std::begin(engine::kEmbeddedEnvConfigs), std::end(engine::kEmbeddedEnvConfigs));
  for (const auto& e : embedded) {
    const std::string p = e.path;
    if (p.rfind(prefix, 0) == 0 && p.find('/', prefix.size()) == std::string::npos && p.size() > prefix.size() + 5)
      out.push_back(p.substr(prefix.size(), p.size() - prefix.size() - 5));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ComposedConfig compose_config(const std::string& text, const std::string& source, const std::string& search_dir,
                              std::vector<std::string>& overrides) {
  ComposedConfig out;
  out.root = YAML::Node(YAML::NodeType::Map);
  // Which groups does the main file's defaults list name? Their `group=option` overrides select options.
  std::vector<std::string> groups;
  const YAML::Node top = parse({text, source});
  if (const YAML::Node d = top["defaults"]; d.IsDefined() && d.IsSequence())
    for (const YAML::Node& e : d)
      if (e.IsMap() && e.size() == 1) groups.push_back(e.begin()->first.Scalar());
  Composer c;
  c.search_dir = search_dir;
  c.sources = &out.sources;
  std::vector<std::string> rest;
  for (const std::string& o : overrides) {
    std::string g, option;
    if (is_group_selection(o, g, option) && std::find(groups.begin(), groups.end(), g) != groups.end())
      c.selections[g] = option;
    else
      rest.push_back(o);
  }
  overrides = rest;
  c.compose(top, source, "", "", out.root);
  return out;
}

}  // namespace metta::config
