// One scenario per game rule (game-rules.md §1–5): tiny ASCII maps, scripted actions, exact expected
// positions, inventories, rewards, stats and flags.
#include <gtest/gtest.h>

#include <set>

#include <regex>

#include "engine/env_ref.h"
#include "scenario.h"

using namespace metta;
using namespace metta::test;
using engine::EnvConfig;

namespace {
const std::vector<std::pair<int, int>> kNoop1 = {{kNoop, 0}};
}

TEST(Rules, ObjectIdsFollowRowMajorScanAndLayers) {
  Scenario s(ascii_config({"#####", "#.m.#", "#.A.#", "#####"}));
  auto objs = s.env.grid_objects(0);
  ASSERT_EQ(objs.size(), 5u + 3u + 3u + 5u);
  EXPECT_EQ(objs[6].type_name, "mine_red");  // id 7: row 1, after the wall at (1,0)
  EXPECT_EQ(objs[6].id, 7);
  EXPECT_EQ(objs[6].layer, engine::kObjectLayer);
  EXPECT_EQ(objs[9].type_name, "agent");
  EXPECT_EQ(objs[9].agent_id, 0);
  EXPECT_EQ(objs[9].r, 2);
  EXPECT_EQ(objs[9].c, 2);
  EXPECT_EQ(objs[9].layer, engine::kAgentLayer);
  EXPECT_EQ(objs[9].feature("agent:orientation"), 0);  // agents start facing Up
  EXPECT_EQ(objs[0].type_id, 1);
}

TEST(Rules, MoveForwardBackwardAndBlocked) {
  Scenario s(ascii_config({"#####", "#...#", "#.A.#", "#...#", "#####"}));
  s.step({{kMove, 0}});  // forward = up
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.agent(0).r, 1);
  s.step({{kMove, 0}});  // wall
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.agent(0).r, 1);
  s.step({{kMove, 1}});  // backward = down, orientation unchanged
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.agent(0).r, 2);
  EXPECT_EQ(s.agent(0).feature("agent:orientation"), 0);
  s.step({{kRotate, 3}});  // face right
  s.step({{kMove, 0}});
  EXPECT_EQ(s.agent(0).c, 3);
  EXPECT_EQ(s.agent_stat(0, "action.move.success"), 3.0f);
  EXPECT_EQ(s.agent_stat(0, "action.move.failed"), 1.0f);
}

TEST(Rules, MoveIntoConverterOrAgentFailsAndGridEdgeWithoutBorderFails) {
  Scenario s(ascii_config({"A.", "m.", "A."}));
  s.step({{kMove, 0}, {kMove, 0}});  // agent 0 at row 0 faces up (outside); agent 1 faces the mine
  EXPECT_FALSE(s.success(0));
  EXPECT_FALSE(s.success(1));
  s.step({{kRotate, 1}, {kNoop, 0}});
  s.step({{kMove, 0}, {kNoop, 0}});  // down onto the mine
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.agent(0).r, 0);
}

TEST(Rules, RotateSetsOrientation) {
  Scenario s(ascii_config({"###", "#A#", "###"}));
  for (int o : {3, 1, 2, 0}) {
    s.step({{kRotate, o}});
    EXPECT_TRUE(s.success(0));
    EXPECT_EQ(s.agent(0).feature("agent:orientation"), o);
  }
}

TEST(Rules, MineProducesAtStepOneThenEvery51Steps) {
  Scenario s(ascii_config({"#####", "#.m.#", "#.A.#", "#####"}));
  EXPECT_EQ(s.at(1, 2).feature("converting"), 1);  // started at reset, finishes at step 1
  s.step({{kGet, 0}});
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.inv(0, "ore_red"), 1);
  EXPECT_EQ(s.at(1, 2).feature("converting"), 1);  // cooling down until step 51
  s.noop(49);                                        // steps 2..50
  s.step({{kGet, 0}});                               // step 51: conversion restarts, done at 52
  EXPECT_FALSE(s.success(0));
  s.step({{kGet, 0}});                               // step 52
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.inv(0, "ore_red"), 2);
  EXPECT_EQ(s.converter_stat(1, 2, "conversions.completed"), 2.0f);
  EXPECT_EQ(s.converter_stat(1, 2, "cooldown.started"), 2.0f);
  EXPECT_EQ(s.converter_stat(1, 2, "ore_red.produced"), 2.0f);
  EXPECT_EQ(s.converter_stat(1, 2, "mine_red.produced"), 2.0f);  // the converter type's key, once per conversion
  EXPECT_EQ(s.converter_stat(1, 2, "ore_red.removed"), 2.0f);
  EXPECT_EQ(s.agent_stat(0, "ore_red.get"), 2.0f);
  EXPECT_EQ(s.agent_stat(0, "ore_red.gained"), 2.0f);
  EXPECT_EQ(s.agent_stat(0, "action.get_output.failed"), 1.0f);
}

