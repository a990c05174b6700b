// Config tables: each config struct lists its fields once, in a function
//   template <class V> void visit_fields(S& s, V& v) { v(field("key", s.member).range(...)); ... }
// and every direction runs over that one list: reading YAML (FieldReader: types, null, unknown keys with
// the closest valid one), validation (FieldValidator: ranges and choices, errors naming the dotted field,
// the value and what was expected), writing the resolved config (FieldWriter) and the keys a resumed run
// may change (ResumeSafeKeys). A nested struct is v.group("key", s.member), a list of structs
// v.list("key", s.member); a key whose shape no row fits (maps keyed by item names, a map builder chosen
// by its _target_) is v.by_code("key"): listed, so the reader knows it, and read by the caller. Rules
// across fields stay code in the struct's validate(), after the table's checks. The error format is the
// one of every config file, env or trainer (yaml_error below).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/config.h"
#include "engine/config_yaml.h"

namespace metta::engine {

// ---- the one error format of every config file: "<where>: <field>: got <value>, expected <what>"
// (where = "file:line", "command line" or nothing).

// A node as errors show it: 'text' for a scalar, "nothing" (null), "nothing (the key is missing)", "a list"
// or "a mapping".
std::string yaml_shown(const YAML::Node& n);
[[noreturn]] void yaml_error(const std::string& where, const std::string& field, const std::string& shown,
                             const std::string& expected);
// The "expected" part for an unknown key: the documented keys, and the closest of `known`.
std::string unknown_key_expected(const std::string& key, const std::vector<std::string>& known);

template <class T>
struct is_count_map : std::false_type {};
template <>
struct is_count_map<std::map<std::string, int>> : std::true_type {};

template <class T>
struct is_int_list : std::false_type {};
template <>
struct is_int_list<std::vector<long>> : std::true_type {};

template <class T>
std::string yaml_type_name() {
  if constexpr (is_count_map<T>::value) return "a mapping of names to integers";
  if constexpr (is_int_list<T>::value) return "a list of integers";
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_integral_v<T>) return "an integer";
  if constexpr (std::is_floating_point_v<T>) return "a number";
  return "a string";
}
// A scalar node as T; false when it is not one (a mapping, a list, null, or text that is not a T).
template <class T>
bool yaml_scalar(const YAML::Node& n, T& out) {
  if constexpr (is_count_map<T>::value || is_int_list<T>::value) {
    return false;  // FieldReader reads these item by item
  } else {
    if (!n.IsDefined() || !n.IsScalar()) return false;
    try {
      out = n.as<T>();
      return true;
    } catch (const YAML::Exception&) {
      return false;
    }
  }
}

// One row of a config table: the key, the member it sets, and the rule its values follow.
template <class T>
struct Field {
  Field(const char* k, T& v) : key(k), value(v) {}
  const char* key;
  T& value;
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // strings: the allowed values (empty: any string)
  bool non_empty = false;            // strings: "" refused
  std::string expected;              // the rule in words, for errors
  bool nullable = false;             // YAML null is accepted and reads as null_value
  T null_value{};
  bool in_yaml = true;               // false: set by the API or from another key, never read or written
  bool safe_on_resume = false;       // a resumed run may change it: it does not alter what is trained
  bool must_be_given = false;        // the key must be present (no default)

  Field&& range(double low, double high, std::string words) && {
    lo = low, hi = high, expected = std::move(words);
    return std::move(*this);
  }
  Field&& one_of(std::vector<std::string> allowed) && {
    choices = std::move(allowed);
    expected.clear();
    for (std::size_t i = 0; i < choices.size(); ++i)
      expected += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("'" + choices[i] + "'");
    return std::move(*this);
  }
  Field&& required(std::string words) && {
    non_empty = true, expected = std::move(words);
    return std::move(*this);
  }
  Field&& null_reads_as(T v) && {
    nullable = true, null_value = std::move(v);
    return std::move(*this);
  }
  Field&& api_only() && {
    in_yaml = false;
    return std::move(*this);
  }
  Field&& resume_safe() && {
    safe_on_resume = true;
    return std::move(*this);
  }
  Field&& given() && {
    must_be_given = true;
    return std::move(*this);
  }
};

template <class T>
Field<T> field(const char* key, T& value) {
  return Field<T>(key, value);
}

// The shortest decimal that reads back as exactly v (at most 17 significant digits), and how many
// significant digits that takes.
std::string shortest_round_trip(double v);
int shortest_round_trip_digits(double v);

// "a number in [lo, hi]" and "an integer in [lo, hi]" as validation errors word them.
std::string number_in(double lo, double hi);
std::string integer_in(long lo, long hi);

