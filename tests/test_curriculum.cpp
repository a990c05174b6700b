// Curricula (trainer.md §15): learning progress against a plain reference of the formulas, random and
// nested weights, bucketed combinations and ids, completion statistics, shared spaces, and config errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <map>
#include <sstream>
#include <unistd.h>

#include "engine/config_yaml.h"
#include "train/curriculum/curriculum_yaml.h"
#include "tests/error_of.h"

using namespace metta;
using namespace metta::train::curriculum;
namespace fs = std::filesystem;

using metta::testing::error_of;

namespace {

// §15 written out plainly over all tasks, with the same draws (53-bit uniforms of one mt19937_64).
struct ReferenceLp {
  ReferenceLp(int n, LearningProgressConfig c, std::uint64_t seed) : n(n), c(c), rng(seed), out(n), active(n) {
    for (int i = 0; i < n; ++i) active[i] = i, counter[i] = 0;
  }
  double u() { return static_cast<double>(rng() >> 11) / 9007199254740992.0; }
  void collect(int t, double x) {
    out[t].push_back(x);
    if (counter.count(t)) ++counter[t];
  }
  std::vector<double> dist_now() {
    bool all_below = true;
    for (auto& [t, k] : counter) all_below = all_below && k < c.sample_threshold;
    if (all_below && !baseline.empty()) return dist.empty() ? std::vector<double>(n, 1.0 / n) : dist;
    std::vector<double> rate(n, 0.0);
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (double x : out[i]) s += x;
      rate[i] = out[i].empty() ? 0 : s / out[i].size();
    }
    const bool first = baseline.empty();
    if (first) {
      for (int i = 0; i < n; ++i) baseline.push_back(std::min(rate[i], 0.75));
      fast.assign(n, 0), slow.assign(n, 0), truth.assign(n, 0);
    }
    std::vector<bool> mask(n, first);
    for (int a : active) mask[a] = true;
    for (int i = 0; i < n; ++i) {
      if (!mask[i]) continue;
      const double d = 1 - baseline[i] <= 0 ? 1 : 1 - baseline[i];
      const double x = std::max(rate[i] - baseline[i], 0.0) / d;
      if (first) {
        fast[i] = slow[i] = x, truth[i] = rate[i];
      } else {
        fast[i] = c.ema_timescale * x + (1 - c.ema_timescale) * fast[i];
        slow[i] = c.ema_timescale * fast[i] + (1 - c.ema_timescale) * slow[i];
        truth[i] = c.ema_timescale * rate[i] + (1 - c.ema_timescale) * truth[i];
      }
    }
    auto rho = [&](double p) {
      double d = p + c.progress_smoothing * (1 - 2 * p);
      return p * (1 - c.progress_smoothing) / (d <= 0 ? 1 : d);
    };
    std::vector<double> lp(n);
    std::vector<int> pos;
    for (int i = 0; i < n; ++i) {
      lp[i] = std::fabs(rho(fast[i]) - rho(slow[i]));
      if (lp[i] > 0 || truth[i] > 0) pos.push_back(i);
    }
    if (pos.empty())
      for (int i = 0; i < n; ++i) pos.push_back(i);
    double mean = 0, var = 0;
    for (int i : pos) mean += lp[i];
    mean /= pos.size();
    for (int i : pos) var += (lp[i] - mean) * (lp[i] - mean);
    const double sd = std::sqrt(var / pos.size());
    dist.assign(n, 0.0);
    double tot = 0;
    for (int i : pos) tot += dist[i] = 1 / (1 + std::exp(-(sd > 0 ? (lp[i] - mean) / sd : lp[i] - mean)));
    for (int i : pos) dist[i] /= tot;
    for (auto& o : out)
      if (static_cast<int>(o.size()) > c.memory) o.erase(o.begin(), o.end() - c.memory);
    active.clear();
    counter.clear();
    for (int k = 0; k < c.num_active_tasks; ++k) {
      int t;
      if (u() < c.rand_task_rate) {
        t = std::min(n - 1, static_cast<int>(u() * n));
      } else {
        const double target = u();
        double acc = 0;
        t = n - 1;
        for (int i = 0; i < n; ++i)
          if (target < (acc += dist[i])) { t = i; break; }
      }
      active.push_back(t);
      counter[t] = 0;
    }
    return dist;
  }
  int n;
  LearningProgressConfig c;
  std::mt19937_64 rng;
  std::vector<std::vector<double>> out;
  std::vector<int> active;
  std::map<int, int> counter;
  std::vector<double> baseline, fast, slow, truth, dist;
};