TEST(Rules, GeneratorConvertsPutInputsAndCoolsDown) {
  Scenario s(ascii_config({"#####", "#.g.#", "#.A.#", "#####"}));
  s.give(0, "ore_red", 2);
  s.step({{kPut, 0}});  // step 1: 1 ore in, conversion starts (done at step 2)
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.inv(0, "ore_red"), 1);
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 0);
  EXPECT_EQ(s.at(1, 2).feature("converting"), 1);
  s.step({{kGet, 0}});  // step 2: battery ready before actions
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.inv(0, "battery_red"), 1);
  s.step({{kPut, 0}});  // step 3: waits while cooling down (until 27)
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 1);
  s.step({{kGet, 0}});  // inputs cannot be taken
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.inv(0, "ore_red"), 0);
  s.noop(22);  // steps 5..26
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 1);
  s.noop(1);  // step 27: cooldown over, conversion starts
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 0);
  EXPECT_EQ(s.conv_inv(1, 2, "battery_red"), 0);
  s.noop(1);  // step 28
  EXPECT_EQ(s.conv_inv(1, 2, "battery_red"), 1);
  s.step({{kPut, 0}});  // nothing to put
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.converter_stat(1, 2, "ore_red.consumed"), 2.0f);
  EXPECT_EQ(s.converter_stat(1, 2, "ore_red.added"), 2.0f);
  EXPECT_GE(s.converter_stat(1, 2, "blocked.insufficient_input"), 1.0f);
}

TEST(Rules, AltarHeartGivesRewardAndPuttingAHeartTakesItBack) {
  EnvConfig cfg = ascii_config({"#####", "#atT#", "#.AA#", "#####"}, {{'t', "temple"}, {'T', "lasery"}});
  engine::ObjectConfig temple;
  temple.name = "temple";
  temple.type_id = 13;
  temple.converter = true;
  temple.recipe_input = {{"heart", 1}, {"blueprint", 1}};
  temple.recipe_output = {{"heart", 5}};
  temple.max_output = 5;
  temple.conversion_ticks = 1;
  temple.cooldown = 5;
  cfg.objects.push_back(temple);
  Scenario s(cfg);
  // agent 0 at (2,2) faces the temple; agent 1 at (2,3) faces the lasery; the altar is at (1,1)
  s.give(0, "battery_red", 3);
  s.step({{kRotate, 2}, {kNoop, 0}});  // face left, toward (2,1)
  s.step({{kMove, 0}, {kNoop, 0}});    // to (2,1), below the altar
  s.step({{kRotate, 0}, {kNoop, 0}});
  s.step({{kPut, 0}, {kNoop, 0}});  // step 4: 3 batteries in
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.inv(0, "battery_red"), 0);
  s.step({{kGet, 0}, {kNoop, 0}});  // step 5: heart
  EXPECT_EQ(s.inv(0, "heart"), 1);
  EXPECT_FLOAT_EQ(s.reward(0), 1.0f);
  EXPECT_FLOAT_EQ(s.reward(1), 0.0f);
  s.step({{kRotate, 3}, {kNoop, 0}});
  s.step({{kMove, 0}, {kNoop, 0}});  // blocked by agent 1? no: (2,2) is free, agent 1 is at (2,3)
  EXPECT_EQ(s.agent(0).c, 2);
  s.step({{kRotate, 0}, {kNoop, 0}});
  s.step({{kPut, 0}, {kNoop, 0}});  // heart into the temple: reward -1
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.inv(0, "heart"), 0);
  EXPECT_FLOAT_EQ(s.reward(0), -1.0f);
  EXPECT_EQ(s.conv_inv(1, 2, "heart"), 1);  // waits for a blueprint
  const auto st = s.env.episode_stats(0);
  EXPECT_FLOAT_EQ(st.episode_rewards[0], 0.0f);
  // lasery takes both of its inputs at once
  s.give(1, "ore_red", 1);
  s.give(1, "battery_red", 2);
  s.step({{kNoop, 0}, {kPut, 0}});
  EXPECT_TRUE(s.success(1));
  EXPECT_EQ(s.inv(1, "ore_red"), 0);
  EXPECT_EQ(s.inv(1, "battery_red"), 0);
  EXPECT_EQ(s.at(1, 3).feature("converting"), 1);
  s.step({{kNoop, 0}, {kGet, 0}});
  EXPECT_EQ(s.inv(1, "laser"), 1);
}

TEST(Rules, RewardCapAndInventoryLimits) {
  EnvConfig cfg = ascii_config({"#####", "#.H.#", "#.A.#", "#####"}, {{'H', "heartsource"}});
  engine::ObjectConfig src;
  src.name = "heartsource";
  src.type_id = 20;
  src.converter = true;
  src.recipe_output = {{"heart", 1}, {"ore_red", 1}};
  src.max_output = 120;  // full at start (60 + 60): no conversion before the get
  src.conversion_ticks = 1;
  src.cooldown = 1000;
  src.initial_items = 60;
  cfg.objects.push_back(src);
  cfg.groups[0].props.reward_max["heart"] = 2.0f;
  Scenario s(cfg);
  s.step({{kGet, 0}});
  EXPECT_EQ(s.inv(0, "heart"), 60);    // heart_max 255
  EXPECT_EQ(s.inv(0, "ore_red"), 50);  // default_item_max 50
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 10);
  EXPECT_EQ(s.conv_inv(1, 2, "heart"), 0);
  EXPECT_FLOAT_EQ(s.reward(0), 2.0f);  // capped potential: min(60, 2) * 1
}