// A value as errors show it: 'text' for strings, true/false, numbers as printed by a stream.
template <class T>
std::string shown_value(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return "'" + v + "'";
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else {
    std::ostringstream os;
    os << v;
    return os.str();
  }
}

inline std::string join_key(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Checks every field's rule; the first violation throws ConfigError "<path.key>: got <value>,
// expected <rule>".
class FieldValidator {
 public:
  explicit FieldValidator(std::string path) : path_(std::move(path)) {}
  template <class T>
  void operator()(const Field<T>& f) const {
    const std::string dotted = join_key(path_, f.key);
    if constexpr (is_count_map<T>::value) {
      return;  // counts are checked where the names they key are known (compile_env)
    } else if constexpr (is_int_list<T>::value) {
      if (f.non_empty && f.value.empty()) config_fail(dotted, "an empty list", f.expected);
      for (long x : f.value)
        if (!(static_cast<double>(x) >= f.lo && static_cast<double>(x) <= f.hi))
          config_fail(dotted, std::to_string(x), f.expected);
    } else if constexpr (std::is_same_v<T, std::string>) {
      const bool listed = f.choices.empty() || std::find(f.choices.begin(), f.choices.end(), f.value) != f.choices.end();
      if (!listed || (f.non_empty && f.value.empty())) config_fail(dotted, shown_value(f.value), f.expected);
    } else {
      const double v = static_cast<double>(f.value);
      if (!(v >= f.lo && v <= f.hi)) config_fail(dotted, shown_value(f.value), f.expected);
    }
  }
  void by_code(const char*) const {}
  template <class S>
  void group(const char* key, S& s) const {
    FieldValidator sub(join_key(path_, key));
    visit_fields(s, sub);
  }
  template <class S>
  void list(const char* key, std::vector<S>& items) const {
    for (std::size_t i = 0; i < items.size(); ++i) {
      FieldValidator sub(join_key(path_, key) + "[" + std::to_string(i) + "]");
      visit_fields(items[i], sub);
    }
  }

 private:
  std::string path_;
};

template <class S>
void validate_fields(const S& s, const std::string& path) {
  FieldValidator v(path);
  visit_fields(const_cast<S&>(s), v);  // reads only
}

// Where a dotted key was set, as an error prefix ("configs/x.yaml:12" or "command line"); "" = unknown.
using KeySource = std::function<std::string(const std::string& dotted)>;

// Reads a YAML mapping into a struct through its table: a key that is absent keeps the struct's value (its
// one default), null is accepted where the row allows it, and a key the table does not list is an error
// naming the closest listed one. Errors: "<source>: <path.key>: got <value>, expected <what>".
class FieldReader {
 public:
  FieldReader(const YAML::Node& node, std::string path, KeySource source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {
    if (!node_.IsMap()) fail(node_, "", "a mapping of its keys (" + path_ + ".<key>=value sets one)");
  }
  template <class T>
  void operator()(const Field<T>& f) {
    if (!f.in_yaml) return;
    keys_.push_back(f.key);
    const YAML::Node v = node_[f.key];
    if (!v.IsDefined()) {
      if (f.must_be_given) fail(v, f.key, yaml_type_name<T>());
      return;
    }
    if (v.IsNull() && f.nullable) {
      f.value = f.null_value;
      return;
    }
    if constexpr (is_count_map<T>::value) {
      f.value.clear();
      if (v.IsNull()) return;
      if (!v.IsMap()) fail(v, f.key, yaml_type_name<T>());
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string name = it->first.Scalar();
        long n = 0;
        if (!yaml_scalar(it->second, n) || n < -(1l << 31) || n >= (1l << 31))
          fail(it->second, std::string(f.key) + "." + name, "a 32-bit integer");
        f.value[name] = static_cast<int>(n);
      }
    } else if constexpr (is_int_list<T>::value) {
      if (!v.IsSequence()) fail(v, f.key, yaml_type_name<T>());
      f.value.clear();
      for (std::size_t i = 0; i < v.size(); ++i) {
        long x = 0;
        if (!yaml_scalar(v[i], x)) fail(v[i], std::string(f.key) + "[" + std::to_string(i) + "]", "an integer");
        f.value.push_back(x);
      }
    } else if (!yaml_scalar(v, f.value)) {
      fail(v, f.key, (f.nullable ? "null or " : "") + yaml_type_name<T>());
    }
  }
  // A key the caller reads: listed, so that finish() knows it.
  void by_code(const char* key) { keys_.push_back(key); }
  template <class S>
  void group(const char* key, S& s) {
    keys_.push_back(key);
    const YAML::Node v = node_[key];
    if (!v.IsDefined()) return;
    FieldReader sub(v, join_key(path_, key), source_);
    visit_fields(s, sub);
    sub.finish();
  }
  template <class S>
  void list(const char* key, std::vector<S>& items) {
    keys_.push_back(key);
    const YAML::Node v = node_[key];
    if (!v.IsDefined()) return;
    items.clear();
    if (v.IsNull()) return;
    if (!v.IsSequence()) fail(v, key, "null or a list of mappings");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item = std::string(key) + "[" + std::to_string(i) + "]";
      if (!v[i].IsMap()) fail(v[i], item, "a mapping of its keys");
      FieldReader sub(v[i], join_key(path_, item), source_);
      S s{};
      visit_fields(s, sub);
      sub.finish();
      items.push_back(std::move(s));
    }
  }
  // After the table: keys it does not list are errors.
  void finish() const;
  // Keys the table does not list but `other` takes (keys named after inventory items, say): it returns
  // false for a key it does not take either, which is then an error; `other_known` are keys it would
  // take, for the closest-key hint.
  using OtherKeys = std::function<bool(const std::string& key, const YAML::Node& value)>;
  void finish(const OtherKeys& other, const std::vector<std::string>& other_known) const;

 private:
  [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& expected) const;
  YAML::Node node_;
  std::string path_;
  KeySource source_;
  std::vector<std::string> keys_;
};

