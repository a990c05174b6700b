#include "train/curriculum/curriculum.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/batched_env.h"
#include "engine/config_fields.h"
#include "engine/config_yaml.h"
#include "kernels/common.h"

namespace metta::train::curriculum {
namespace {

constexpr std::size_t kCompletionWindow = 500;


// What a policy sees of a task: a leaf that differs from the first cannot share its policy or batch.
std::string spaces_of(const engine::EnvConfig& c, const engine::CompiledEnv& compiled) {
  std::ostringstream s;
  s << c.num_agents << " agents, a " << c.obs_height << "x" << c.obs_width << " window of "
    << c.num_observation_tokens << " tokens, items [";
  for (std::size_t i = 0; i < c.inventory_item_names.size(); ++i) s << (i ? ", " : "") << c.inventory_item_names[i];
  s << "], actions [";
  for (std::size_t i = 0; i < compiled.action_names.size(); ++i) s << (i ? ", " : "") << compiled.action_names[i];
  s << "]";
  return s.str();
}

// `what` (a task or one of its draws) must have the spaces of the first task, `first` (its spaces_of).
void require_spaces(const std::string& what, const engine::EnvConfig& cfg, const std::string& first_id,
                    const std::string& first) {
  const std::string spaces = spaces_of(cfg, engine::compile_env(cfg));
  if (spaces != first)
    engine::config_fail(what, spaces,
                        "the spaces of task '" + first_id + "' (" + first +
                            "): every task of a batch shares its observation and action spaces");
}

}  // namespace

Curriculum::Curriculum(std::unique_ptr<Node> root, std::vector<Task> tasks)
    : root_(std::move(root)), tasks_(std::move(tasks)), score_sum_(tasks_.size(), 0.0),
      score_count_(tasks_.size(), 0) {
  METTA_CHECK(!tasks_.empty(), "a curriculum needs at least one task");
  spaces_ = spaces_of(tasks_[0].config, engine::compile_env(tasks_[0].config));
  for (std::size_t i = 1; i < tasks_.size(); ++i)
    require_spaces("curriculum task '" + tasks_[i].id + "'", tasks_[i].config, tasks_[0].id, spaces_);
  std::int64_t plain = 0, ranged = 0;
  for (std::size_t task = 0; task < tasks_.size(); ++task) (ranged_leaf(task) ? ranged : plain) += 1;
  const std::int64_t limit = engine::BatchedEnv::kMaxTasks;
  if (plain + ranged > limit)
    engine::config_fail("curriculum", std::to_string(plain + ranged) + " tasks",
                        "at most " + std::to_string(limit) + " tasks (a batch's limit)");
  if (ranged > 0) range_draws_ = static_cast<int>(std::min<std::int64_t>(kRangeDraws, (limit - plain) / ranged));
  for (std::size_t task = 0; task < tasks_.size(); ++task)
    for (int d = 0; d < (ranged_leaf(task) ? range_draws_ : 1); ++d) env_task_owner_.push_back(task);
}

void Curriculum::collect_probabilities(const Node& n, double p, std::vector<double>& out) const {
  if (n.kind == Node::Kind::kTask) {
    out[n.task] += p;
    return;
  }
  double total = 0;
  for (double w : n.weights) total += w;
  for (std::size_t i = 0; i < n.children.size(); ++i) {
    // all-zero weights draw uniformly, as an empty distribution does
    const double share = total > 0 ? n.weights[i] / total : 1.0 / static_cast<double>(n.children.size());
    if (share > 0) collect_probabilities(*n.children[i], p * share, out);
  }
}

std::vector<double> Curriculum::probabilities() const {
  std::vector<double> p(tasks_.size(), 0.0);
  collect_probabilities(*root_, 1.0, p);
  return p;
}

bool Curriculum::complete_below(Node& n, std::size_t task, double score) {
  if (n.kind == Node::Kind::kTask) return n.task == task;
  for (std::size_t i = 0; i < n.children.size(); ++i) {
    if (!complete_below(*n.children[i], task, score)) continue;
    if (n.kind == Node::Kind::kLearningProgress) {
      n.lp->collect(static_cast<int>(i), std::clamp(score, 0.0, 1.0));
      const std::vector<double>& d = n.lp->distribution();
      double total = 0;
      for (double x : d) total += x;
      for (std::size_t k = 0; k < n.weights.size(); ++k) n.weights[k] = total > 0 ? d[k] / total : d[k];
    }
    return true;
  }
  return false;
}

void Curriculum::complete(std::size_t task, double score) {
  METTA_CHECK(task < tasks_.size(), "curriculum: task " << task << " of " << tasks_.size());
  METTA_CHECK(std::isfinite(score), "curriculum: task '" << tasks_[task].id << "' completed with score " << score);
  complete_below(*root_, task, score);
  recent_.push_back(task);
  if (recent_.size() > kCompletionWindow) recent_.pop_front();
  score_sum_[task] += score;
  ++score_count_[task];
}

const Node* Curriculum::leaf_node(const Node& n, std::size_t task) const {
  if (n.kind == Node::Kind::kTask) return n.task == task ? &n : nullptr;
  for (const auto& c : n.children)
    if (const Node* f = leaf_node(*c, task)) return f;
  return nullptr;
}

const Node* Curriculum::ranged_leaf(std::size_t task) const {
  const Node* leaf = leaf_node(*root_, task);
  return leaf && !leaf->ranges.empty() ? leaf : nullptr;
}

engine::EnvConfig Curriculum::config_at(const Node& leaf, std::size_t task, const std::vector<double>& fractions) const {
  // Range values live in the YAML the config was read from: set them there and read it again.
  YAML::Node root = YAML::Load(leaf.yaml_text);
  for (std::size_t i = 0; i < leaf.ranges.size(); ++i) {
    const RangeValue& r = leaf.ranges[i];
    const double v = r.lo + fractions[i] * (r.hi - r.lo);
    set_dotted(root, r.key,
               r.integer ? YAML::Node(static_cast<long>(std::floor(v))) : YAML::Node(engine::shortest_round_trip(v)));
  }
  std::ostringstream text;
  text << root;
  return engine::parse_env_config(text.str(), tasks_[task].config.source);
}

engine::EnvConfig Curriculum::draw_config(std::size_t task, std::mt19937_64& rng) const {
  METTA_CHECK(task < tasks_.size(), "curriculum: task " << task << " of " << tasks_.size());
  const Node* leaf = ranged_leaf(task);
  if (!leaf) return tasks_[task].config;
  std::vector<double> fractions;
  for (std::size_t i = 0; i < leaf->ranges.size(); ++i) fractions.push_back(uniform01(rng));
  return config_at(*leaf, task, fractions);
}

std::size_t Curriculum::task_of_env_task(std::size_t env_task) const {
  METTA_CHECK(env_task < env_task_owner_.size(), "curriculum: env task " << env_task << " of " << env_task_owner_.size());
  return env_task_owner_[env_task];
}

std::vector<engine::EnvConfig> Curriculum::env_task_configs() const {
  std::vector<engine::EnvConfig> out;
  for (std::size_t task = 0; task < tasks_.size(); ++task) {
    const Node* leaf = ranged_leaf(task);
    if (!leaf) {
      out.push_back(tasks_[task].config);
      continue;
    }
    // seeded by the id (FNV-1a), so the draws do not depend on the order tasks are visited in
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : tasks_[task].id) h = (h ^ ch) * 1099511628211ull;
    std::mt19937_64 rng(h);
    const int draws = range_draws_;
    std::vector<std::vector<int>> slices(leaf->ranges.size());
    for (auto& order : slices) {  // a Fisher-Yates shuffle of the slices, per key
      for (int i = 0; i < draws; ++i) order.push_back(i);
      for (int i = draws - 1; i > 0; --i)
        std::swap(order[i], order[std::min(i, static_cast<int>(uniform01(rng) * (i + 1)))]);
    }
    for (int d = 0; d < draws; ++d) {
      std::vector<double> fractions;  // below 1 (a sum that rounds up to 1 would reach the range's end)
      for (const auto& order : slices)
        fractions.push_back(std::min((order[d] + uniform01(rng)) / draws, std::nextafter(1.0, 0.0)));
      engine::EnvConfig cfg = config_at(*leaf, task, fractions);
      require_spaces("curriculum task '" + tasks_[task].id + "', draw " + std::to_string(d + 1) + " of " +
                         std::to_string(draws),
                     cfg, tasks_[0].id, spaces_);
      out.push_back(std::move(cfg));
    }
  }
  return out;
}