TEST(Rules, MaxOutputBlocksAndTakingOutputRestartsConversion) {
  EnvConfig cfg = ascii_config({"#####", "#.m.#", "#.A.#", "#####"});
  engine::ObjectConfig* mine = find_object(cfg, "mine_red");
  mine->cooldown = 0;
  mine->max_output = 2;
  Scenario s(cfg);
  s.noop(2);  // step 1: 1 ore (restart), step 2: 2 ore, blocked
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 2);
  EXPECT_EQ(s.at(1, 2).feature("converting"), 0);
  EXPECT_GE(s.converter_stat(1, 2, "blocked.output_full"), 1.0f);
  s.step({{kGet, 0}});  // step 3: take 2; conversion starts now, done at step 4
  EXPECT_EQ(s.inv(0, "ore_red"), 2);
  EXPECT_EQ(s.at(1, 2).feature("converting"), 1);
  s.noop(1);
  EXPECT_EQ(s.conv_inv(1, 2, "ore_red"), 1);
  EXPECT_EQ(s.converter_stat(1, 2, "conversions.started"), 4.0f);  // steps 0, 1, 3, 4
}

TEST(Rules, ZeroTickConversions) {
  EnvConfig cfg = ascii_config({"#####", "#mAg#", "#####"});
  engine::ObjectConfig* mine = find_object(cfg, "mine_red");
  mine->conversion_ticks = 0;
  mine->cooldown = 0;
  engine::ObjectConfig* gen = find_object(cfg, "generator_red");
  gen->conversion_ticks = 0;
  Scenario s(cfg);
  EXPECT_EQ(s.conv_inv(1, 1, "ore_red"), 0);
  s.step({{kRotate, 3}});  // step 1: the mine fills to max_output within the step
  EXPECT_EQ(s.conv_inv(1, 1, "ore_red"), 5);
  s.give(0, "ore_red", 1);
  s.step({{kPut, 0}});  // step 2: a zero-tick conversion started by an action completes next step
  EXPECT_EQ(s.conv_inv(1, 3, "battery_red"), 0);
  EXPECT_EQ(s.at(1, 3).feature("converting"), 1);
  s.noop(1);
  EXPECT_EQ(s.conv_inv(1, 3, "battery_red"), 1);
}

namespace {
// A 9x9 walled map with the attacker at (4,4) and one target agent at (tr, tc).
EnvConfig attack_map(int tr, int tc) {
  std::vector<std::string> rows(9, "#.......#");
  rows[0] = rows[8] = "#########";
  rows[4][4] = 'A';
  if (tr >= 0) rows[static_cast<std::size_t>(tr)][static_cast<std::size_t>(tc)] = 'A';
  return ascii_config(rows);
}
int agent_at(const Scenario& s, int r, int c) { return s.at(r, c, engine::kAgentLayer).agent_id; }
}  // namespace

TEST(Rules, AttackArgsMapToTheThreeByThreeBlockInFront) {
  // For each orientation: (distance, offset) of args 1..9, offset + = the agent's left.
  for (int orient = 0; orient < 4; ++orient) {
    for (int arg = 1; arg <= 9; ++arg) {
      const int d = 1 + (arg - 1) / 3, off = 1 - (arg - 1) % 3;
      int tr, tc;
      engine::relative_location(4, 4, orient, d, off, tr, tc);
      // independent expectation from the table: Up (r-d, c-off), Down (r+d, c+off), Left (r+off, c-d), Right (r-off, c+d)
      const int er[4] = {4 - d, 4 + d, 4 + off, 4 - off}, ec[4] = {4 - off, 4 + off, 4 - d, 4 + d};
      ASSERT_EQ(tr, er[orient]);
      ASSERT_EQ(tc, ec[orient]);
      Scenario s(attack_map(tr, tc));
      const int me = agent_at(s, 4, 4), them = agent_at(s, tr, tc);
      s.give(me, "laser", 1);
      std::vector<std::pair<int, int>> acts(2, {kNoop, 0});
      acts[me] = {kRotate, orient};
      s.step(acts);
      acts[me] = {kAttack, arg};
      s.step(acts);
      EXPECT_TRUE(s.success(me)) << "orient " << orient << " arg " << arg;
      EXPECT_EQ(s.agent(them).feature("agent:frozen"), 1) << "orient " << orient << " arg " << arg;
      EXPECT_EQ(s.inv(me, "laser"), 0);
    }
  }
}

TEST(Rules, AttackMissSpendsLaserArgZeroFailsAndNoLaserSpendsNothing) {
  EnvConfig cfg = attack_map(-1, -1);
  cfg.groups[0].props.action_failure_penalty = 0.5f;
  Scenario s(cfg);
  s.give(0, "laser", 2);
  s.step({{kAttack, 5}});  // nobody there
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.inv(0, "laser"), 1);
  EXPECT_FLOAT_EQ(s.reward(0), -0.5f);
  s.step({{kAttack, 0}});  // arg 0 fails, still spends
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.inv(0, "laser"), 0);
  s.step({{kAttack, 2}});  // no laser: fails without spending
  EXPECT_FALSE(s.success(0));
  EXPECT_EQ(s.agent_stat(0, "action.attack.failed"), 3.0f);
  EXPECT_EQ(s.agent_stat(0, "laser.lost"), 2.0f);
}

