#include "train/curriculum/curriculum_yaml.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "engine/config_fields.h"
#include "engine/config_yaml.h"
#include "kernels/common.h"

namespace metta::train::curriculum {
namespace {

namespace fs = std::filesystem;
using engine::ConfigError;

constexpr int kMaxDepth = 16;            // curricula within curricula (a file that names itself stops here)
constexpr std::size_t kMaxTasks = 65536;  // the device's probability vector

enum class Kind { kRandom, kLearningProgress, kBucketed };

struct Source {
  YAML::Node root;
  std::string text, name, dir;  // dir: where its relative paths are read first
};

Source open(const std::string& path) {
  const engine::EnvYaml y = engine::env_yaml_from(path);
  Source s;
  s.text = y.text;
  s.name = y.source;
  s.root = engine::load_yaml(y.text, y.source);
  const fs::path p(path);
  s.dir = fs::exists(p) ? p.parent_path().string() : "";
  return s;
}

bool names_a_curriculum(const YAML::Node& root) { return root.IsMap() && root["_target_"].IsDefined(); }

class Builder {
 public:
  explicit Builder(std::uint64_t seed) : seed_(seed) {}

  std::unique_ptr<Node> build(const std::string& path, const std::string& key, int depth) {
    if (depth > kMaxDepth)
      throw ConfigError("curriculum '" + path + "': nested deeper than " + std::to_string(kMaxDepth) +
                        " levels (does a curriculum name itself?)");
    const Source src = open(path);
    if (!names_a_curriculum(src.root)) return leaf(key, engine::parse_env_config(src.text, src.name), {}, "");
    std::error_code ec;
    const std::string canonical = fs::weakly_canonical(path, ec).string();
    for (const std::string& open_path : open_)
      if (open_path == canonical)
        throw ConfigError("curriculum '" + path + "' names itself (through its tasks): a curriculum is a tree");
    open_.push_back(canonical);
    std::unique_ptr<Node> node = curriculum(src, key, depth);
    open_.pop_back();
    return node;
  }

  std::unique_ptr<Node> curriculum(const Source& src, const std::string& key, int depth) {
    const auto ks = engine::yaml_key_source(src.root, src.name);
    const YAML::Node target = src.root["_target_"];
    std::string t;
    if (!engine::yaml_scalar(target, t)) engine::yaml_error(ks("_target_"), "_target_", engine::yaml_shown(target), "a curriculum name");
    Kind kind;
    if (t == "random" || t == "metta.mettagrid.curriculum.random.RandomCurriculum") kind = Kind::kRandom;
    else if (t == "learning_progress" || t == "metta.mettagrid.curriculum.learning_progress.LearningProgressCurriculum")
      kind = Kind::kLearningProgress;
    else if (t == "bucketed" || t == "metta.mettagrid.curriculum.bucketed.BucketedCurriculum") kind = Kind::kBucketed;
    else
      engine::yaml_error(ks("_target_"), "_target_", "'" + t + "'",
                         "random, learning_progress or bucketed (or metta.mettagrid.curriculum.random.RandomCurriculum, "
                         "....learning_progress.LearningProgressCurriculum, ....bucketed.BucketedCurriculum)");
    std::vector<std::string> own = {"_target_"};
    if (kind == Kind::kBucketed) own.insert(own.end(), {"env_cfg_template", "buckets", "default_bins"});
    else own.push_back("tasks");
    LearningProgressConfig lp;
    const auto takes_own = [&](const std::string& k, const YAML::Node&) {
      return std::find(own.begin(), own.end(), k) != own.end();
    };
    if (kind == Kind::kRandom) {
      engine::FieldReader r(src.root, "", ks);
      r.finish(takes_own, own);
    } else {
      engine::read_fields(src.root, "", ks, lp, takes_own, own);
      engine::validate_fields(lp, "");
    }
    auto node = std::make_unique<Node>();
    node->key = key;
    node->kind = kind == Kind::kRandom ? Node::Kind::kRandom : Node::Kind::kLearningProgress;
    if (kind == Kind::kBucketed) buckets(src, ks, *node, depth);
    else children(src, ks, *node, depth);
    if (node->kind == Node::Kind::kLearningProgress)
      node->lp = std::make_unique<LearningProgress>(static_cast<int>(node->children.size()), lp, next_seed());
    return node;
  }

  std::vector<Task> take_tasks() { return std::move(tasks_); }

