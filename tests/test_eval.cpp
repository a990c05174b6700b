// Evaluation and replays: a replay file is a zlib stream of version-2 JSON that follows the spec's
// rules (dense ids, series only on change, location/inventory always series, one object per agent,
// the logged actions and rewards); a truncated stream is an error; evaluating a checkpoint equals
// evaluating its weights, and is deterministic for a seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "train/checkpoint/policy_store.h"
#include "train/checkpoint/policy_env_match.h"
#include "train/eval/evaluate.h"
#include "train/eval/replay.h"
#include "train/eval/suite.h"
#include "engine/batched_env.h"
#include "engine/config_yaml.h"
#include "tests/error_of.h"

using namespace metta;

using metta::testing::error_of;

namespace {
const kernels::Context kCpu = kernels::Context::cpu(2);

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value of a replay field at a step: a constant, or the last pair at or before the step.
nlohmann::json at_step(const nlohmann::json& field, std::int64_t step) {
  if (!field.is_array() || field.empty() || !field[0].is_array()) return field;
  nlohmann::json v = field[0][1];
  for (const auto& pair : field)
    if (pair[0].get<std::int64_t>() <= step) v = pair[1];
  return v;
}
}  // namespace

TEST(Replay, ZlibRoundTripAndTruncationIsAnError) {
  const std::string text(5000, 'x');
  const std::string z = eval::zlib_compress(text + "tail");
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x78);  // RFC 1950 header, not gzip
  EXPECT_EQ(eval::zlib_decompress(z), text + "tail");
  EXPECT_THROW(eval::zlib_decompress(z.substr(0, z.size() / 2)), metta::Error);
  EXPECT_THROW(eval::zlib_decompress("not zlib at all"), metta::Error);
}

TEST(Replay, FollowsTheVersion2SpecAndLogsWhatHappened) {
  engine::BatchedEnv env(engine::embedded_env_config("hearts_room"), 2, 5, kCpu);
  eval::ReplayWriter w(env, 1);
  std::vector<std::vector<std::int32_t>> played;
  std::vector<std::vector<float>> rewards;
  for (int t = 0; t < 40; ++t) {
    env.random_actions(9, static_cast<std::uint32_t>(t));
    std::vector<std::int32_t> a(static_cast<std::size_t>(2 * env.total_agents()));
    kernels::download_bytes(kCpu, a.data(), env.actions(), a.size() * sizeof(std::int32_t));
    env.step();
    w.log_step(env, a);
    played.push_back(a);
    rewards.push_back(env.rewards_host());
  }
  const std::string path = (std::filesystem::temp_directory_path() / "metta_replay_test.json.z").string();
  w.write(path);
  const nlohmann::json j = nlohmann::json::parse(eval::zlib_decompress(slurp(path)));
  std::filesystem::remove(path);
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["num_agents"], 4);
  EXPECT_EQ(j["max_steps"], 40);
  EXPECT_EQ(j["map_size"], nlohmann::json({env.width(), env.height()}));
  EXPECT_EQ(j["action_names"].size(), env.action_names().size());
  EXPECT_EQ(j["type_names"][0], "agent");
  const auto objects = env.grid_objects(1);
  ASSERT_EQ(j["objects"].size(), objects.size());
  int agents = 0;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const nlohmann::json& o = j["objects"][i];
    EXPECT_EQ(o["id"], static_cast<int>(i) + 1);
    ASSERT_TRUE(o["location"].is_array() && o["location"][0].is_array()) << "location must be a series";
    ASSERT_TRUE(o["inventory"][0].is_array()) << "inventory must be a series";
    EXPECT_TRUE(o.contains("inventory_max"));
    // the last location is the object's place now: [x = column, y = row, z = layer]
    EXPECT_EQ(at_step(o["location"], 40), nlohmann::json({objects[i].c, objects[i].r, objects[i].layer}));
    for (auto& [key, field] : o.items()) {  // series: sorted, starting at step 0, a pair only on change
      if (!field.is_array() || field.empty() || !field[0].is_array() || key == "input_resources" ||
          key == "output_resources")
        continue;
      EXPECT_EQ(field[0][0], 0) << key;
      for (std::size_t k = 1; k < field.size(); ++k) {
        EXPECT_LT(field[k - 1][0].get<int>(), field[k][0].get<int>()) << key;
        EXPECT_NE(field[k - 1][1], field[k][1]) << key;
      }
    }
    if (o.value("is_agent", false)) {
      ++agents;
      const int a = o["agent_id"].get<int>();
      const std::size_t flat = static_cast<std::size_t>(env.num_agents() + a);  // env 1
      EXPECT_TRUE(o.contains("group_id"));
      double total = 0;
      for (int t = 1; t <= 40; ++t) {
        EXPECT_EQ(at_step(o["action_id"], t), played[t - 1][2 * flat]) << "step " << t;
        EXPECT_EQ(at_step(o["action_param"], t), played[t - 1][2 * flat + 1]) << "step " << t;
        total += rewards[t - 1][flat];
        EXPECT_NEAR(at_step(o["total_reward"], t).get<double>(), total, 1e-6);
      }
    }
  }
  EXPECT_EQ(agents, 4);
}