TEST(Rules, AttackFreezesStealsAndRunsBeforeMoves) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    EnvConfig cfg = attack_map(3, 4);  // target right in front (arg 2)
    cfg.groups[0].props.action_failure_penalty = 0.5f;
    Scenario s(cfg, seed);
    const int me = agent_at(s, 4, 4), them = agent_at(s, 3, 4);
    s.give(me, "laser", 1);
    s.give(them, "ore_red", 3);
    s.give(them, "heart", 2);
    std::vector<std::pair<int, int>> acts(2);
    acts[me] = {kAttack, 2};
    acts[them] = {kMove, 0};  // tries to flee; the attack (priority 1) resolves first
    s.step(acts);
    ASSERT_TRUE(s.success(me));
    EXPECT_FALSE(s.success(them));
    EXPECT_EQ(s.agent(them).r, 3);
    EXPECT_EQ(s.inv(me, "ore_red"), 3);
    EXPECT_EQ(s.inv(me, "heart"), 2);
    EXPECT_EQ(s.inv(them, "heart"), 0);
    EXPECT_FLOAT_EQ(s.reward(me), 2.0f);
    EXPECT_FLOAT_EQ(s.reward(them), -2.0f);  // no failure penalty while frozen
    EXPECT_EQ(s.agent_stat(me, "heart.stolen.agent"), 2.0f);
    EXPECT_EQ(s.agent_stat(them, "heart.stolen_from.agent"), 2.0f);
    EXPECT_EQ(s.agent_stat(me, "attack.win.agent"), 1.0f);
    EXPECT_EQ(s.agent_stat(them, "attack.loss.agent"), 1.0f);
    // frozen for steps 1..10 (freeze_duration 10): flag already 0 after step 10, acts at step 11
    acts[me] = {kNoop, 0};
    for (int t = 2; t <= 10; ++t) {
      s.step(acts);
      ASSERT_FALSE(s.success(them)) << t;
      ASSERT_FLOAT_EQ(s.reward(them), 0.0f);
    }
    EXPECT_EQ(s.agent(them).feature("agent:frozen"), 0);
    EXPECT_EQ(s.agent_stat(them, "status.frozen.ticks"), 10.0f);
    EXPECT_EQ(s.agent_stat(them, "action.move.failed"), 0.0f);
    s.step(acts);
    EXPECT_TRUE(s.success(them));
    EXPECT_EQ(s.agent(them).r, 2);
  }
}

TEST(Rules, ArmorBlocksAndFrozenTargetsAreNotRobbedTwice) {
  Scenario s(attack_map(3, 4));
  const int me = agent_at(s, 4, 4), them = agent_at(s, 3, 4);
  s.give(me, "laser", 3);
  s.give(them, "armor", 1);
  s.give(them, "ore_red", 4);
  std::vector<std::pair<int, int>> acts(2, {kNoop, 0});
  acts[me] = {kAttack, 2};
  s.step(acts);  // blocked: armor spent, no freeze, attack succeeds
  EXPECT_TRUE(s.success(me));
  EXPECT_EQ(s.inv(them, "armor"), 0);
  EXPECT_EQ(s.agent(them).feature("agent:frozen"), 0);
  EXPECT_EQ(s.inv(me, "ore_red"), 0);
  EXPECT_EQ(s.agent_stat(me, "attack.blocked.agent"), 1.0f);  // the attacker's record
  EXPECT_EQ(s.agent_stat(them, "attack.blocked.agent"), 0.0f);
  s.step(acts);  // freezes and steals
  EXPECT_EQ(s.inv(me, "ore_red"), 4);
  s.give(them, "ore_red", 5);
  s.step(acts);  // already frozen: re-frozen, nothing stolen
  EXPECT_TRUE(s.success(me));
  EXPECT_EQ(s.inv(me, "ore_red"), 4);
  EXPECT_EQ(s.inv(them, "ore_red"), 5);
  EXPECT_EQ(s.agent_stat(me, "attack.frozen_target.agent"), 1.0f);
}