// A scratch folder with env and curriculum files.
struct Files {
  Files() : dir(fs::temp_directory_path() / ("metta_curriculum_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Files() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
  // simple with one key changed
  std::string env(const std::string& name, const std::string& key, const std::string& value) const {
    YAML::Node root = YAML::Load(engine::env_yaml_from("simple").text);
    set_dotted(root, key, YAML::Load(value));
    std::ostringstream s;
    s << root;
    return write(name, s.str());
  }
  fs::path dir;
};

}  // namespace

TEST(LearningProgress, FirstUpdateByHand) {
  LearningProgress lp(2, LearningProgressConfig{}, 1);
  lp.collect(0, 1.0);
  // rates [1, 0]; baselines [0.75, 0]; x = [1, 0]; p_fast = p_slow = x, so no progress yet; p_true = [1, 0]
  // picks task 0 alone: z = 0, sigmoid 0.5, normalised to 1.
  const std::vector<double> d = lp.distribution();
  EXPECT_EQ(d, (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(lp.p_fast(), (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(lp.p_true(), (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(lp.active_tasks().size(), 16u);
}

TEST(LearningProgress, MatchesThePlainReferenceOverManyCompletions) {
  for (const std::uint64_t seed : {1ull, 7ull, 12345ull}) {
    LearningProgressConfig c;
    c.ema_timescale = 0.1;  // large enough for the averages to move within the test
    c.num_active_tasks = 4;
    c.sample_threshold = 3;
    c.memory = 7;
    const int n = 5;
    LearningProgress lp(n, c, seed);
    ReferenceLp ref(n, c, seed);
    std::mt19937_64 outcomes(seed + 99);
    int updates = 0;
    std::vector<double> last;
    for (int k = 0; k < 600; ++k) {
      const int task = static_cast<int>(outcomes() % n);
      // task i succeeds more often as k grows, at its own speed: progress to find
      const double p = std::min(1.0, (task + 1) * k / 1500.0);
      const double x = static_cast<double>(outcomes() % 1000) / 1000.0 < p ? 1.0 : 0.0;
      lp.collect(task, x);
      ref.collect(task, x);
      const std::vector<double> got = lp.distribution(), want = ref.dist_now();
      ASSERT_EQ(got.size(), want.size());
      for (int i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 1e-12) << "seed " << seed << " completion " << k;
      ASSERT_EQ(lp.active_tasks(), ref.active) << "completion " << k;
      updates += got != last;
      last = got;
    }
    EXPECT_GT(updates, 20) << "the distribution should move";
  }
}

TEST(Curriculum, SingleEnvIsOneTask) {
  const Curriculum c = load_curriculum("simple");
  ASSERT_EQ(c.tasks().size(), 1u);
  EXPECT_EQ(c.tasks()[0].id, "simple");
  EXPECT_EQ(c.probabilities(), std::vector<double>{1.0});
  EXPECT_FALSE(is_curriculum("simple"));
}

TEST(Curriculum, RandomWeightsNestAndIdsJoinThePath) {
  Files f;
  f.env("a.yaml", "game.max_steps", "100");
  f.env("x.yaml", "game.max_steps", "200");
  f.env("y.yaml", "game.max_steps", "300");
  f.write("inner.yaml", "_target_: random\ntasks: {x.yaml: 1, y.yaml: 1}\n");
  const std::string root = f.write("root.yaml", "_target_: metta.mettagrid.curriculum.random.RandomCurriculum\n"
                                                "tasks: {a.yaml: 1, inner.yaml: 3}\n");
  EXPECT_TRUE(is_curriculum(root));
  Curriculum c = load_curriculum(root);
  ASSERT_EQ(c.tasks().size(), 3u);
  EXPECT_EQ(c.tasks()[0].id, "a.yaml");
  EXPECT_EQ(c.tasks()[1].id, "inner.yaml:x.yaml");
  EXPECT_EQ(c.tasks()[2].id, "inner.yaml:y.yaml");
  EXPECT_EQ(c.tasks()[2].config.max_steps, 300);
  const std::vector<double> p = c.probabilities();
  EXPECT_DOUBLE_EQ(p[0], 0.25);
  EXPECT_DOUBLE_EQ(p[1], 0.375);
  EXPECT_DOUBLE_EQ(p[2], 0.375);
  c.complete(1, 2.0);  // random weights do not move
  EXPECT_EQ(c.probabilities(), p);
}

TEST(Curriculum, CompletionStatsKeepTheLast500) {
  Files f;
  f.env("a.yaml", "game.max_steps", "100");
  f.env("b.yaml", "game.max_steps", "200");
  Curriculum c = load_curriculum(f.write("r.yaml", "_target_: random\ntasks: {a.yaml: 1, b.yaml: 1}\n"));
  for (int i = 0; i < 600; ++i) c.complete(i < 200 ? 0 : 1, i < 200 ? 1.0 : 3.0);
  auto s = c.take_stats();
  // the window holds completions 100..599: 100 of a, 400 of b
  EXPECT_DOUBLE_EQ(s.at("task_completions/a.yaml"), 0.2);
  EXPECT_DOUBLE_EQ(s.at("task_completions/b.yaml"), 0.8);
  EXPECT_DOUBLE_EQ(s.at("task_reward/a.yaml/rewards.mean"), 1.0);
  EXPECT_DOUBLE_EQ(s.at("task_reward/b.yaml/rewards.mean"), 3.0);
  EXPECT_DOUBLE_EQ(s.at("curriculum_task_probs/a.yaml"), 0.5);
  s = c.take_stats();  // rewards are per call; the window stays
  EXPECT_EQ(s.count("task_reward/a.yaml/rewards.mean"), 0u);
  EXPECT_DOUBLE_EQ(s.at("task_completions/b.yaml"), 0.8);
}

TEST(Curriculum, LearningProgressWeightsFollowItsTracker) {
  Files f;
  f.env("a.yaml", "game.max_steps", "100");
  f.env("b.yaml", "game.max_steps", "200");
  f.env("c.yaml", "game.max_steps", "300");
  const std::string path = f.write("lp.yaml", "_target_: learning_progress\ntasks: {a.yaml: 1, b.yaml: 1, c.yaml: 2}\n"
                                              "ema_timescale: 0.2\nnum_active_tasks: 3\nsample_threshold: 2\n");
  Curriculum c = load_curriculum(path, 5);
  EXPECT_DOUBLE_EQ(c.probabilities()[2], 0.5);  // the configured weights until the first completion
  std::mt19937_64 scores(3);
  for (int k = 0; k < 120; ++k) {
    const int t = static_cast<int>(scores() % 3);
    const double s = t == 1 ? std::min(1.0, k / 60.0) : 0.1 * t;  // b improves
    c.complete(static_cast<std::size_t>(t), s * 1.5);            // scores are clipped to [0, 1]
  }
  const std::vector<double> p = c.probabilities();
  double sum = 0;
  for (double x : p) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_GT(p[1], p[0]) << "the task being learned gets more weight";
}

TEST(Curriculum, BucketedCombinationsIdsAndRangeDraws) {
  Files f;
  const std::string path =
      f.write("b.yaml", "_target_: bucketed\nenv_cfg_template: simple\n"
                        "buckets:\n"
                        "  game.max_steps: {values: [100, 200]}\n"
                        "  game.agent.rewards.heart: {range: [0.0, 1.0], bins: 2}\n"
                        "  game.map_builder.room.objects.altar: {range: [1, 9], bins: 2}\n");
  Curriculum c = load_curriculum(path, 3);
  ASSERT_EQ(c.tasks().size(), 8u);
  EXPECT_EQ(c.tasks()[0].id, "game.max_steps=100;agent.rewards.heart=(0.0, 0.5);room.objects.altar=(1.0, 5.0);");
  EXPECT_EQ(c.tasks()[7].id, "game.max_steps=200;agent.rewards.heart=(0.5, 1.0);room.objects.altar=(5.0, 9.0);");
  EXPECT_EQ(c.tasks()[4].config.max_steps, 200);
  for (double p : c.probabilities()) EXPECT_DOUBLE_EQ(p, 1.0 / 8);
  std::mt19937_64 rng(11);
  for (int k = 0; k < 50; ++k) {
    const engine::EnvConfig d = c.draw_config(7, rng);
    const float heart = d.groups.at(0).props.rewards.at("heart");
    EXPECT_GE(heart, 0.5f);
    EXPECT_LE(heart, 1.0f);  // below 1 in double, 1.0f at worst as a float
    int altars = -1;
    for (auto& [name, n] : d.map_builder.room.at(0).objects)
      if (name == "altar") altars = n;
    EXPECT_GE(altars, 5);
    EXPECT_LT(altars, 9);
    EXPECT_EQ(d.max_steps, 200);
  }
}

// A bucketed task with range values is Curriculum::kRangeDraws env tasks: each key's bin cut in as many
// slices, every slice drawn once; the task's probability is split over its draws and their episodes go
// back to it.
TEST(Curriculum, RangeValuesAreDrawnOncePerSliceAsEnvTasks) {
  Files f;
  f.env("plain.yaml", "game.max_steps", "100");
  f.write("b.yaml", "_target_: bucketed\nenv_cfg_template: simple\n"
                    "buckets:\n"
                    "  game.agent.rewards.heart: {range: [0.0, 1.0], bins: 2}\n"
                    "  game.map_builder.room.objects.altar: {range: [1, 17], bins: 1}\n");
  Curriculum c = load_curriculum(f.write("r.yaml", "_target_: random\ntasks: {plain.yaml: 2, b.yaml: 1}\n"), 3);
  constexpr int D = Curriculum::kRangeDraws;
  ASSERT_EQ(c.tasks().size(), 3u);
  ASSERT_EQ(c.num_env_tasks(), 1u + 2 * D);
  const std::vector<engine::EnvConfig> configs = c.env_task_configs();
  ASSERT_EQ(configs.size(), c.num_env_tasks());
  EXPECT_EQ(c.task_of_env_task(0), 0u);
  for (int d = 0; d < D; ++d) {
    EXPECT_EQ(c.task_of_env_task(1 + d), 1u);
    EXPECT_EQ(c.task_of_env_task(1 + D + d), 2u);
  }
  EXPECT_THROW(c.task_of_env_task(1 + 2 * D), metta::Error);
  const std::vector<double> p = c.env_task_probabilities(), tp = c.probabilities();
  EXPECT_DOUBLE_EQ(p[0], tp[0]);
  EXPECT_DOUBLE_EQ(p[0], 2.0 / 3);
  for (int d = 0; d < 2 * D; ++d) EXPECT_DOUBLE_EQ(p[1 + d], tp[1 + d / D] / D);
  EXPECT_EQ(configs[0].max_steps, 100);
  for (int task = 0; task < 2; ++task) {
    std::set<int> heart_slices;
    std::map<int, int> altars;  // integer draws over 16 values in 8 slices: each value pair twice
    for (int d = 0; d < D; ++d) {
      const engine::EnvConfig& e = configs[1 + task * D + d];
      const double heart = e.groups.at(0).props.rewards.at("heart");
      EXPECT_GE(heart, 0.5 * task);
      EXPECT_LT(heart, 0.5 * task + 0.5);
      heart_slices.insert(static_cast<int>(std::floor((heart - 0.5 * task) / (0.5 / D))));
      for (auto& [name, n] : e.map_builder.room.at(0).objects)
        if (name == "altar") ++altars[(n - 1) / 2];
    }
    EXPECT_EQ(heart_slices.size(), static_cast<std::size_t>(D)) << "one draw per slice";
    ASSERT_EQ(altars.size(), static_cast<std::size_t>(D)) << "one draw per slice";
    for (auto& [slice, k] : altars) EXPECT_EQ(k, 1) << slice;
  }
  // the same draws every time (seeded by the task id), and other ids draw other values
  const std::vector<engine::EnvConfig> again = c.env_task_configs();
  for (std::size_t i = 0; i < configs.size(); ++i)
    EXPECT_EQ(again[i].groups.at(0).props.rewards.at("heart"), configs[i].groups.at(0).props.rewards.at("heart"));
  EXPECT_NE(configs[1].groups.at(0).props.rewards.at("heart") + 0.5f, configs[1 + D].groups.at(0).props.rewards.at("heart"));

  // more ranged tasks than a batch holds at 8 draws each: fewer draws; more tasks than it holds: an error
  auto steps = [](int n) {
    std::string v;
    for (int i = 0; i < n; ++i) v += (i ? ", " : "") + std::to_string(100 + i);
    return v;
  };
  const Curriculum many = load_curriculum(f.write("many.yaml", "_target_: bucketed\nenv_cfg_template: simple\nbuckets:\n"
                                                               "  game.max_steps: {values: [" + steps(40) + "]}\n"
                                                               "  game.agent.rewards.heart: {range: [0, 1], bins: 1}\n"));
  EXPECT_EQ(many.range_draws(), 6);  // 256 / 40
  EXPECT_EQ(many.num_env_tasks(), 240u);
  const std::string too_many = error_of([&] {
    load_curriculum(f.write("toomany.yaml", "_target_: bucketed\nenv_cfg_template: simple\nbuckets:\n"
                                            "  game.max_steps: {values: [" + steps(300) + "]}\n"));
  });
  EXPECT_NE(too_many.find("curriculum: got 300 tasks, expected at most 256 tasks (a batch's limit)"), std::string::npos)
      << too_many;

  // a range that changes the spaces passes at the bins' lower ends and fails at the draws, named
  Curriculum w = load_curriculum(f.write("w.yaml", "_target_: bucketed\nenv_cfg_template: simple\n"
                                                   "buckets: {game.num_observation_tokens: {range: [100, 200], bins: 1}}\n"));
  const std::string e = error_of([&] { w.env_task_configs(); });
  EXPECT_NE(e.find("curriculum task 'game.num_observation_tokens=(100.0, 200.0);', draw "), std::string::npos) << e;
  EXPECT_NE(e.find("every task of a batch shares its observation and action spaces"), std::string::npos) << e;
}

// Bucket ids write floats as Python's repr(round(v, 3)) (the right column is what CPython prints).
TEST(Curriculum, FloatsInIdsAreWrittenAsPythonWritesThem) {
  const std::vector<std::pair<double, const char*>> cases = {
      {10, "10.0"}, {0.333333, "0.333"}, {100, "100.0"}, {1e16, "1e+16"}, {12345678.9, "12345678.9"},
      {-0.5, "-0.5"}, {0.0001, "0.0"}, {0.001, "0.001"}, {2.5, "2.5"},
      {123456789012345678.0, "1.2345678901234568e+17"}, {-0.0004, "-0.0"}, {0.0, "0.0"},
      {1000000000000000.5, "1000000000000000.5"}, {7.0005, "7.0"}, {0.0625, "0.062"}};
  for (const auto& [v, text] : cases) EXPECT_EQ(python_float(v), text) << v;
}

TEST(Curriculum, TasksMustShareSpacesAndErrorsNameTheKey) {
  Files f;
  f.env("a.yaml", "game.max_steps", "100");
  f.env("wide.yaml", "game.obs_width", "7");
  std::string e = error_of([&] { load_curriculum(f.write("r.yaml", "_target_: random\ntasks: {a.yaml: 1, wide.yaml: 1}\n")); });
  EXPECT_NE(e.find("curriculum task 'wide.yaml'"), std::string::npos) << e;
  EXPECT_NE(e.find("a 11x7 window"), std::string::npos) << e;
  e = error_of([&] { load_curriculum(f.write("t.yaml", "_target_: randm\ntasks: {a.yaml: 1}\n")); });
  EXPECT_NE(e.find("t.yaml:1: _target_: got 'randm', expected random, learning_progress or bucketed"), std::string::npos) << e;
  e = error_of([&] { load_curriculum(f.write("k.yaml", "_target_: learning_progress\ntasks: {a.yaml: 1}\nema_timescal: 0.1\n")); });
  EXPECT_NE(e.find("k.yaml:3: ema_timescal: got an unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'ema_timescale'"), std::string::npos) << e;
  e = error_of([&] { load_curriculum(f.write("w.yaml", "_target_: random\ntasks: {a.yaml: -1}\n")); });
  EXPECT_NE(e.find("w.yaml:2: tasks.a.yaml: got '-1', expected a weight >= 0"), std::string::npos) << e;
  e = error_of([&] { load_curriculum(f.write("m.yaml", "_target_: random\ntasks: {nope.yaml: 1}\n")); });
  EXPECT_NE(e.find("m.yaml:2: tasks.nope.yaml: env: got 'nope.yaml'"), std::string::npos) << e;
  e = error_of([&] { load_curriculum(f.write("self.yaml", "_target_: random\ntasks: {self.yaml: 1}\n")); });
  EXPECT_NE(e.find("self.yaml:2: tasks.self.yaml: curriculum '"), std::string::npos) << e;
  EXPECT_NE(e.find("self.yaml' names itself"), std::string::npos) << e;
  e = error_of([&] {
    load_curriculum(f.write("bb.yaml", "_target_: bucketed\nenv_cfg_template: simple\nbuckets: {game.max_steps: {values: [-5]}}\n"));
  });
  EXPECT_NE(e.find("bucketed task 'game.max_steps=-5;'"), std::string::npos) << e;
  EXPECT_NE(e.find("game.max_steps: got -5"), std::string::npos) << e;
}

// The shipped curriculum loads: its tasks share simple's spaces and the shaped one pays for ore.
TEST(Curriculum, ShippedShapedToSimpleLoads) {
  const std::string dir = std::string(METTA_SOURCE_DIR) + "/configs/env/mettagrid/";
  const Curriculum c = load_curriculum(dir + "curriculum/shaped_to_simple.yaml", 1);
  ASSERT_EQ(c.tasks().size(), 2u);
  EXPECT_EQ(c.tasks()[0].id, "../simple_shaped.yaml");
  EXPECT_EQ(c.tasks()[1].id, "../simple.yaml");
  EXPECT_EQ(c.tasks()[0].config.groups.at(0).props.rewards.at("ore_red"), 0.1f);
  EXPECT_EQ(c.tasks()[0].config.groups.at(0).props.reward_max.at("battery_red"), 1.0f);
  EXPECT_EQ(c.tasks()[1].config.groups.at(0).props.rewards.count("ore_red"), 0u);
  EXPECT_EQ(c.probabilities(), (std::vector<double>{0.5, 0.5}));
}

// The navigation curriculum: 27 bucket combinations over navigation.yaml's rooms, the altar count drawn
// in [10, 50) per env task; every draw builds an env with the shared spaces.
TEST(Curriculum, ShippedNavigationBucketsRoomsWallsAndAltars) {
  const std::string dir = std::string(METTA_SOURCE_DIR) + "/configs/env/mettagrid/";
  const Curriculum c = load_curriculum(dir + "curriculum/navigation.yaml", 1);
  ASSERT_EQ(c.tasks().size(), 27u);
  EXPECT_EQ(c.tasks()[0].id,
            "map_builder.room.width=15;map_builder.room.height=15;room.objects.wall=0;room.objects.altar=(10.0, 50.0);");
  ASSERT_EQ(c.num_env_tasks(), 27u * Curriculum::kRangeDraws);
  const std::vector<engine::EnvConfig> configs = c.env_task_configs();
  std::set<int> widths, altars;
  for (const engine::EnvConfig& e : configs) {
    const engine::MapBuilderConfig& room = e.map_builder.room.at(0);
    widths.insert(room.width);
    for (auto& [name, n] : room.objects)
      if (name == "altar") altars.insert(n);
    EXPECT_EQ(e.num_agents, 24);
  }
  EXPECT_EQ(widths, (std::set<int>{15, 20, 25}));
  EXPECT_GE(*altars.begin(), 10);
  EXPECT_LT(*altars.rbegin(), 50);
  EXPECT_GE(altars.size(), static_cast<std::size_t>(Curriculum::kRangeDraws));  // the draws differ
  for (double p : c.probabilities()) EXPECT_DOUBLE_EQ(p, 1.0 / 27);
}

// A curriculum's state round-trips exactly: a copy loaded from it continues with the same draws and weights.
TEST(Curriculum, StateRoundTripsExactly) {
  const std::string path = std::string(METTA_SOURCE_DIR) + "/tests/data/curriculum_hearts.yaml";
  Curriculum a = load_curriculum(path, 9), b = load_curriculum(path, 9);
  std::mt19937_64 scores(4);
  for (int k = 0; k < 40; ++k) a.complete(scores() % 2, static_cast<double>(scores() % 100) / 100.0);
  b.load_state(a.save_state());
  EXPECT_EQ(a.save_state(), b.save_state());
  for (int k = 0; k < 60; ++k) {
    const std::size_t t = scores() % 2;
    const double s = static_cast<double>(scores() % 100) / 100.0;
    a.complete(t, s);
    b.complete(t, s);
    ASSERT_EQ(a.probabilities(), b.probabilities()) << k;
  }
  EXPECT_EQ(a.take_stats(), b.take_stats());
  Curriculum fresh = load_curriculum(path, 9);
  EXPECT_NE(fresh.save_state(), a.save_state());
  EXPECT_THROW(fresh.load_state("{}"), metta::Error);
  EXPECT_THROW(load_curriculum("simple").load_state(a.save_state()), metta::Error);  // another curriculum
}
