// The batched env as a whole: maps of the simple env, determinism (seed, thread count), no allocation
// in step, auto-reset and completed-episode statistics, bad actions, the world-state size budget.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "scenario.h"
#include "tests/error_of.h"
#include "kernels/phase_timer.h"
#include "kernels/captured_work.h"

using namespace metta;
using namespace metta::test;

namespace {
std::uint64_t run_random(int threads, std::uint64_t seed, int envs, int steps) {
  engine::BatchedEnv env(engine::default_env_config(), envs, seed, kernels::Context::cpu(threads));
  for (int t = 0; t < steps; ++t) {
    env.random_actions(seed + 100, static_cast<std::uint32_t>(t));
    env.step();
  }
  return env.state_hash();
}
}  // namespace

TEST(Env, SimpleMapHasTheReferenceComposition) {
  engine::BatchedEnv env(engine::default_env_config(), 3, 7, kernels::Context::cpu(1));
  for (std::int64_t e = 0; e < 3; ++e) {
    std::map<std::string, int> counts;
    int agents_per_room[4] = {0, 0, 0, 0};
    for (auto& o : env.grid_objects(e)) {
      counts[o.type_name]++;
      const bool border = o.r < 6 || o.c < 6 || o.r >= 56 || o.c >= 56;
      if (border) {
        EXPECT_EQ(o.type_name, "wall") << o.r << "," << o.c;
        counts["border"]++;
      }
      if (o.agent_id >= 0) agents_per_room[(o.r >= 31) * 2 + (o.c >= 31)]++;
    }
    EXPECT_EQ(counts["agent"], 24);
    EXPECT_EQ(counts["mine_red"], 40);
    EXPECT_EQ(counts["generator_red"], 20);
    EXPECT_EQ(counts["altar"], 20);
    EXPECT_EQ(counts["block"], 80);
    EXPECT_EQ(counts["border"], 62 * 62 - 50 * 50);
    EXPECT_EQ(counts["wall"], 80 + counts["border"]);
    for (int r = 0; r < 4; ++r) EXPECT_EQ(agents_per_room[r], 6);
  }
  // different envs and different episodes get different layouts; agent ids follow the scan order
  auto pos = [](const std::vector<engine::GridObject>& objs) {
    std::vector<std::pair<int, int>> p;
    int last = -1;
    for (auto& o : objs)
      if (o.agent_id >= 0) {
        EXPECT_EQ(o.agent_id, last + 1);
        last = o.agent_id;
        p.push_back({o.r, o.c});
      }
    return p;
  };
  const auto e0 = pos(env.grid_objects(0)), e1 = pos(env.grid_objects(1));
  EXPECT_NE(e0, e1);
  env.reset();
  EXPECT_NE(pos(env.grid_objects(0)), e0);
}

TEST(Env, SameSeedSameStateAndThreadCountDoesNotMatter) {
  const std::uint64_t a = run_random(1, 42, 6, 300);
  EXPECT_EQ(a, run_random(1, 42, 6, 300));
  EXPECT_EQ(a, run_random(2, 42, 6, 300));
  EXPECT_NE(a, run_random(1, 43, 6, 300));
}

TEST(Env, ResetWithASeedStartsOverAsANewBatchOfThatSeed) {
  // Python's reset(seed=...) and Gymnasium's checker rely on it: the same episodes, stats and counters.
  const engine::EnvConfig cfg = engine::default_env_config();
  engine::BatchedEnv fresh(cfg, 3, 11, kernels::Context::cpu(1));
  engine::BatchedEnv reused(cfg, 3, 5, kernels::Context::cpu(1));
  for (int t = 0; t < 40; ++t) {
    reused.random_actions(9, static_cast<std::uint32_t>(t));
    reused.step();
  }
  ASSERT_NE(reused.state_hash(), fresh.state_hash());
  reused.reset(11);
  EXPECT_EQ(reused.seed(), 11u);
  EXPECT_EQ(reused.state_hash(), fresh.state_hash());
  for (int t = 0; t < 30; ++t) {
    fresh.random_actions(3, static_cast<std::uint32_t>(t));
    reused.random_actions(3, static_cast<std::uint32_t>(t));
    fresh.step();
    reused.step();
  }
  EXPECT_EQ(reused.state_hash(), fresh.state_hash());
  EXPECT_EQ(reused.completed_episodes().episodes, fresh.completed_episodes().episodes);
}