// The confirmed stat keys of game-rules.md §10 across two teams: group suffixes name the stat owner's
// group first, every hit records the detailed attack keys, the attacker records blocks, frozen ticks carry
// the frozen agent's group.
TEST(Rules, AttackStatsNameTheOwnersGroupFirst) {
  EnvConfig cfg = ascii_config({"#########", "#.......#", "#.......#", "#...2...#", "#...1...#", "#.......#", "#########"},
                               {{'1', "agent.red"}, {'2', "agent.blue"}});
  engine::GroupConfig red = cfg.groups[0], blue = cfg.groups[0];
  red.name = "red", red.id = 0;
  blue.name = "blue", blue.id = 1;
  cfg.groups = {red, blue};
  Scenario s(cfg);
  const int me = agent_at(s, 4, 4), them = agent_at(s, 3, 4);
  s.give(me, "laser", 2);
  s.give(them, "armor", 1);
  s.give(them, "heart", 2);
  std::vector<std::pair<int, int>> acts(2, {kNoop, 0});
  acts[me] = {kAttack, 2};
  s.step(acts);  // blocked by the armor: the attacker's record, the target's group first
  EXPECT_EQ(s.agent_stat(me, "attack.blocked.blue"), 1.0f);
  EXPECT_EQ(s.agent_stat(me, "attack.blocked.blue.red"), 1.0f);
  EXPECT_EQ(s.agent_stat(them, "attack.blocked.blue"), 0.0f);
  EXPECT_EQ(s.agent_stat(them, "attack.blocked.blue.red"), 0.0f);
  s.step(acts);  // a win: freezes and steals
  EXPECT_EQ(s.agent_stat(me, "action.attack.agent"), 2.0f);  // every hit
  EXPECT_EQ(s.agent_stat(me, "action.attack.agent.red"), 2.0f);
  EXPECT_EQ(s.agent_stat(me, "action.attack.agent.red.blue"), 2.0f);
  EXPECT_EQ(s.agent_stat(me, "attack.other_team.red"), 2.0f);
  EXPECT_EQ(s.agent_stat(me, "attack.own_team.red"), 0.0f);
  EXPECT_EQ(s.agent_stat(me, "attack.win.red"), 1.0f);
  EXPECT_EQ(s.agent_stat(me, "attack.win.red.blue"), 1.0f);
  EXPECT_EQ(s.agent_stat(me, "attack.win.other_team.red"), 1.0f);
  EXPECT_EQ(s.agent_stat(them, "attack.loss.blue"), 1.0f);
  EXPECT_EQ(s.agent_stat(them, "attack.loss.blue.red"), 1.0f);
  EXPECT_EQ(s.agent_stat(them, "attack.loss.from_other_team.blue"), 1.0f);
  EXPECT_EQ(s.agent_stat(me, "heart.stolen.red"), 2.0f);
  EXPECT_EQ(s.agent_stat(them, "heart.stolen_from.blue"), 2.0f);
  acts[me] = {kNoop, 0};
  s.step(acts);  // frozen in the attack's step (its own action came after) and this one
  EXPECT_EQ(s.agent_stat(them, "status.frozen.ticks"), 2.0f);
  EXPECT_EQ(s.agent_stat(them, "status.frozen.ticks.blue"), 2.0f);
  // the episode's game stats count walls and converters, never agents
  const auto stats = s.env.episode_stats(0);
  EXPECT_EQ(stats.game.count("objects.agent"), 0u);
  EXPECT_GT(stats.game.at("objects.wall"), 0.0f);
}

TEST(Rules, AttackNearestScansCentreLeftRightByDistance) {
  {  // (3,3) is the left cell at distance 2, (3,5) the right one: left wins
    std::vector<std::string> rows = {"#########", "#.......#", "#.......#", "#..A.A..#", "#.......#",
                                     "#...A...#", "#.......#", "#.......#", "#########"};
    Scenario s(ascii_config(rows));
    const int me = agent_at(s, 5, 4), left = agent_at(s, 3, 3), right = agent_at(s, 3, 5);
    s.give(me, "laser", 1);
    std::vector<std::pair<int, int>> acts(3, {kNoop, 0});
    acts[me] = {kAttackNearest, 0};
    s.step(acts);
    EXPECT_TRUE(s.success(me));
    EXPECT_EQ(s.agent(left).feature("agent:frozen"), 1);
    EXPECT_EQ(s.agent(right).feature("agent:frozen"), 0);
  }
  {  // distance first: the right cell at distance 1 beats the centre at distance 2
    std::vector<std::string> rows = {"#########", "#.......#", "#.......#", "#...A...#", "#....A..#",
                                     "#...A...#", "#.......#", "#.......#", "#########"};
    Scenario s(ascii_config(rows));
    const int me = agent_at(s, 5, 4), near = agent_at(s, 4, 5), far = agent_at(s, 3, 4);
    s.give(me, "laser", 1);
    std::vector<std::pair<int, int>> acts(3, {kNoop, 0});
    acts[me] = {kAttackNearest, 0};
    s.step(acts);
    EXPECT_EQ(s.agent(near).feature("agent:frozen"), 1);
    EXPECT_EQ(s.agent(far).feature("agent:frozen"), 0);
  }
  {  // nobody in the cone: fails
    Scenario s(attack_map(-1, -1));
    s.give(0, "laser", 1);
    s.step({{kAttackNearest, 0}});
    EXPECT_FALSE(s.success(0));
  }
}

