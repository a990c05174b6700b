// Hydra-style configuration on a YAML tree (formats.md §4): command-line overrides `a.b=v` (set an
// existing key), `+a.b=v` (add a new key), `++a.b=v` (set or add), `~a.b` / `~a.b=v` (delete), with
// YAML-typed values; `${a.b}` interpolation resolved against the final tree; `???` marks a mandatory
// value. Errors are ConfigErrors naming the override or key, the value and what was expected, with the
// closest existing key for a typo. Sweeps (`a=x,y`) are rejected: this is a single-run tool.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace metta::config {

// Applies one override in place.
void apply_override(YAML::Node& root, const std::string& override_text);
void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides);
// Replaces every ${a.b} (whole value, or inside a string) by the referenced value; throws on unknown
// keys and cycles. Leaves `???` in place (check_mandatory reports them).
void resolve_interpolations(YAML::Node& root);
// Throws naming the first key whose value is still `???`.
void check_mandatory(const YAML::Node& root, const std::string& source);
// The node at a dotted path, or an undefined node.
YAML::Node find_path(const YAML::Node& root, const std::string& dotted);

}  // namespace metta::config