TEST(Env, CpuThreadsSetAfterConstructionGiveTheSameState) {
  engine::BatchedEnv env(engine::default_env_config(), 4, 3, kernels::Context::cpu(1));
  env.set_cpu_threads(2);
  for (int t = 0; t < 25; ++t) {
    env.random_actions(4, static_cast<std::uint32_t>(t));
    env.step();
  }
  engine::BatchedEnv serial(engine::default_env_config(), 4, 3, kernels::Context::cpu(1));
  for (int t = 0; t < 25; ++t) {
    serial.random_actions(4, static_cast<std::uint32_t>(t));
    serial.step();
  }
  EXPECT_EQ(env.state_hash(), serial.state_hash());
  EXPECT_NE(metta::testing::error_of([&] { env.set_cpu_threads(-1); }).find("threads: got -1"), std::string::npos);
}

TEST(Env, StepAllocatesNothingIncludingAutoResets) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 20;  // several auto-resets inside the measured window
  engine::BatchedEnv env(cfg, 4, 1, kernels::Context::cpu(2));
  env.random_actions(1, 0);
  env.step();
  const auto live = kernels::live_bytes(kernels::Device::CPU);
  const auto allocs = kernels::alloc_count(kernels::Device::CPU);
  const auto copies = kernels::copy_stats().calls;
  for (int t = 1; t < 100; ++t) {
    env.random_actions(1, static_cast<std::uint32_t>(t));
    env.step();
  }
  EXPECT_EQ(kernels::live_bytes(kernels::Device::CPU), live);
  EXPECT_EQ(kernels::alloc_count(kernels::Device::CPU), allocs);
  EXPECT_EQ(kernels::copy_stats().calls, copies);
  EXPECT_GE(env.completed_episodes().episodes, 4.0 * 4);
}

// The timed step (three passes: resets, step, observations; metta sim --json's breakdown) gives the
// fused step's results, and its phase timer sees every pass of every round.
TEST(Env, TimedStepMatchesTheStepAndTimesEachPass) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 30;
  const kernels::Context ctx = kernels::Context::cpu(2);
  engine::BatchedEnv a(cfg, 6, 4, ctx), b(cfg, 6, 4, ctx);
  kernels::PhaseTimer timer(ctx, {"actions", "resets", "step", "observations"});
  for (int t = 0; t < 100; ++t) {
    a.random_actions(9, static_cast<std::uint32_t>(t));
    a.step();
    timer.begin_round();
    b.random_actions(9, static_cast<std::uint32_t>(t));
    timer.end_phase(timer.phase_of("actions"));
    b.step_timed(timer);
    timer.end_round();
    ASSERT_EQ(a.state_hash(), b.state_hash()) << "step " << t;
    ASSERT_EQ(a.observations_host(), b.observations_host()) << "step " << t;
  }
  EXPECT_EQ(timer.rounds(), 100);
  for (int p = 0; p < 4; ++p) EXPECT_GT(timer.seconds(p), 0.0) << timer.names()[p];
  EXPECT_EQ(a.completed_episodes().episodes, b.completed_episodes().episodes);
  EXPECT_EQ(b.bytes_written_per_agent_step(), 200 * 3 + 4 + 3);
  EXPECT_NE(metta::testing::error_of([&] { timer.phase_of("render"); }).find("no phase 'render'"), std::string::npos);
}

// Actions drawn from a counter on the device, advanced by each draw (what a captured sequence of steps
// replays: metta sim --graph-steps), are random_actions(seed, 0), (seed, 1), ...; on the CPU a
// CapturedWork replays by running its work again.
TEST(Env, CountedRandomActionsReplayAsThePlainLoop) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 25;
  const kernels::Context ctx = kernels::Context::cpu(2);
  engine::BatchedEnv plain(cfg, 5, 2, ctx), counted(cfg, 5, 2, ctx);
  counted.set_action_counter(0);
  kernels::CapturedWork work(ctx, [&] {
    for (int i = 0; i < 4; ++i) {
      counted.random_actions_counted(7);
      counted.step();
    }
  });
  for (int r = 0; r < 15; ++r) {
    work.replay();
    for (int i = 0; i < 4; ++i) {
      plain.random_actions(7, static_cast<std::uint32_t>(r * 4 + i));
      plain.step();
    }
    ASSERT_EQ(plain.state_hash(), counted.state_hash()) << "replay " << r;
  }
  EXPECT_GT(plain.completed_episodes().episodes, 0);
  engine::BatchedEnv unset(cfg, 1, 2, ctx);
  EXPECT_NE(metta::testing::error_of([&] { unset.random_actions_counted(7); }).find("set_action_counter"),
            std::string::npos);
}

