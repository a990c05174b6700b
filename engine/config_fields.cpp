#include "engine/config_fields.h"

#include <cstdio>
#include <cstdlib>

namespace metta::engine {

int shortest_round_trip_digits(double v) {
  char buf[32];
  for (int digits = 1; digits < 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) return digits;
  }
  return 17;
}

std::string shortest_round_trip(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", shortest_round_trip_digits(v), v);
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

std::string integer_in(long lo, long hi) {
  return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

std::string yaml_shown(const YAML::Node& n) {
  if (!n.IsDefined()) return "nothing (the key is missing)";
  if (n.IsNull()) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  return n.IsSequence() ? "a list" : "a mapping";
}

void yaml_error(const std::string& where, const std::string& field, const std::string& shown,
                const std::string& expected) {
  throw ConfigError((where.empty() ? "" : where + ": ") + field + ": got " + shown + ", expected " + expected);
}

std::string unknown_key_expected(const std::string& key, const std::vector<std::string>& known) {
  const std::string hint = closest_key(key, known);
  return "one of the documented keys" + (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)");
}

void FieldReader::finish() const { finish(nullptr, {}); }

void FieldReader::finish(const OtherKeys& other, const std::vector<std::string>& other_known) const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string k = it->first.Scalar();
    if (std::find(keys_.begin(), keys_.end(), k) != keys_.end()) continue;
    if (other && other(k, it->second)) continue;
    std::vector<std::string> known = keys_;
    known.insert(known.end(), other_known.begin(), other_known.end());
    const std::string dotted = join_key(path_, k);
    yaml_error(source_ ? source_(dotted) : "", dotted, "an unknown key", unknown_key_expected(k, known));
  }
}

void FieldReader::fail(const YAML::Node& n, const std::string& key, const std::string& expected) const {
  const std::string dotted = key.empty() ? path_ : join_key(path_, key);
  yaml_error(source_ ? source_(dotted) : "", dotted, yaml_shown(n), expected);
}

}  // namespace metta::engine