TEST(Rules, SwapWithBlocksAndFrozenAgentsOnly) {
  Scenario s(ascii_config({"#####", "#.b.#", "#.A.#", "#.#.#", "#####"}));
  s.step({{kSwap, 0}});
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.agent(0).r, 1);
  EXPECT_EQ(s.at(2, 2).type_name, "block");
  EXPECT_EQ(s.agent_stat(0, "action.swap.block"), 1.0f);
  s.step({{kSwap, 0}});  // wall above
  EXPECT_FALSE(s.success(0));
  s.step({{kRotate, 1}});
  s.step({{kSwap, 0}});  // the block again
  EXPECT_TRUE(s.success(0));
  EXPECT_EQ(s.agent(0).r, 2);
  s.step({{kSwap, 0}});  // wall below at (3,2)
  EXPECT_FALSE(s.success(0));

  Scenario t(attack_map(3, 4));
  const int me = agent_at(t, 4, 4), them = agent_at(t, 3, 4);
  std::vector<std::pair<int, int>> acts(2, {kNoop, 0});
  acts[me] = {kSwap, 0};
  t.step(acts);  // a live agent cannot be swapped
  EXPECT_FALSE(t.success(me));
  t.give(me, "laser", 1);
  acts[me] = {kAttack, 2};
  t.step(acts);
  acts[me] = {kSwap, 0};
  t.step(acts);
  EXPECT_TRUE(t.success(me));
  EXPECT_EQ(t.agent(me).r, 3);
  EXPECT_EQ(t.agent(them).r, 4);
}

TEST(Rules, ChangeColorWithinBounds) {
  Scenario s(ascii_config({"###", "#A#", "###"}));
  s.step({{kChangeColor, 1}});  // 0 - 1: stays 0
  EXPECT_EQ(s.agent(0).feature("agent:color"), 0);
  s.step({{kChangeColor, 0}});
  EXPECT_EQ(s.agent(0).feature("agent:color"), 1);
  for (int i = 0; i < 7; ++i) s.step({{kChangeColor, 2}});
  EXPECT_EQ(s.agent(0).feature("agent:color"), 128);
  s.step({{kChangeColor, 2}});  // 128 > 127: unchanged
  EXPECT_EQ(s.agent(0).feature("agent:color"), 128);
  s.step({{kChangeColor, 3}});
  EXPECT_EQ(s.agent(0).feature("agent:color"), 64);
  s.step({{kChangeColor, 1}});
  EXPECT_EQ(s.agent(0).feature("agent:color"), 63);
  EXPECT_TRUE(s.success(0));
}

TEST(Rules, InvalidActionsArePenalisedOnceAndCounted) {
  EnvConfig cfg = ascii_config({"###", "#A#", "###"});
  cfg.groups[0].props.action_failure_penalty = 0.25f;
  Scenario s(cfg);
  s.step({{99, 0}});
  EXPECT_FALSE(s.success(0));
  EXPECT_FLOAT_EQ(s.reward(0), -0.25f);
  s.step({{-1, 0}});
  EXPECT_FLOAT_EQ(s.reward(0), -0.25f);
  s.step({{kMove, 2}});  // move has max_arg 1
  EXPECT_FLOAT_EQ(s.reward(0), -0.25f);
  s.step({{kRotate, -3}});
  EXPECT_FLOAT_EQ(s.reward(0), -0.25f);
  s.step({{kMove, 0}});  // a handled failure (wall)
  EXPECT_FLOAT_EQ(s.reward(0), -0.25f);
  EXPECT_EQ(s.agent_stat(0, "action.invalid_type"), 2.0f);
  EXPECT_EQ(s.agent_stat(0, "action.invalid_arg"), 2.0f);
  EXPECT_EQ(s.agent_stat(0, "action.failure_penalty"), 1.0f);
  EXPECT_FLOAT_EQ(s.env.episode_stats(0).episode_rewards[0], -1.25f);
  // action.invalid_arg.<type>.<arg>, the numbers as the reference writes them: for the engine::kInvalidArgKeys
  // args above max_arg; a negative arg (rotate, -3) and one further out count only in the total
  EXPECT_EQ(s.agent_stat(0, "action.invalid_arg." + std::to_string(kMove) + ".2"), 1.0f);
  s.step({{kMove, 2}});
  s.step({{kMove, 1 + engine::kInvalidArgKeys}});
  s.step({{kMove, 2 + engine::kInvalidArgKeys}});
  s.step({{kMove, 1 << 30}});
  EXPECT_EQ(s.agent_stat(0, "action.invalid_arg"), 6.0f);
  EXPECT_EQ(s.agent_stat(0, "action.invalid_arg." + std::to_string(kMove) + ".2"), 2.0f);
  EXPECT_EQ(s.agent_stat(0, "action.invalid_arg." + std::to_string(kMove) + "." + std::to_string(1 + engine::kInvalidArgKeys)), 1.0f);
  std::set<std::string> keyed;  // the keys themselves, not their derived entries
  const engine::EpisodeStats stats = s.env.episode_stats(0);
  for (const auto& [key, v] : stats.agent[0])
    if (std::regex_match(key, std::regex(R"(action\.invalid_arg\.[0-9]+\.[0-9]+)"))) keyed.insert(key);
  EXPECT_EQ(keyed, (std::set<std::string>{"action.invalid_arg.1.2", "action.invalid_arg.1." + std::to_string(1 + engine::kInvalidArgKeys)}));
}