template <class S>
void read_fields(const YAML::Node& node, const std::string& path, const KeySource& source, S& s) {
  FieldReader r(node, path, source);
  visit_fields(s, r);
  r.finish();
}
template <class S>
void read_fields(const YAML::Node& node, const std::string& path, const KeySource& source, S& s,
                 const FieldReader::OtherKeys& other, const std::vector<std::string>& other_known) {
  FieldReader r(node, path, source);
  visit_fields(s, r);
  r.finish(other, other_known);
}

// Writes every field into a YAML mapping (the resolved config).
class FieldWriter {
 public:
  explicit FieldWriter(YAML::Node& node) : node_(node) {}
  template <class T>
  void operator()(const Field<T>& f) {
    if (!f.in_yaml) return;
    if constexpr (std::is_floating_point_v<T>) {
      node_[f.key] = shortest_round_trip(static_cast<double>(f.value));  // 0.977, not 0.97699999999999998
    } else {
      node_[f.key] = f.value;
    }
  }
  void by_code(const char*) {}  // the caller writes it
  template <class S>
  void group(const char* key, S& s) {
    YAML::Node sub(YAML::NodeType::Map);
    FieldWriter w(sub);
    visit_fields(s, w);
    node_[key] = sub;
  }
  template <class S>
  void list(const char* key, std::vector<S>& items) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (S& item : items) {
      YAML::Node sub(YAML::NodeType::Map);
      FieldWriter w(sub);
      visit_fields(item, w);
      seq.push_back(sub);
    }
    node_[key] = items.empty() ? YAML::Node(YAML::NodeType::Null) : seq;
  }

 private:
  YAML::Node& node_;
};

template <class S>
YAML::Node write_fields(const S& s) {
  YAML::Node node(YAML::NodeType::Map);
  FieldWriter w(node);
  visit_fields(const_cast<S&>(s), w);  // reads only
  return node;
}

// Adds to `tree` every key of `defaults` it lacks (recursing into mappings both have), so that a tree read
// from YAML files that leave some keys out still has every key of the tables (command-line overrides
// name only existing keys).
void add_absent_keys(YAML::Node tree, const YAML::Node& defaults);

// The dotted keys of the fields marked resume_safe().
class ResumeSafeKeys {
 public:
  explicit ResumeSafeKeys(std::string path, std::vector<std::string>& out) : path_(std::move(path)), out_(out) {}
  template <class T>
  void operator()(const Field<T>& f) {
    if (f.safe_on_resume && f.in_yaml) out_.push_back(join_key(path_, f.key));
  }
  void by_code(const char*) {}
  template <class S>
  void group(const char* key, S& s) {
    ResumeSafeKeys sub(join_key(path_, key), out_);
    visit_fields(s, sub);
  }
  template <class S>
  void list(const char*, std::vector<S>&) {}  // lists hold training settings

 private:
  std::string path_;
  std::vector<std::string>& out_;
};

template <class S>
std::vector<std::string> resume_safe_keys_of(const S& s) {
  std::vector<std::string> keys;
  ResumeSafeKeys v("", keys);
  visit_fields(const_cast<S&>(s), v);  // reads only
  return keys;
}

}  // namespace metta::engine