TEST(Evaluate, CheckpointEqualsItsWeightsAndIsDeterministic) {
  const engine::EnvConfig cfg = engine::embedded_env_config("hearts_room");
  engine::BatchedEnv env(cfg, 1, 1, kCpu);
  std::vector<float> norms;
  for (auto& [name, n] : env.feature_normalizations()) norms.push_back(n);
  nn::Policy<float> policy(kCpu, nn::PolicyArch::by_name("small", static_cast<int>(norms.size())),
                           nn::ActionSpace(env.action_max_args()), norms, 7, 4, 1);
  const std::string dir = (std::filesystem::temp_directory_path() / "metta_eval_test").string();
  std::filesystem::remove_all(dir);
  checkpoint::PolicyStore store(dir);
  checkpoint::PolicyMetadata meta;
  meta.agent = "small";
  meta.epoch = 3;
  checkpoint::record_env_interface(checkpoint::EnvInterface::of(env.compiled()), meta);
  const std::string path = store.save(policy, meta);
  eval::EvalOptions o;
  o.episodes = 4;
  o.num_envs = 4;
  o.seed = 11;
  o.replay_path = dir + "/r.json.z";
  const eval::EvalResult a = eval::evaluate_checkpoint(kCpu, cfg, path, o);
  o.replay_path.clear();
  const eval::EvalResult b = eval::evaluate_policy(kCpu, cfg, "small", policy.params(), kernels::Device::CPU, o);
  EXPECT_GE(a.episodes, 4);
  EXPECT_EQ(a.episodes, b.episodes);
  EXPECT_EQ(a.mean_episode_reward, b.mean_episode_reward);
  EXPECT_EQ(a.agent_stats, b.agent_stats);
  const nlohmann::json replay = nlohmann::json::parse(eval::zlib_decompress(slurp(dir + "/r.json.z")));
  EXPECT_EQ(replay["max_steps"], cfg.max_steps);  // env 0's whole first episode
  std::filesystem::remove_all(dir);
}