TEST(Rules, GroupRewardSharing) {
  EnvConfig cfg = ascii_config({"#####", "#H..#", "#1.1#", "#2..#", "#####"},
                               {{'1', "agent.team_1"}, {'2', "agent.team_2"}, {'H', "heartsource"}});
  engine::ObjectConfig src;
  src.name = "heartsource";
  src.type_id = 20;
  src.converter = true;
  src.recipe_output = {{"heart", 1}};
  src.max_output = 1;  // full at start: exactly one heart to take
  src.conversion_ticks = 1;
  src.cooldown = 0;
  src.initial_items = 1;
  cfg.objects.push_back(src);
  engine::GroupConfig t1 = cfg.groups[0], t2 = cfg.groups[0];
  t1.name = "team_1";
  t1.id = 1;
  t1.group_reward_pct = 0.5f;
  t2.name = "team_2";
  t2.id = 2;
  cfg.groups = {t1, t2};
  Scenario s(cfg);
  // agents: 0 = team_1 at (2,1) below the source, 1 = team_1 at (2,3), 2 = team_2 at (3,1)
  s.step({{kGet, 0}, {kNoop, 0}, {kNoop, 0}});
  EXPECT_EQ(s.inv(0, "heart"), 1);
  EXPECT_FLOAT_EQ(s.reward(0), 0.5f + 0.25f);
  EXPECT_FLOAT_EQ(s.reward(1), 0.25f);
  EXPECT_FLOAT_EQ(s.reward(2), 0.0f);
  EXPECT_FLOAT_EQ(s.env.episode_stats(0).episode_rewards[0], 1.0f);  // before sharing
}

TEST(Rules, TruncationAtMaxStepsThenAutoReset) {
  EnvConfig cfg = ascii_config({"####", "#A.#", "#..#", "####"});
  cfg.max_steps = 3;
  Scenario s(cfg, 1, 2);
  s.step({{kRotate, 1}});
  s.step({{kMove, 0}});
  EXPECT_EQ(s.env.truncations_host(), (std::vector<std::uint8_t>{0, 0}));
  EXPECT_EQ(s.agent(0).r, 2);
  s.step({{kNoop, 0}});
  EXPECT_EQ(s.env.truncations_host(), (std::vector<std::uint8_t>{1, 1}));
  EXPECT_EQ(s.env.terminals_host(), (std::vector<std::uint8_t>{0, 0}));
  EXPECT_EQ(s.env.current_step(0), 3);
  s.step({{kMove, 1}});  // discarded: the env resets instead
  EXPECT_EQ(s.env.current_step(0), 0);
  EXPECT_EQ(s.agent(0).r, 1);
  EXPECT_EQ(s.agent(0).feature("agent:orientation"), 0);
  EXPECT_EQ(s.env.truncations_host(), (std::vector<std::uint8_t>{0, 0}));
  auto done = s.env.completed_episodes();
  EXPECT_EQ(done.episodes, 2.0);
  EXPECT_DOUBLE_EQ(done.agent["action.move.success"], 1.0);
  EXPECT_DOUBLE_EQ(done.agent["action.rotate.success"], 1.0);
  EXPECT_EQ(s.env.completed_episodes().episodes, 0.0);  // cleared
}

TEST(Rules, AgentOrderIsShuffledPerStep) {
  int first_wins = 0, second_wins = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    Scenario s(ascii_config({"#####", "#A.A#", "#####"}), seed);
    s.step({{kRotate, 3}, {kRotate, 2}});
    s.step({{kMove, 0}, {kMove, 0}});  // both into (1,2)
    ASSERT_NE(s.success(0), s.success(1)) << seed;
    (s.success(0) ? first_wins : second_wins)++;
  }
  EXPECT_GT(first_wins, 5);
  EXPECT_GT(second_wins, 5);
}

