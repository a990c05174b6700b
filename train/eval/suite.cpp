#include "train/eval/suite.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/config_yaml.h"

namespace metta::eval {
namespace {

namespace fs = std::filesystem;

std::string category_of(const std::string& sim) { return sim.substr(0, sim.find('/')); }


}  // namespace

EvalSuite load_eval_suite(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw engine::ConfigError(path + ": cannot open the suite file");
  std::stringstream text;
  text << in.rdbuf();
  const YAML::Node root = engine::load_yaml(text.str(), path);
  EvalSuite suite;
  const engine::KeySource where_key = engine::yaml_key_source(root, path);
  engine::read_fields(root, "", where_key, suite);
  const auto where = [&](std::size_t i, const std::string& key) {
    return where_key("simulations[" + std::to_string(i) + "]." + key);
  };
  try {
    engine::validate_fields(suite, "");
  } catch (const engine::ConfigError& e) {
    throw engine::ConfigError(path + ": " + e.what());
  }
  if (suite.simulations.empty())
    engine::yaml_error(path, "simulations", "an empty list", "at least one simulation");
  suite.dir = fs::path(path).parent_path().string();
  std::set<std::string> names;
  for (std::size_t i = 0; i < suite.simulations.size(); ++i) {
    const SimulationSpec& s = suite.simulations[i];
    const std::string field = "simulations[" + std::to_string(i) + "]";
    const std::size_t slash = s.name.find('/');
    if (slash == 0 || slash == std::string::npos || slash + 1 == s.name.size())
      engine::yaml_error(where(i, "name"), field + ".name", "'" + s.name + "'", "'<category>/<simulation>'");
    if (!names.insert(s.name).second)
      engine::yaml_error(where(i, "name"), field + ".name", "'" + s.name + "'", "a name no other simulation uses");
    try {
      engine::env_config_from(engine::path_beside(s.env, suite.dir));
    } catch (const engine::ConfigError& e) {
      throw engine::ConfigError(where(i, "env") + ": " + field + ".env: " + e.what());
    }
  }
  return suite;
}

std::map<std::string, double> suite_scores(const std::vector<SimulationResult>& sims, double* score) {
  std::map<std::string, double> out;
  std::map<std::string, std::pair<double, int>> categories;
  for (const SimulationResult& s : sims) {
    out["eval_" + s.name] = s.mean_episode_reward;
    auto& c = categories[category_of(s.name)];
    c.first += s.mean_episode_reward;
    c.second += 1;
  }
  double total = 0;
  for (const auto& [cat, c] : categories) {
    const double mean = c.first / c.second;
    out["eval_" + cat + "/score"] = mean;
    out["overview/" + cat + "_score"] = mean;
    total += mean;
  }
  if (score) *score = categories.empty() ? 0.0 : total / static_cast<double>(categories.size());
  return out;
}

std::vector<SimulationResult> run_suite(const EvalSuite& suite, const Evaluator& evaluate, std::int64_t num_envs,
                                        const std::string& replay_dir, const std::string& replay_suffix) {
  std::vector<SimulationResult> out;
  for (const SimulationSpec& s : suite.simulations) {
    const engine::EnvConfig env = engine::env_config_from(engine::path_beside(s.env, suite.dir));
    SimulationResult r;
    r.name = s.name;
    double reward_sum = 0;
    for (std::size_t k = 0; k < s.seeds.size(); ++k) {
      EvalOptions o;
      o.episodes = s.episodes;
      o.num_envs = std::min(num_envs, s.episodes);
      o.seed = static_cast<std::uint64_t>(s.seeds[k]);
      if (!replay_dir.empty() && k == 0) {
        std::string file = s.name;
        std::replace(file.begin(), file.end(), '/', '_');
        o.replay_path = replay_dir + "/" + file + replay_suffix + ".json.z";
      }
      const EvalResult e = evaluate(env, o);
      reward_sum += e.mean_episode_reward * e.episodes;
      r.episodes += e.episodes;
      for (const auto& [key, v] : e.agent_stats) r.agent_stats[key] += v / static_cast<double>(s.seeds.size());
    }
    r.mean_episode_reward = r.episodes > 0 ? reward_sum / r.episodes : 0.0;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace metta::eval
