// YAML loading of the environment config (the `game:` schema of mid-2025 MettaGrid). Errors are
// ConfigErrors of the form every config file uses (engine/config_fields.h: yaml_error),
// "<file>:<line>: <field>: got <value>, expected <what>" (the rules checked
// when the config is compiled too: the file is validated as it is read); an unknown key names the
// closest valid one.
#pragma once

#include <functional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "engine/config.h"

namespace metta::engine {

EnvConfig parse_env_config(const std::string& yaml_text, const std::string& source_name = "<string>");
EnvConfig load_env_config_file(const std::string& path);
// The embedded default environment (configs/env/mettagrid/simple.yaml, compiled into the library).
EnvConfig default_env_config();
// An embedded env by name: "simple", "hearts_room" or "hearts_solo" (configs/env/mettagrid/<name>.yaml).
EnvConfig embedded_env_config(const std::string& name);
// An embedded name, the curriculum path "/env/mettagrid/simple", or a YAML file path.
EnvConfig env_config_from(const std::string& name_or_path);
// The YAML text behind env_config_from's argument, and the name errors give it.
// `path` as written in a file that lives in `dir`: dir/path when that exists, else path as given (read
// from the working directory); absolute paths, embedded names and an empty dir leave it as it is.
std::string path_beside(const std::string& path, const std::string& dir);
struct EnvYaml {
  std::string text, source;
};
EnvYaml env_yaml_from(const std::string& name_or_path);
// The prefix errors give a dotted key of a YAML file: "<source>:<line of the key>", or "<source>" when
// the key is not in the file.
std::function<std::string(const std::string& dotted)> yaml_key_source(const YAML::Node& root,
                                                                      const std::string& source);
// Parses YAML text (every config file goes through here): ConfigError "<source>:<line>: invalid YAML:
// <why>", or "<source>:<line>: nested deeper than 2000 levels".
YAML::Node load_yaml(const std::string& text, const std::string& source);
// The closest of `candidates` to `key` by edit distance, or "" when none is reasonably close.
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace metta::engine