// Every key carries the derived entries of the reference's stats tracker (game-rules.md §10): updates,
// first and last step of an update, rate = updates / current step, avg = value / updates,
// activity_rate = (updates - 1) / (last - first), min and max of the running value; per agent in the
// current episode, and over agents in the completed episodes (summed over agents / num_agents, as the
// key itself). A key nobody updated has none.
TEST(Rules, StatKeysCarryTheTrackersDerivedEntries) {
  engine::EnvConfig cfg = ascii_config({"#######", "#.....#", "#..A..#", "#.....#", "#######"});
  cfg.max_steps = 6;
  Scenario s(cfg, 1, 1, /*track_stat_updates=*/true);
  s.step({{kMove, 0}});    // step 1: success (up)
  s.step({{kNoop, 0}});    // step 2
  s.step({{kMove, 0}});    // step 3: wall, failed
  s.step({{kMove, 1}});    // step 4: success (down)
  s.step({{kRotate, 1}});  // step 5
  auto stat = [&](const std::string& k) { return s.agent_stat(0, k); };
  EXPECT_EQ(stat("action.move.success"), 2.0f);
  EXPECT_EQ(stat("action.move.success.updates"), 2.0f);
  EXPECT_EQ(stat("action.move.success.first_step"), 1.0f);
  EXPECT_EQ(stat("action.move.success.last_step"), 4.0f);
  EXPECT_FLOAT_EQ(stat("action.move.success.rate"), 2.0f / 5.0f);  // at step 5
  EXPECT_EQ(stat("action.move.success.avg"), 1.0f);
  EXPECT_FLOAT_EQ(stat("action.move.success.activity_rate"), 1.0f / 3.0f);
  EXPECT_EQ(stat("action.move.success.min"), 1.0f);
  EXPECT_EQ(stat("action.move.success.max"), 2.0f);
  EXPECT_EQ(stat("action.move.failed.updates"), 1.0f);
  EXPECT_EQ(stat("action.move.failed.activity_rate"), 0.0f);  // one update: no span
  EXPECT_EQ(stat("action.rotate.success.first_step"), 5.0f);
  const auto now = s.env.episode_stats(0).agent[0];
  EXPECT_EQ(now.count("action.attack.success.updates"), 0u);  // never updated: no entries
  // game keys: each observation (steps 0 to 5: six) adds the agent's token counts; the smallest running
  // value is the first observation's count, read from a fresh env at step 0
  const float first_written = Scenario(cfg, 1, 1, true).env.episode_stats(0).game.at("tokens_written");
  const auto game = s.env.episode_stats(0).game;
  const float written = game.at("tokens_written");
  EXPECT_GT(first_written, 0.0f);
  EXPECT_EQ(game.at("tokens_written.updates"), 6.0f);
  EXPECT_EQ(game.at("tokens_written.first_step"), 0.0f);
  EXPECT_EQ(game.at("tokens_written.last_step"), 5.0f);
  EXPECT_FLOAT_EQ(game.at("tokens_written.rate"), 6.0f / 5.0f);
  EXPECT_FLOAT_EQ(game.at("tokens_written.avg"), written / 6.0f);
  EXPECT_FLOAT_EQ(game.at("tokens_written.activity_rate"), 1.0f);
  EXPECT_EQ(game.at("tokens_written.min"), first_written);
  EXPECT_EQ(game.at("tokens_written.max"), written);
  EXPECT_EQ(game.at("tokens_dropped.updates"), 6.0f);  // a zero count is an update too
  EXPECT_EQ(game.at("tokens_dropped.max"), 0.0f);
  // objects.<name>: one update per object, at the episode's first step
  EXPECT_EQ(game.at("objects.wall"), 20.0f);
  EXPECT_EQ(game.at("objects.wall.updates"), 20.0f);
  EXPECT_EQ(game.at("objects.wall.first_step"), 0.0f);
  EXPECT_EQ(game.at("objects.wall.last_step"), 0.0f);
  EXPECT_EQ(game.at("objects.wall.avg"), 1.0f);
  EXPECT_EQ(game.at("objects.wall.min"), 1.0f);
  EXPECT_EQ(game.at("objects.wall.max"), 20.0f);
  s.step({{kNoop, 0}});  // step 6: the episode ends
  s.step({{kNoop, 0}});  // the reset accumulates it
  const engine::CompletedEpisodes done = s.env.completed_episodes();
  ASSERT_EQ(done.episodes, 1.0);
  EXPECT_DOUBLE_EQ(done.agent.at("action.move.success.updates"), 2.0);
  EXPECT_DOUBLE_EQ(done.agent.at("action.move.success.last_step"), 4.0);
  EXPECT_NEAR(done.agent.at("action.move.success.rate"), 2.0 / 6.0, 1e-6);  // at the episode's end
  EXPECT_EQ(done.agent.count("action.attack.success.updates"), 0u);
  EXPECT_DOUBLE_EQ(done.game.at("tokens_written.updates"), 7.0);  // steps 0 to 6
  EXPECT_DOUBLE_EQ(done.game.at("tokens_written.last_step"), 6.0);
  EXPECT_DOUBLE_EQ(done.game.at("tokens_written.min"), first_written);
  EXPECT_NEAR(done.game.at("tokens_written.avg"), done.game.at("tokens_written") / 7.0, 1e-4);
  EXPECT_DOUBLE_EQ(done.game.at("objects.wall"), 20.0);  // walls and converters, as in episode_stats
  EXPECT_EQ(done.game.count("objects.agent"), 0u);
  EXPECT_DOUBLE_EQ(done.game.at("objects.wall.updates"), 20.0);
  EXPECT_DOUBLE_EQ(done.game.at("objects.wall.first_step"), 0.0);
  EXPECT_NEAR(done.game.at("objects.wall.rate"), 20.0 / 6.0, 1e-5);  // at the episode's end
  EXPECT_DOUBLE_EQ(done.game.at("objects.wall.min"), 1.0);
  EXPECT_DOUBLE_EQ(done.game.at("objects.wall.max"), 20.0);
  Scenario plain(cfg);  // without tracking (BatchedEnvOptions' default): the values alone
  plain.step({{kMove, 0}});
  EXPECT_EQ(plain.agent_stat(0, "action.move.success"), 1.0f);
  EXPECT_EQ(plain.env.episode_stats(0).agent[0].count("action.move.success.updates"), 0u);
  EXPECT_EQ(plain.env.episode_stats(0).game.count("tokens_written.updates"), 0u);
  for (int k = 0; k < 6; ++k) plain.step({{kNoop, 0}});  // the episode ends and is counted
  const engine::CompletedEpisodes plain_done = plain.env.completed_episodes();
  EXPECT_DOUBLE_EQ(plain_done.game.at("objects.wall"), 20.0);
  EXPECT_EQ(plain_done.game.count("objects.wall.updates"), 0u);
}