// A policy meets only the env interface it was trained with (issue 10): evaluating it on an env with
// another action order or count, another observation window or other inventory items is refused, naming
// the first difference; an env that numbers the same features differently gets the weights remapped.
namespace {
struct SavedPolicy {
  std::string dir, path;
  std::vector<float> weights;
};

SavedPolicy save_small_policy(const engine::EnvConfig& cfg, const std::string& name) {
  engine::BatchedEnv env(cfg, 1, 1, kCpu);
  const checkpoint::EnvInterface iface = checkpoint::EnvInterface::of(env.compiled());
  nn::Policy<float> policy(kCpu, checkpoint::policy_arch_for("small", iface), nn::ActionSpace(env.action_max_args()),
                           iface.feature_norms, 7, 4, 1);
  // a first convolution strong enough that every feature visibly moves the outputs
  const nn::ParamInfo& cnn1 = policy.table().at("cnn1.weight");
  for (std::int64_t i = 0; i < cnn1.count; ++i) policy.params()[cnn1.offset + i] *= 100.0f;
  SavedPolicy s;
  s.dir = (std::filesystem::temp_directory_path() / ("metta_match_" + name)).string();
  std::filesystem::remove_all(s.dir);
  checkpoint::PolicyStore store(s.dir);
  checkpoint::PolicyMetadata meta;
  meta.agent = "small";
  meta.epoch = 1;
  checkpoint::record_env_interface(iface, meta);
  s.path = store.save(policy, meta);
  s.weights.assign(policy.params(), policy.params() + policy.num_params());
  return s;
}

std::string eval_error(const engine::EnvConfig& cfg, const std::string& path) {
  eval::EvalOptions o;
  o.episodes = 1;
  o.num_envs = 1;
  try {
    eval::evaluate_checkpoint(kCpu, cfg, path, o);
  } catch (const checkpoint::CheckpointError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(PolicyEnvMatch, AnotherInterfaceIsRefusedNamingTheFirstDifference) {
  const engine::EnvConfig base = engine::embedded_env_config("hearts_room");
  const SavedPolicy saved = save_small_policy(base, "refuse");
  engine::EnvConfig order = base;
  std::swap(order.actions[1], order.actions[2]);
  EXPECT_NE(eval_error(order, saved.path).find("another action order"), std::string::npos) << eval_error(order, saved.path);
  engine::EnvConfig fewer = base;
  fewer.actions.back().second.enabled = false;
  EXPECT_NE(eval_error(fewer, saved.path).find("was trained with 9 actions"), std::string::npos)
      << eval_error(fewer, saved.path);
  engine::EnvConfig window = base;
  window.obs_width = window.obs_height = 13;
  EXPECT_NE(eval_error(window, saved.path).find("saw a 11x11 observation window, this env gives 13x13"),
            std::string::npos)
      << eval_error(window, saved.path);
  engine::EnvConfig items = base;
  items.inventory_item_names.push_back("gem");
  EXPECT_NE(eval_error(items, saved.path).find("never saw the feature 'inv:gem'"), std::string::npos)
      << eval_error(items, saved.path);
  EXPECT_EQ(eval_error(base, saved.path), "no error");
  std::filesystem::remove_all(saved.dir);
}

TEST(PolicyEnvMatch, RenumberedFeaturesAreRemappedByName) {
  const engine::EnvConfig a = engine::embedded_env_config("hearts_room");
  engine::EnvConfig b = a;
  std::reverse(b.inventory_item_names.begin(), b.inventory_item_names.end());
  const SavedPolicy saved = save_small_policy(a, "remap");
  const checkpoint::PolicyFile file = checkpoint::PolicyStore::open(saved.path);
  const checkpoint::EnvInterface ia = checkpoint::EnvInterface::of(a), ib = checkpoint::EnvInterface::of(b);
  ASSERT_NE(ia.feature_names, ib.feature_names);
  const nn::ParamTable table = nn::Policy<float>(kCpu, checkpoint::policy_arch_for("small", ib),
                                                 nn::ActionSpace(ib.action_max_args), ib.feature_norms, 1, 1, 1)
                                   .table();
  checkpoint::EnvMatch match;
  const std::vector<float> w = checkpoint::weights_for_env(file, table, ib, checkpoint::FeatureOrder::kRemapByName, &match);
  EXPECT_TRUE(match.features_remapped);
  // cnn1.weight [out, features, k, k]: env B's channel of a feature is the policy's channel of that name
  const nn::ParamInfo& p = table.at("cnn1.weight");
  const std::int64_t out = p.shape[0], feats = p.shape[1], kk = p.shape[2] * p.shape[3];
  for (std::int64_t e = 0; e < feats; ++e) {
    const std::int64_t src = file.metadata.feature_mapping.at(ib.feature_names[static_cast<std::size_t>(e)]);
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t t = 0; t < kk; ++t)
        ASSERT_EQ(w[static_cast<std::size_t>(p.offset + (o * feats + e) * kk + t)],
                  saved.weights[static_cast<std::size_t>(p.offset + (o * feats + src) * kk + t)]);
  }
  // every other tensor unchanged
  for (const nn::ParamInfo& q : table.all()) {
    if (q.name == "cnn1.weight") continue;
    for (std::int64_t i = 0; i < q.count; ++i) {
      ASSERT_EQ(w[static_cast<std::size_t>(q.offset + i)], saved.weights[static_cast<std::size_t>(q.offset + i)]) << q.name;
    }
  }
  // the same game seen through either numbering gives the same values and logits (up to summation order)
  auto values = [&](const engine::EnvConfig& cfg, const std::vector<float>& weights) {
    engine::BatchedEnv env(cfg, 2, 3, kCpu);
    for (std::uint32_t t = 0; t < 3; ++t) {  // observations of a few steps into the game
      env.random_actions(9, t);
      env.step();
    }
    const checkpoint::EnvInterface iface = checkpoint::EnvInterface::of(env.compiled());
    nn::Policy<float> policy(kCpu, checkpoint::policy_arch_for("small", iface), nn::ActionSpace(env.action_max_args()),
                             iface.feature_norms, 1, env.total_agents(), 1);
    std::copy(weights.begin(), weights.end(), policy.params());
    std::vector<std::int32_t> sampled(static_cast<std::size_t>(2 * env.total_agents()));
    policy.forward(env.observations(), env.total_agents(), 1, nullptr, nullptr, nullptr, nullptr, nullptr, 5, 0,
                   sampled.data());
    std::vector<float> out(policy.value(), policy.value() + env.total_agents());  // values, then logits
    const std::int64_t logits = env.total_agents() * nn::ActionSpace(env.action_max_args()).num_logits();
    out.insert(out.end(), policy.logits(), policy.logits() + logits);
    return out;
  };
  const std::vector<float> va = values(a, saved.weights), vb = values(b, w);
  for (std::size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-5f * (1 + std::abs(va[i]))) << i;
  // and the remap matters: the unmapped weights see B's features as others
  const std::vector<float> unmapped = values(b, saved.weights);
  float largest = 0;
  for (std::size_t i = 0; i < va.size(); ++i) largest = std::max(largest, std::abs(va[i] - unmapped[i]));
  EXPECT_GT(largest, 1e-3f);
  // resuming a run needs the very same numbering
  EXPECT_THROW(checkpoint::weights_for_env(file, table, ib, checkpoint::FeatureOrder::kSame), checkpoint::CheckpointError);
  std::filesystem::remove_all(saved.dir);
}

// Evaluation suites (trainer.md §17): categories, keys and the score; the file's errors; each simulation
// played once per seed through the evaluator, with its replay; a suite of one simulation equals
// evaluating that env directly.
TEST(EvalSuite, CategoryScoresAndKeys) {
  double score = -1;
  const std::map<std::string, double> k = eval::suite_scores(
      {{"eval/training_task", 1.0, 4, {}}, {"nav/a", 2.0, 4, {}}, {"nav/b", 4.0, 4, {}}}, &score);
  EXPECT_DOUBLE_EQ(k.at("eval_eval/training_task"), 1.0);
  EXPECT_DOUBLE_EQ(k.at("eval_nav/a"), 2.0);
  EXPECT_DOUBLE_EQ(k.at("eval_nav/score"), 3.0);
  EXPECT_DOUBLE_EQ(k.at("overview/nav_score"), 3.0);
  EXPECT_DOUBLE_EQ(k.at("eval_eval/score"), 1.0);
  EXPECT_DOUBLE_EQ(score, 2.0);  // the mean of the category scores, not of the simulations
  EXPECT_EQ(k.size(), 7u);
}

namespace {
std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name) << text;
  return dir + "/" + name;
}
}  // namespace