// Each finished episode's own score (the mean over agents of their episode rewards) is kept per env,
// up to engine::kKeptScores between readouts; a readout that clears starts them again.
TEST(Env, EpisodeScoresKeptPerEnvUntilCleared) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 10;
  engine::BatchedEnv env({cfg, cfg}, 3, 2, kernels::Context::cpu(1));
  for (int t = 0; t < 25; ++t) {  // two episodes per env
    env.random_actions(5, static_cast<std::uint32_t>(t));
    env.step();
  }
  auto scores = env.completed_episode_scores();
  const auto by_task = env.completed_episodes_by_task(false);
  ASSERT_EQ(scores.size(), 6u);
  double sum = 0;
  for (const auto& s : scores) {
    EXPECT_TRUE(s.task == 0 || s.task == 1);
    sum += s.score;
  }
  EXPECT_NEAR(sum, by_task[0].reward_sum + by_task[1].reward_sum, 1e-5);
  for (int t = 25; t < 70; ++t) {  // six more per env: only the first kKeptScores are kept
    env.random_actions(5, static_cast<std::uint32_t>(t));
    env.step();
  }
  EXPECT_EQ(env.completed_episode_scores().size(), 3u * engine::kKeptScores);
  EXPECT_GT(env.completed_episodes().episodes, 3.0 * engine::kKeptScores);
  EXPECT_TRUE(env.completed_episode_scores().empty());  // cleared with the episodes
}

TEST(Env, RandomFirstEpisodeLengthsThenConfiguredLength) {
  engine::EnvConfig cfg = engine::default_env_config();
  cfg.max_steps = 50;
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv env(cfg, 16, 9, kernels::Context::cpu(1), opt);
  std::set<int> lengths;
  for (int e = 0; e < 16; ++e) {
    const int m = env.episode_max_steps(e);
    EXPECT_GE(m, 1);
    EXPECT_LE(m, 50);
    lengths.insert(m);
  }
  EXPECT_GT(lengths.size(), 4u);
  for (int t = 0; t < 52; ++t) {
    env.random_actions(3, static_cast<std::uint32_t>(t));
    env.step();
  }
  for (int e = 0; e < 16; ++e) EXPECT_EQ(env.episode_max_steps(e), 50);
}

TEST(Env, GarbageActionsAreFailuresNotCrashes) {
  engine::BatchedEnv env(engine::default_env_config(), 2, 1, kernels::Context::cpu(1));
  std::mt19937 rng(3);
  std::vector<std::int32_t> acts(static_cast<std::size_t>(env.total_agents() * 2));
  for (int t = 0; t < 30; ++t) {
    for (auto& a : acts) a = static_cast<std::int32_t>(rng());  // anything, negative included
    env.set_actions_host(acts);
    env.step();
  }
  const auto st = env.episode_stats(0);
  float invalid = 0;
  for (auto& m : st.agent) {
    auto it = m.find("action.invalid_type");
    if (it != m.end()) invalid += it->second;
  }
  EXPECT_EQ(invalid, 30.0f * env.num_agents());
  for (auto s : env.action_success_host()) EXPECT_EQ(s, 0);
  EXPECT_THROW(env.set_actions_host(std::vector<std::int32_t>(3, 0)), metta::Error);
  EXPECT_THROW(env.grid_objects(5), metta::Error);
}

TEST(Env, WorldStateFitsTheBudgetPerSimpleEnv) {
  engine::BatchedEnv env(engine::default_env_config(), 2, 1, kernels::Context::cpu(1));
  EXPECT_LE(env.world_bytes_per_env(), 64u * 1024u);
}

TEST(Env, CompletedEpisodesAverageOverEpisodesAndAgents) {
  engine::EnvConfig cfg = ascii_config({"####", "#A.#", "#.A#", "####"});
  cfg.max_steps = 4;
  Scenario s(cfg, 1, 3);
  for (int t = 0; t < 5; ++t) s.step({{kChangeColor, 0}, {kNoop, 0}});  // 4 steps, then the reset step
  auto done = s.env.completed_episodes(false);
  EXPECT_EQ(done.episodes, 3.0);
  EXPECT_DOUBLE_EQ(done.agent["action.change_color.success"], 2.0);  // 4 by one agent of two
  EXPECT_DOUBLE_EQ(done.agent["action.noop.success"], 2.0);
  EXPECT_DOUBLE_EQ(done.game["tokens_written"] > 0, true);
  EXPECT_DOUBLE_EQ(done.mean_reward, 0.0);
}