std::vector<double> Curriculum::env_task_probabilities() const {
  const std::vector<double> p = probabilities();
  std::vector<double> count(tasks_.size(), 0.0), out;
  for (std::size_t owner : env_task_owner_) count[owner] += 1;
  for (std::size_t owner : env_task_owner_) out.push_back(p[owner] / count[owner]);
  return out;
}

namespace {
// Inner nodes in pre-order: their weights and trackers are the state.
template <class F>
void for_each_inner(Node& n, F&& f) {
  if (n.kind == Node::Kind::kTask) return;
  f(n);
  for (auto& c : n.children) for_each_inner(*c, f);
}
}  // namespace

std::string Curriculum::save_state() const {
  nlohmann::json nodes = nlohmann::json::array();
  for_each_inner(*root_, [&](Node& n) {
    nodes.push_back({{"weights", n.weights}, {"lp", n.lp ? n.lp->save_state() : std::string()}});
  });
  const nlohmann::json j = {{"tasks", tasks_.size()},
                            {"nodes", nodes},
                            {"recent", std::vector<std::size_t>(recent_.begin(), recent_.end())},
                            {"score_sum", score_sum_},
                            {"score_count", score_count_}};
  return j.dump();
}

void Curriculum::load_state(const std::string& state) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(state);
    METTA_CHECK(j.at("tasks").get<std::size_t>() == tasks_.size(),
                "curriculum state: " << j.at("tasks").get<std::size_t>() << " tasks, this curriculum has " << tasks_.size());
    const nlohmann::json& nodes = j.at("nodes");
    std::size_t i = 0;
    for_each_inner(*root_, [&](Node& n) {
      METTA_CHECK(i < nodes.size(), "curriculum state: fewer nodes than this curriculum has");
      const std::vector<double> w = nodes[i].at("weights").get<std::vector<double>>();
      METTA_CHECK(w.size() == n.weights.size(), "curriculum state: node " << i << " has another number of children");
      n.weights = w;
      if (n.lp) n.lp->load_state(nodes[i].at("lp").get<std::string>());
      ++i;
    });
    METTA_CHECK(i == nodes.size(), "curriculum state: more nodes than this curriculum has");
    const std::vector<std::size_t> recent = j.at("recent").get<std::vector<std::size_t>>();
    recent_.assign(recent.begin(), recent.end());
    score_sum_ = j.at("score_sum").get<std::vector<double>>();
    score_count_ = j.at("score_count").get<std::vector<std::int64_t>>();
    METTA_CHECK(score_sum_.size() == tasks_.size() && score_count_.size() == tasks_.size(),
                "curriculum state: per-task sums of another size");
  } catch (const nlohmann::json::exception& e) {
    METTA_FAIL("curriculum state: not a saved curriculum state (" << e.what() << ")");
  }
}

