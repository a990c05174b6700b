// Hydra-style overrides and interpolation on YAML trees: every form, typed values, errors that name the
// override and suggest the closest key, mandatory values, cycles, and a seeded fuzz of the grammar.
#include <gtest/gtest.h>

#include <random>

#include "api/config/overrides.h"
#include "engine/config.h"

using namespace metta;
using namespace metta::config;

namespace {
YAML::Node base() {
  return YAML::Load(R"(
run: demo
trainer:
  batch_size: 1024
  ppo: {clip_coef: 0.1, gamma: 0.977}
  optimizer: {type: adam, learning_rate: 0.0004}
  checkpoint_dir: ${data_dir}/${run}/checkpoints
  eval_every: ${trainer.batch_size}
data_dir: ./train_dir
required: ???
)");
}
template <class F>
void expect_error(F f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const engine::ConfigError& e) {
    for (auto& frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Overrides, SetAddDeleteForms) {
  YAML::Node c = base();
  apply_overrides(c, {"trainer.batch_size=2048", "trainer.ppo.clip_coef=0.2", "+trainer.new_key=[1, 2]",
                      "+extra.deep.key={a: 1}", "++trainer.batch_size=4096", "++trainer.fresh=true",
                      "~trainer.optimizer.type", "~run=demo"});
  EXPECT_EQ(c["trainer"]["batch_size"].as<int>(), 4096);
  EXPECT_DOUBLE_EQ(c["trainer"]["ppo"]["clip_coef"].as<double>(), 0.2);
  EXPECT_EQ(c["trainer"]["new_key"].size(), 2u);
  EXPECT_EQ(c["extra"]["deep"]["key"]["a"].as<int>(), 1);
  EXPECT_TRUE(c["trainer"]["fresh"].as<bool>());
  EXPECT_FALSE(c["trainer"]["optimizer"]["type"].IsDefined());
  EXPECT_FALSE(c["run"].IsDefined());
}

TEST(Overrides, TypedValues) {
  YAML::Node c = base();
  apply_overrides(c, {"trainer.batch_size=null", "trainer.ppo.gamma=1e-3", "run='quoted, with comma'",
                      "data_dir=\"/tmp/x\""});
  EXPECT_TRUE(c["trainer"]["batch_size"].IsNull());
  EXPECT_DOUBLE_EQ(c["trainer"]["ppo"]["gamma"].as<double>(), 1e-3);
  EXPECT_EQ(c["run"].as<std::string>(), "quoted, with comma");
  EXPECT_EQ(c["data_dir"].as<std::string>(), "/tmp/x");
}

TEST(Overrides, ErrorsNameTheOverrideAndSuggest) {
  YAML::Node c = base();
  expect_error([&] { apply_override(c, "trainer.batch_sise=1"); },
               {"override 'trainer.batch_sise=1'", "trainer.batch_sise", "did you mean 'batch_size'"});
  expect_error([&] { apply_override(c, "trainr.batch_size=1"); }, {"trainr", "did you mean 'trainer'"});
  expect_error([&] { apply_override(c, "+trainer.batch_size=1"); }, {"already exists"});
  expect_error([&] { apply_override(c, "~trainer.ppo.gamma=0.5"); }, {"not '0.5'"});
  expect_error([&] { apply_override(c, "trainer.batch_size=1,2"); }, {"sweep"});
  expect_error([&] { apply_override(c, "trainer.batch_size"); }, {"expected key=value"});
  expect_error([&] { apply_override(c, "trainer..x=1"); }, {"empty key segment"});
  expect_error([&] { apply_override(c, "trainer.batch_size.deeper=1"); }, {"is a value, not a group"});
  expect_error([&] { apply_override(c, "run=[unclosed"); }, {"not valid YAML"});
}

TEST(Overrides, InterpolationAndMandatoryValues) {
  YAML::Node c = base();
  apply_overrides(c, {"run=exp1", "required=42"});
  resolve_interpolations(c);
  EXPECT_EQ(c["trainer"]["checkpoint_dir"].as<std::string>(), "./train_dir/exp1/checkpoints");
  EXPECT_EQ(c["trainer"]["eval_every"].as<int>(), 1024);  // whole-value interpolation keeps the type
  check_mandatory(c, "cfg");
  YAML::Node missing = base();
  expect_error([&] { check_mandatory(missing, "cfg"); }, {"cfg: required: got ???"});
  YAML::Node cyc = YAML::Load("a: ${b}\nb: ${a}\n");
  expect_error([&] { resolve_interpolations(cyc); }, {"cycle"});
  YAML::Node bad = YAML::Load("a: ${nope.x}\n");
  expect_error([&] { resolve_interpolations(bad); }, {"${nope.x}: no such key"});
}

TEST(Overrides, SeededFuzzOnlyThrowsConfigErrors) {
  std::mt19937 rng(77);
  const std::string alphabet = "abt.=+~${}[],:'\"? 0123_xyz\\-";
  int rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % 24);
    for (int k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    YAML::Node c = base();
    try {
      apply_override(c, s);
      resolve_interpolations(c);
    } catch (const engine::ConfigError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 100);
}

#include <fstream>

#include "api/config/train_job.h"

TEST(TrainJob, DefaultsOverridesAndErrorsWithFileAndLine) {
  const TrainJob job = load_train_job("", {"agent=small", "trainer.optimizer.type=muon", "run=x", "data_dir=/tmp/d"});
  EXPECT_EQ(job.agent, "small");
  EXPECT_EQ(job.trainer.optimizer.type, "muon");
  EXPECT_EQ(job.run_dir, "/tmp/d/x");  // ${data_dir}/${run}
  EXPECT_EQ(job.trainer.batch_size, 16384);
  EXPECT_DOUBLE_EQ(job.trainer.ppo.gamma, 0.977);
  EXPECT_DOUBLE_EQ(job.trainer.target_kl, 0.0);  // null = off
  EXPECT_FALSE(job.trainer.lr_scheduler.enabled);
  const TrainJob kl = load_train_job("", {"trainer.target_kl=0.02", "trainer.lr_scheduler.enabled=true"});
  EXPECT_DOUBLE_EQ(kl.trainer.target_kl, 0.02);
  EXPECT_TRUE(kl.trainer.lr_scheduler.enabled);
  expect_error([] { load_train_job("", {"trainer.ppo.gama=0.9"}); }, {"trainer.ppo.gama", "did you mean 'gamma'"});
  expect_error([] { load_train_job("", {"trainer.batch_size=lots"}); }, {"trainer.batch_size: got 'lots', expected an integer"});
  expect_error([] { load_train_job("", {"+trainer.surprise=1"}); }, {"trainer.surprise: got an unknown key"});
  expect_error([] { load_train_job("", {"run=???"}); }, {"run: got ???"});
  // a config file: errors carry its name and line
  const std::string path = "/tmp/metta_train_job_test.yaml";
  std::string text = default_train_yaml();
  text.replace(text.find("num_envs: 16"), 12, "num_envz: 16");
  std::ofstream(path) << text;
  expect_error([&] { load_train_job(path, {}); }, {path + ":", "num_envz: got an unknown key", "did you mean 'num_envs'"});
  std::remove(path.c_str());
}
