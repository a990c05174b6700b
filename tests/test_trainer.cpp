// The training loop: buffer sizing (D4), determinism for a seed on the CPU backend, no allocation and
// only scalars moving to the host per epoch (counted copies), and finite statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "api/train/trainer.h"
#include "engine/config_yaml.h"
#include "kernels/memory.h"

using namespace metta;

namespace {
train::TrainSettings small_settings(std::int64_t batch = 1024) {
  train::TrainSettings s;
  s.agent = "small";
  s.num_envs = 2;
  s.batch_size = batch;
  s.minibatch_size = 256;
  s.bptt_horizon = 8;
  s.threads = 2;
  s.seed = 3;
  return s;
}
}  // namespace

TEST(Trainer, BufferIsWholeSegmentsOfEveryAgent) {
  train::Trainer t(small_settings(1000), engine::embedded_env_config("hearts_room"));
  // 8 agents x 8 steps = 64 agent-steps per segment column; k = round(1000 / 64) = 16
  EXPECT_EQ(t.segments(), 16 * 8);
  EXPECT_EQ(t.batch_size(), 16 * 8 * 8);
  EXPECT_EQ(t.segments() % t.minibatch_segments(), 0);
  EXPECT_EQ(t.minibatch_segments(), 32);  // 256 / 8
  const train::EpochStats st = t.run_epoch();
  EXPECT_EQ(st.agent_step, t.batch_size());
}

TEST(Trainer, SameSeedSameLossesAndWeights) {
  auto run = [] {
    train::Trainer t(small_settings(), engine::embedded_env_config("hearts_room"));
    std::vector<float> losses;
    for (int e = 0; e < 3; ++e) {
      const train::EpochStats st = t.run_epoch();
      losses.insert(losses.end(), st.losses, st.losses + kernels::kPpoStatCount);
      losses.push_back(st.grad_norm);
    }
    const float* p = t.policy().params();
    return std::make_pair(losses, std::vector<float>(p, p + t.policy().num_params()));
  };
  const auto a = run(), b = run();
  ASSERT_EQ(a.first.size(), b.first.size());
  for (std::size_t i = 0; i < a.first.size(); ++i) EXPECT_EQ(a.first[i], b.first[i]) << i;  // bit-identical
  EXPECT_TRUE(a.second == b.second);
  for (float v : a.first) EXPECT_TRUE(std::isfinite(v));
}

TEST(Trainer, AnEpochAllocatesNothingAndMovesOnlyScalarsToTheHost) {
  auto d2h_per_epoch = [](std::int64_t batch) {
    train::Trainer t(small_settings(batch), engine::embedded_env_config("hearts_room"));
    t.run_epoch();
    const auto allocs = kernels::alloc_count(kernels::Device::CPU);
    const auto before = kernels::copy_stats();
    t.run_epoch();
    const auto after = kernels::copy_stats();
    EXPECT_EQ(kernels::alloc_count(kernels::Device::CPU), allocs) << "batch " << batch;
    EXPECT_EQ(after.host_to_device_bytes, before.host_to_device_bytes) << "batch " << batch;
    return after.device_to_host_bytes - before.device_to_host_bytes;
  };
  const auto small = d2h_per_epoch(512), large = d2h_per_epoch(2048);
  EXPECT_EQ(small, large);  // independent of the batch: statistics only
  EXPECT_LE(small, 4096);
  EXPECT_GT(small, 0);
}

TEST(Trainer, KickstarterDistilsFromATeacherAndAnnealsOff) {
  // teacher: the weights of another trainer's policy (another seed)
  train::TrainSettings other = small_settings();
  other.seed = 99;
  train::Trainer source(other, engine::embedded_env_config("hearts_room"));
  const float* w = source.policy().params();
  const std::vector<float> weights(w, w + source.policy().num_params());

  train::Trainer t(small_settings(), engine::embedded_env_config("hearts_room"));
  t.set_teacher("small", weights);
  const train::EpochStats st = t.run_epoch();
  EXPECT_GT(st.ks_action_loss, 0.0f);  // a cross-entropy between two full-support distributions
  EXPECT_GT(st.ks_value_loss, 0.0f);
  EXPECT_TRUE(std::isfinite(st.ks_action_loss) && std::isfinite(st.ks_value_loss));

  train::TrainSettings off = small_settings();
  off.kickstart.kickstart_steps = 0;  // past the kickstart window from the start
  train::Trainer u(off, engine::embedded_env_config("hearts_room"));
  u.set_teacher("small", weights);
  u.run_epoch();
  const train::EpochStats st2 = u.run_epoch();
  EXPECT_EQ(st2.ks_action_loss, 0.0f);
  EXPECT_EQ(st2.ks_value_loss, 0.0f);
  EXPECT_THROW(t.set_teacher("small", std::vector<float>(10)), metta::Error);
}

TEST(Trainer, ResumeContinuesBitIdentically) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("metta_resume_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const auto env = engine::embedded_env_config("hearts_room");
  train::Trainer straight(small_settings(), env);
  for (int e = 0; e < 4; ++e) straight.run_epoch();
  {
    train::Trainer first(small_settings(), env);
    first.run_epoch();
    first.run_epoch();
    first.save_checkpoint(dir);
  }
  train::Trainer resumed(small_settings(), env);
  ASSERT_TRUE(resumed.resume(dir));
  EXPECT_EQ(resumed.epoch(), 2);
  resumed.run_epoch();
  resumed.run_epoch();
  const float* a = straight.policy().params();
  const float* b = resumed.policy().params();
  EXPECT_TRUE(std::vector<float>(a, a + straight.policy().num_params()) ==
              std::vector<float>(b, b + resumed.policy().num_params()));
  EXPECT_TRUE(straight.optimizer_state() == resumed.optimizer_state());
  EXPECT_EQ(straight.agent_step(), resumed.agent_step());
  // a mismatched run refuses the checkpoint instead of starting fresh
  train::TrainSettings other = small_settings();
  other.num_envs = 3;
  train::Trainer mismatch(other, env);
  EXPECT_THROW(mismatch.resume(dir), metta::Error);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, TargetKlStopsUpdatePassesAndCosineScheduleAnneals) {
  train::TrainSettings s = small_settings();
  s.update_epochs = 3;
  s.target_kl = 1e-12f;  // any update exceeds it: one pass per epoch
  train::Trainer t(s, engine::embedded_env_config("hearts_room"));
  t.run_epoch();
  EXPECT_EQ(t.optimizer_steps(), t.num_minibatches());
  s.target_kl = 0;  // off: all passes
  train::Trainer u(s, engine::embedded_env_config("hearts_room"));
  u.run_epoch();
  EXPECT_EQ(u.optimizer_steps(), 3 * u.num_minibatches());

  train::TrainSettings c = small_settings();
  c.lr_schedule = true;
  c.total_timesteps = 2 * c.batch_size;  // T_max = 2 train phases
  train::Trainer v(c, engine::embedded_env_config("hearts_room"));
  const double lr0 = c.adam.lr;
  const double expect[] = {lr0, lr0 * 0.5, 0.0};
  for (double want : expect) {
    v.run_epoch();
    EXPECT_NEAR(v.current_learning_rate(), want, 1e-9 + 1e-6 * lr0);
  }
}