TEST(EvalSuite, FileErrorsNameTheKeyAndLine) {
  const std::string dir = (std::filesystem::temp_directory_path() / "metta_suite_errors").string();
  std::string e = error_of([&] { eval::load_eval_suite(write_file(dir, "a.yaml", "simulations:\n  - {name: nocategory, env: simple}\n")); });
  EXPECT_NE(e.find("a.yaml:2: simulations[0].name: got 'nocategory', expected '<category>/<simulation>'"), std::string::npos) << e;
  e = error_of([&] {
    eval::load_eval_suite(write_file(dir, "b.yaml", "simulations:\n  - {name: x/a, env: simple}\n  - {name: x/a, env: simple}\n"));
  });
  EXPECT_NE(e.find("b.yaml:3: simulations[1].name: got 'x/a', expected a name no other simulation uses"), std::string::npos) << e;
  e = error_of([&] { eval::load_eval_suite(write_file(dir, "c.yaml", "simulations:\n  - {name: x/a, env: nowhere.yaml}\n")); });
  EXPECT_NE(e.find("c.yaml:2: simulations[0].env: env: got 'nowhere.yaml'"), std::string::npos) << e;
  e = error_of([&] { eval::load_eval_suite(write_file(dir, "d.yaml", "simulations:\n  - {name: x/a, env: simple, episode: 3}\n")); });
  EXPECT_NE(e.find("d.yaml:2: simulations[0].episode: got an unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'episodes'"), std::string::npos) << e;
  e = error_of([&] { eval::load_eval_suite(write_file(dir, "e.yaml", "simulations:\n  - {name: x/a, env: simple, seeds: []}\n")); });
  EXPECT_NE(e.find("simulations[0].seeds: got an empty list, expected a non-empty list of seeds >= 0"), std::string::npos) << e;
  std::filesystem::remove_all(dir);
}

