// Hydra-style composition of a config from a defaults list (formats.md §4). A config file may start
// with `defaults:`, a list whose entries are merged in order: `group: option` loads
// <group>/<option>.yaml under the key `group`; in a group's own file a bare `option` loads a sibling of
// the same group at the same place; `_self_` is the file's own keys (last when not listed). Group files
// are looked up beside the main config file first, then among the compiled-in configs/. A command-line
// `group=option` for a group of the defaults list selects that option (and is taken out of the
// overrides). The composition remembers which file each key came from, so errors can name it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace metta::config {

struct ComposedConfig {
  YAML::Node root;
  // dotted key -> "file:line" of the file that set it last (or "command line"); a key not listed
  // inherits its parent's.
  std::map<std::string, std::string> sources;
  // Where a dotted key came from (the longest known prefix), or `fallback`.
  std::string source_of(const std::string& dotted, const std::string& fallback) const;
};

// `text` is the main config (named `source` in errors); `search_dir` is where its groups live ("" = only
// the compiled-in configs). Group selections are removed from `overrides`.
ComposedConfig compose_config(const std::string& text, const std::string& source, const std::string& search_dir,
                              std::vector<std::string>& overrides);

// The options a group offers (file names without .yaml), beside search_dir and compiled in.
std::vector<std::string> group_options(const std::string& group, const std::string& search_dir);

}  // namespace metta::config