 private:
  std::uint64_t next_seed() {
    // splitmix64 of (seed, node count): independent streams per learning-progress node
    std::uint64_t z = seed_ + 0x9E3779B97F4A7C15ull * (++nodes_);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::unique_ptr<Node> leaf(const std::string& key, engine::EnvConfig cfg, std::vector<RangeValue> ranges,
                             std::string yaml_text) {
    if (tasks_.size() >= kMaxTasks)
      throw ConfigError("curriculum: more than " + std::to_string(kMaxTasks) + " tasks");
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::kTask;
    n->key = key;
    n->task = tasks_.size();
    n->ranges = std::move(ranges);
    n->yaml_text = std::move(yaml_text);
    tasks_.push_back({key, std::move(cfg)});
    return n;
  }

  void children(const Source& src, const engine::KeySource& ks, Node& node, int depth) {
    const YAML::Node tasks = src.root["tasks"];
    if (!tasks.IsMap() || tasks.size() == 0)
      engine::yaml_error(ks("tasks"), "tasks", engine::yaml_shown(tasks), "a mapping of task path to weight");
    double total = 0;
    for (auto it = tasks.begin(); it != tasks.end(); ++it) {
      const std::string path = it->first.Scalar();
      // a path has dots, so its line comes from its key's mark, not from a dotted lookup
      const std::string where = src.name + ":" + std::to_string(it->first.Mark().line + 1);
      double w = 0;
      if (!engine::yaml_scalar(it->second, w) || !(w >= 0) || !std::isfinite(w))
        engine::yaml_error(where, "tasks." + path, engine::yaml_shown(it->second), "a weight >= 0");
      total += w;
      try {
        node.children.push_back(build(engine::path_beside(path, src.dir), path, depth + 1));
      } catch (const ConfigError& e) {
        throw ConfigError(where + ": tasks." + path + ": " + e.what());
      }
      node.weights.push_back(w);
    }
    if (!(total > 0)) engine::yaml_error(ks("tasks"), "tasks", "weights that sum to 0", "at least one weight > 0");
  }

  // One value of a bucket: its YAML node, its text in the task id, or a range bin.
  struct BucketValue {
    YAML::Node value;  // null for a range bin
    std::string id_text;
    RangeValue range;
  };

  void buckets(const Source& src, const engine::KeySource& ks, Node& node, int depth) {
    (void)depth;
    const YAML::Node tpl = src.root["env_cfg_template"];
    std::string tpl_path;
    if (!engine::yaml_scalar(tpl, tpl_path) || tpl_path.empty())
      engine::yaml_error(ks("env_cfg_template"), "env_cfg_template", engine::yaml_shown(tpl), "the path of an env config");
    long default_bins = 1;
    if (src.root["default_bins"].IsDefined() &&
        (!engine::yaml_scalar(src.root["default_bins"], default_bins) || default_bins < 1 || default_bins > 4096))
      engine::yaml_error(ks("default_bins"), "default_bins", engine::yaml_shown(src.root["default_bins"]),
                         engine::integer_in(1, 4096));
    Source base;
    try {
      base = open(engine::path_beside(tpl_path, src.dir));
    } catch (const ConfigError& e) {
      throw ConfigError(ks("env_cfg_template") + ": env_cfg_template: " + e.what());
    }
    const YAML::Node spec = src.root["buckets"];
    if (!spec.IsMap() || spec.size() == 0)
      engine::yaml_error(ks("buckets"), "buckets", engine::yaml_shown(spec), "a mapping of env key to {values} or {range, bins}");
    std::vector<std::string> keys;
    std::vector<std::vector<BucketValue>> values;
    for (auto it = spec.begin(); it != spec.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string f = "buckets." + key;
      keys.push_back(key);
      values.push_back(bucket_values(it->second, f, ks, default_bins));
    }
    // the Cartesian product, the last key varying fastest
    std::vector<std::size_t> at(keys.size(), 0);
    for (;;) {
      YAML::Node cfg = YAML::Clone(base.root);
      std::string id;
      std::vector<RangeValue> ranges;
      for (std::size_t k = 0; k < keys.size(); ++k) {
        const BucketValue& v = values[k][at[k]];
        id += bucket_id_part(keys[k], v.id_text);
        if (v.value.IsDefined() && !v.value.IsNull()) set_dotted(cfg, keys[k], v.value);
        else ranges.push_back(v.range);
      }
      std::ostringstream fixed;
      fixed << cfg;
      // the task's representative config: its range values at the bins' lower ends
      YAML::Node first = YAML::Clone(cfg);
      for (const RangeValue& r : ranges)
        set_dotted(first, r.key, r.integer ? YAML::Node(static_cast<long>(std::floor(r.lo))) : YAML::Node(r.lo));
      std::ostringstream first_text;
      first_text << first;
      engine::EnvConfig env;
      try {
        env = engine::parse_env_config(first_text.str(), base.name + " [" + id + "]");
      } catch (const ConfigError& e) {
        throw ConfigError(ks("buckets") + ": bucketed task '" + id + "': " + e.what());
      }
      std::string yaml_text = ranges.empty() ? "" : fixed.str();
      node.children.push_back(leaf(id, std::move(env), std::move(ranges), std::move(yaml_text)));
      node.weights.push_back(1.0);
      std::size_t k = keys.size();
      while (k > 0 && ++at[k - 1] == values[k - 1].size()) at[--k] = 0;
      if (k == 0) break;
    }
  }

  std::vector<BucketValue> bucket_values(const YAML::Node& b, const std::string& f, const engine::KeySource& ks,
                                         long default_bins) {
    std::vector<BucketValue> out;
    if (!b.IsMap()) engine::yaml_error(ks(f), f, engine::yaml_shown(b), "{values: [...]} or {range: [lo, hi], bins: n}");
    for (auto it = b.begin(); it != b.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (k != "values" && k != "range" && k != "bins")
        engine::yaml_error(ks(f + "." + k), f + "." + k, "an unknown key", engine::unknown_key_expected(k, {"values", "range", "bins"}));
    }
    const std::string key = f.substr(std::string("buckets.").size());
    if (b["values"].IsDefined()) {
      const YAML::Node vs = b["values"];
      if (!vs.IsSequence() || vs.size() == 0)
        engine::yaml_error(ks(f + ".values"), f + ".values", engine::yaml_shown(vs), "a non-empty list of values");
      for (std::size_t i = 0; i < vs.size(); ++i) {
        if (!vs[i].IsScalar())
          engine::yaml_error(ks(f + ".values[" + std::to_string(i) + "]"), f + ".values[" + std::to_string(i) + "]",
                             engine::yaml_shown(vs[i]), "a scalar");
        out.push_back({vs[i], value_text(vs[i]), {}});
      }
      return out;
    }
    const YAML::Node range = b["range"];
    double lo = 0, hi = 0;
    if (!range.IsSequence() || range.size() != 2 || !engine::yaml_scalar(range[0], lo) ||
        !engine::yaml_scalar(range[1], hi) || !(lo <= hi))
      engine::yaml_error(ks(f + ".range"), f + ".range", engine::yaml_shown(range), "[lo, hi] with lo <= hi");
    long bins = default_bins;
    if (b["bins"].IsDefined() && (!engine::yaml_scalar(b["bins"], bins) || bins < 1 || bins > 4096))
      engine::yaml_error(ks(f + ".bins"), f + ".bins", engine::yaml_shown(b["bins"]), engine::integer_in(1, 4096));
    long ilo = 0, ihi = 0;
    const bool integer = engine::yaml_scalar(range[0], ilo) && engine::yaml_scalar(range[1], ihi);
    const double step = (hi - lo) / static_cast<double>(bins);
    for (long i = 0; i < bins; ++i) {
      RangeValue r{key, lo + static_cast<double>(i) * step, lo + static_cast<double>(i + 1) * step, integer};
      out.push_back({YAML::Node(), "(" + python_float(r.lo) + ", " + python_float(r.hi) + ")", r});
    }
    return out;
  }

  // A listed value as Python prints it in an id: integers as written, floats rounded to 3 decimals,
  // booleans True/False, strings as they are.
  static std::string value_text(const YAML::Node& v) {
    long i = 0;
    double d = 0;
    bool b = false;
    if (engine::yaml_scalar(v, i)) return std::to_string(i);
    if (engine::yaml_scalar(v, d)) return python_float(d);
    if (engine::yaml_scalar(v, b)) return b ? "True" : "False";
    return v.Scalar();
  }

  std::uint64_t seed_;
  std::uint64_t nodes_ = 0;
  std::vector<std::string> open_;  // the curriculum files being read, outermost first
  std::vector<Task> tasks_;
};

// Leaf ids: the keys on the path joined with ':' (the root's own key left out).
void name_leaves(const Node& n, const std::string& prefix, std::vector<Task>& tasks) {
  if (n.kind == Node::Kind::kTask) {
    tasks[n.task].id = prefix.empty() ? n.key : prefix;
    return;
  }
  for (const auto& c : n.children) name_leaves(*c, prefix.empty() ? c->key : prefix + ":" + c->key, tasks);
}

}  // namespace

Curriculum load_curriculum(const std::string& path, std::uint64_t seed) {
  Builder b(seed);
  std::unique_ptr<Node> root = b.build(path, path, 0);
  std::vector<Task> tasks = b.take_tasks();
  name_leaves(*root, "", tasks);
  return Curriculum(std::move(root), std::move(tasks));
}

bool is_curriculum(const std::string& path) {
  const engine::EnvYaml y = engine::env_yaml_from(path);
  return names_a_curriculum(engine::load_yaml(y.text, y.source));
}

}  // namespace metta::train::curriculum