TEST(EvalSuite, EverySeedOfEverySimulationIsPlayed) {
  const std::string dir = (std::filesystem::temp_directory_path() / "metta_suite_run").string();
  std::filesystem::remove_all(dir);
  write_file(dir, "room.yaml", slurp(std::string(METTA_SOURCE_DIR) + "/configs/env/mettagrid/hearts_room.yaml"));
  const eval::EvalSuite suite = eval::load_eval_suite(write_file(
      dir, "s.yaml",
      "name: mini\nsimulations:\n  - {name: rooms/one, env: room.yaml, episodes: 3, seeds: [5, 6]}\n"
      "  - {name: big/simple, env: simple, episodes: 2}\n"));
  EXPECT_EQ(suite.name, "mini");
  std::vector<std::tuple<int, std::uint64_t, std::int64_t, std::string>> calls;
  const auto fake = [&](const engine::EnvConfig& env, const eval::EvalOptions& o) {
    calls.emplace_back(env.num_agents, o.seed, o.episodes, o.replay_path);
    eval::EvalResult r;
    r.episodes = static_cast<double>(o.episodes);
    r.mean_episode_reward = static_cast<double>(o.seed);  // tells the seeds apart in the mean
    return r;
  };
  const std::vector<eval::SimulationResult> sims = eval::run_suite(suite, fake, 16, dir + "/replays", "_e0001");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(std::get<1>(calls[0]), 5u);
  EXPECT_EQ(std::get<1>(calls[1]), 6u);
  EXPECT_EQ(std::get<1>(calls[2]), 1000u);  // the default seed
  EXPECT_EQ(std::get<2>(calls[0]), 3);
  EXPECT_EQ(std::get<3>(calls[0]), dir + "/replays/rooms_one_e0001.json.z");
  EXPECT_EQ(std::get<3>(calls[1]), "");  // one replay per simulation
  EXPECT_EQ(std::get<0>(calls[2]), 24);  // simple
  ASSERT_EQ(sims.size(), 2u);
  EXPECT_DOUBLE_EQ(sims[0].mean_episode_reward, 5.5);
  EXPECT_DOUBLE_EQ(sims[0].episodes, 6);

  // one real simulation equals evaluating its env directly
  const engine::EnvConfig cfg = engine::embedded_env_config("hearts_room");
  const SavedPolicy saved = save_small_policy(cfg, "suite");
  const checkpoint::PolicyFile file = checkpoint::PolicyStore::open(saved.path);
  const auto play = [&](const engine::EnvConfig& env, const eval::EvalOptions& o) {
    return eval::evaluate_checkpoint(kCpu, env, file, o);
  };
  eval::EvalSuite one;
  one.simulations.push_back({"rooms/one", "hearts_room", 2, {9}});
  const std::vector<eval::SimulationResult> got = eval::run_suite(one, play, 2);
  eval::EvalOptions o;
  o.episodes = 2;
  o.num_envs = 2;
  o.seed = 9;
  const eval::EvalResult want = eval::evaluate_checkpoint(kCpu, cfg, file, o);
  EXPECT_EQ(got.at(0).mean_episode_reward, want.mean_episode_reward);
  EXPECT_EQ(got.at(0).episodes, want.episodes);
  std::filesystem::remove_all(saved.dir);
  std::filesystem::remove_all(dir);
}