std::map<std::string, double> Curriculum::take_stats() {
  std::map<std::string, double> out;
  const std::vector<double> p = probabilities();
  for (std::size_t i = 0; i < tasks_.size(); ++i) out["curriculum_task_probs/" + tasks_[i].id] = p[i];
  if (!recent_.empty()) {
    std::vector<double> count(tasks_.size(), 0.0);
    for (std::size_t t : recent_) count[t] += 1;
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      out["task_completions/" + tasks_[i].id] = count[i] / static_cast<double>(recent_.size());
  }
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    if (score_count_[i] == 0) continue;
    out["task_reward/" + tasks_[i].id + "/rewards.mean"] = score_sum_[i] / static_cast<double>(score_count_[i]);
    score_sum_[i] = 0;
    score_count_[i] = 0;
  }
  return out;
}

void set_dotted(YAML::Node root, const std::string& dotted, const YAML::Node& value) {
  std::vector<std::string> keys;
  std::stringstream ss(dotted);
  for (std::string k; std::getline(ss, k, '.');) keys.push_back(k);
  METTA_CHECK(!keys.empty(), "an empty bucket key");
  YAML::Node n = root;
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = n[keys[i]];
    if (!next.IsMap()) {
      n[keys[i]] = YAML::Node(YAML::NodeType::Map);
      next = n[keys[i]];
    }
    n.reset(next);
  }
  n[keys.back()] = value;
}

std::string python_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // round(v, 3) as Python does it: the exact binary value rounded to 3 decimals, ties to even (glibc's
  // printf rounds the exact value in the default rounding mode), read back
  char rounded[400];
  std::snprintf(rounded, sizeof rounded, "%.3f", v);
  v = std::strtod(rounded, nullptr);
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // Python's repr: the shortest digits that read back to v, positional for exponents in [-4, 16)
  // ("100.0", "0.0001"), else scientific with two exponent digits at least ("1e+16", "1.5e-05").
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*e", engine::shortest_round_trip_digits(v) - 1, v);
  const std::string sci = buf;  // [-]d[.ddd]e(+|-)XX
  const std::size_t e = sci.find('e');
  const int exponent = std::atoi(sci.c_str() + e + 1);
  const bool negative = sci[0] == '-';
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_text[16];
    std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp_text;
  }
  if (exponent < 0) return out + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  const auto int_len = static_cast<std::size_t>(exponent + 1);
  if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

std::string bucket_id_part(const std::string& key, const std::string& value_text) {
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string k; std::getline(ss, k, '.');) parts.push_back(k);
  std::string last;
  for (std::size_t i = parts.size() > 3 ? parts.size() - 3 : 0; i < parts.size(); ++i)
    last += (last.empty() ? "" : ".") + parts[i];
  return last + "=" + value_text + ";";
}

}  // namespace metta::train::curriculum
