#include "train/config_fields.h"

#include <cstdio>
#include <cstdlib>

namespace metta::train {

std::string shortest_round_trip(double v) {
  char buf[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string number_in(double lo, double hi) {
  std::ostringstream e;
  e << "a number in [" << lo << ", " << hi << "]";
  return e.str();
}

void add_absent_keys(YAML::Node tree, const YAML::Node& defaults) {
  if (!tree.IsMap() || !defaults.IsMap()) return;
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    const std::string key = it->first.Scalar();
    YAML::Node have = tree[key];
    if (!have.IsDefined()) tree[key] = YAML::Clone(it->second);
    else if (have.IsMap() && it->second.IsMap()) add_absent_keys(have, it->second);
  }
}

void FieldReader::finish() const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string k = it->first.Scalar();
    if (std::find(keys_.begin(), keys_.end(), k) != keys_.end()) continue;
    const std::string hint = engine::closest_key(k, keys_);
    const std::string dotted = join_key(path_, k);
    const std::string where = source_ ? source_(dotted) : "";
    throw engine::ConfigError((where.empty() ? "" : where + ": ") + dotted +
                              ": got an unknown key, expected one of the documented keys" +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
}

void FieldReader::fail(const YAML::Node& n, const std::string& key, const std::string& expected) const {
  const std::string dotted = key.empty() ? path_ : join_key(path_, key);
  const std::string shown =
      n.IsDefined() && n.IsScalar() ? "'" + n.Scalar() + "'" : (n.IsDefined() && !n.IsNull() ? "a group" : "nothing");
  const std::string where = source_ ? source_(dotted) : "";
  throw engine::ConfigError((where.empty() ? "" : where + ": ") + dotted + ": got " + shown + ", expected " + expected);
}

}  // namespace metta::train
