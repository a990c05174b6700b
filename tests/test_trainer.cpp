// The training loop: buffer sizing (D4), determinism for a seed on the CPU backend, no allocation and
// only scalars moving to the host per epoch (counted copies), and finite statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "train/checkpoint/safetensors.h"
#include "train/trainer.h"
#include "engine/config_yaml.h"
#include "kernels/memory.h"
#include "tests/blas_core.h"

using namespace metta;

namespace {
// A trainer's config and the two job-level choices the Trainer takes beside it.
struct TrainerSetup {
  train::TrainerConfig config;
  std::string agent = "small";
  std::int64_t num_envs = 2;
};

TrainerSetup small_settings(std::int64_t batch = 1024, std::int64_t minibatch = 256) {
  TrainerSetup s;
  s.config.total_timesteps = 1'000'000;
  s.config.batch_size = batch;
  s.config.minibatch_size = minibatch;
  s.config.bptt_horizon = 8;
  s.config.threads = 2;
  s.config.seed = 3;
  return s;
}

struct TestTrainer : train::Trainer {
  TestTrainer(const TrainerSetup& s, const engine::EnvConfig& env) : train::Trainer(s.config, env, s.num_envs, s.agent) {}
};

// Trains `epochs` epochs on hearts_room: every epoch's loss statistics and gradient norm, and the final
// weights.
std::pair<std::vector<float>, std::vector<float>> train_and_collect(const TrainerSetup& s, int epochs) {
  TestTrainer t(s, engine::embedded_env_config("hearts_room"));
  std::vector<float> losses;
  for (int e = 0; e < epochs; ++e) {
    const train::EpochStats st = t.run_epoch();
    losses.insert(losses.end(), st.losses, st.losses + kernels::kPpoStatCount);
    losses.push_back(st.grad_norm);
  }
  const float* p = t.policy().params();
  return {losses, std::vector<float>(p, p + t.policy().num_params())};
}

// Training with a recording switched on (`flag`) gives the plain training's losses and weights, bit for
// bit, over `epochs` epochs.
void expect_recording_changes_no_bit(TrainerSetup s, bool train::TrainerConfig::*flag, int epochs,
                                     const std::string& what) {
  s.config.*flag = false;
  const auto plain = train_and_collect(s, epochs);
  s.config.*flag = true;
  const auto recorded = train_and_collect(s, epochs);
  EXPECT_TRUE(recorded.first == plain.first) << "losses, " << what;
  EXPECT_TRUE(recorded.second == plain.second) << "weights, " << what;
}

// An empty temporary folder for one test's checkpoints.
std::string fresh_dir(const std::string& name) {
  const std::string dir = (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  return dir;
}

// A teacher for the kickstarter tests: the initial weights of another trainer's policy (another seed).
std::vector<float> teacher_weights() {
  TrainerSetup other = small_settings();
  other.config.seed = 99;
  TestTrainer source(other, engine::embedded_env_config("hearts_room"));
  const float* w = source.policy().params();
  return std::vector<float>(w, w + source.policy().num_params());
}
}  // namespace

TEST(Trainer, BufferIsWholeSegmentsOfEveryAgent) {
  TestTrainer t(small_settings(1000, 200), engine::embedded_env_config("hearts_room"));
  // 8 agents x 8 steps = 64 agent-steps per segment column; k = round(1000 / 64) = 16
  EXPECT_EQ(t.segments(), 16 * 8);
  EXPECT_EQ(t.batch_size(), 16 * 8 * 8);
  EXPECT_EQ(t.segments() % t.minibatch_segments(), 0);
  EXPECT_EQ(t.minibatch_segments(), 32);  // the divisor of 128 segments nearest 200 / 8
  const train::EpochStats st = t.run_epoch();
  EXPECT_EQ(st.agent_step, t.batch_size());
}

TEST(Trainer, SameSeedSameLossesAndWeights) {
  const auto a = train_and_collect(small_settings(), 3), b = train_and_collect(small_settings(), 3);
  ASSERT_EQ(a.first.size(), b.first.size());
  for (std::size_t i = 0; i < a.first.size(); ++i) EXPECT_EQ(a.first[i], b.first[i]) << i;  // bit-identical
  EXPECT_TRUE(a.second == b.second);
  for (float v : a.first) EXPECT_TRUE(std::isfinite(v));
}

// Every CPU kernel and product splits its work so that results do not depend on how many threads run it
// (parallel_for bodies are order-free; GEMM blocks depend on the shape only): the same bits on 1, 2 or 3
// threads, with the fast agent, whose products are large enough to be split. tests/CMakeLists.txt runs it
// again under each OpenBLAS kernel family.
TEST(Trainer, ResultsDoNotDependOnTheThreadCount) {
  if (const std::string why = metta::testing::requested_blas_core_skip_reason(); !why.empty()) GTEST_SKIP() << why;
  auto run = [](int threads) {
    TrainerSetup s = small_settings();
    s.agent = "fast";
    s.config.threads = threads;
    return train_and_collect(s, 2);
  };
  const auto one = run(1);
  for (int threads : {2, 3}) {
    const auto other = run(threads);
    EXPECT_TRUE(other.first == one.first) << threads << " threads: other losses";
    EXPECT_TRUE(other.second == one.second) << threads << " threads: other weights";
  }
}

// The epoch's parts (train/epoch_timing.h) are timed on the CPU by default: every part the epoch runs
// has a positive figure, the parts the recordings stand for none, their sum is the epoch's time (the
// host code between the parts is little), and timing changes no bit of training. Switched off, every
// figure is zero.
TEST(Trainer, EpochPartsAreTimedAndTimingChangesNoBit) {
  using train::EpochPart;
  TestTrainer t(small_settings(), engine::embedded_env_config("hearts_room"));
  ASSERT_TRUE(t.part_timing());
  t.run_epoch();
  const train::EpochStats st = t.run_epoch();
  for (EpochPart p : {EpochPart::kPolicyForward, EpochPart::kSampling, EpochPart::kExperienceStore, EpochPart::kEnvStep,
                      EpochPart::kStatsReadout, EpochPart::kAdvantage, EpochPart::kMinibatchGather,
                      EpochPart::kTrainForward, EpochPart::kLoss, EpochPart::kBackward, EpochPart::kOptimizer,
                      EpochPart::kEpochStats})
    EXPECT_GT(st.timing[p], 0.0) << train::kEpochPartNames[static_cast<int>(p)];
  for (EpochPart p : {EpochPart::kRolloutRecorded, EpochPart::kUpdateRecorded, EpochPart::kCurriculum})
    EXPECT_EQ(st.timing[p], 0.0) << train::kEpochPartNames[static_cast<int>(p)];
  EXPECT_LE(st.timing.total(), st.seconds * 1.001 + 1e-6);
  EXPECT_GT(st.timing.total(), st.seconds * 0.5);

  TestTrainer untimed(small_settings(), engine::embedded_env_config("hearts_room"));
  untimed.set_part_timing(false);
  untimed.run_epoch();
  const train::EpochStats off = untimed.run_epoch();
  EXPECT_EQ(off.timing.total(), 0.0);
  for (int k = 0; k < kernels::kPpoStatCount; ++k) EXPECT_EQ(off.losses[k], st.losses[k]) << k;
  const float* a = t.policy().params();
  EXPECT_TRUE(std::vector<float>(a, a + t.policy().num_params()) ==
              std::vector<float>(untimed.policy().params(), untimed.policy().params() + t.policy().num_params()));
}

// trainer.first_conv chooses how the policy computes its first convolution; the two ways are the same
// function (the sums added in other orders), so an epoch moves the weights alike: the difference is a
// small part of the move.
TEST(Trainer, FirstConvolutionFromTokensOrDenseTrainsTheSameWeights) {
  TrainerSetup s = small_settings();
  std::vector<float> initial;
  {
    TestTrainer t(s, engine::embedded_env_config("hearts_room"));
    EXPECT_TRUE(t.policy().token_conv());
    initial.assign(t.policy().params(), t.policy().params() + t.policy().num_params());
  }
  const auto tokens = train_and_collect(s, 1);
  s.config.first_conv = "dense";
  {
    TestTrainer t(s, engine::embedded_env_config("hearts_room"));
    EXPECT_FALSE(t.policy().token_conv());
  }
  const auto dense = train_and_collect(s, 1);
  ASSERT_EQ(dense.second.size(), tokens.second.size());
  double diff = 0, move = 0;
  for (std::size_t i = 0; i < dense.second.size(); ++i) {
    diff += std::pow(static_cast<double>(dense.second[i]) - tokens.second[i], 2);
    move += std::pow(static_cast<double>(tokens.second[i]) - initial[i], 2);
  }
  EXPECT_GT(move, 0);
  EXPECT_LT(std::sqrt(diff), 0.02 * std::sqrt(move)) << "|dense - tokens| against the epoch's move";
  EXPECT_FALSE(dense.second == tokens.second);  // another summation order: the setting took effect
}

// trainer.rollout_graph: after a first plain rollout, each epoch's rollout is recorded once and replayed
// (on the CPU the recorded closure runs again: it holds only values fixed when it was made, as a CUDA
// graph's kernels do). The same bits as the plain rollout, with an even and an odd number of steps
// (odd: the LSTM state is copied back to its buffer at the end).
TEST(Trainer, RecordedRolloutGivesThePlainRolloutsBits) {
  for (const auto& [batch, horizon] : {std::pair<std::int64_t, int>{1024, 8}, {120, 5}}) {
    TrainerSetup s = small_settings(batch, batch / 3);
    s.config.bptt_horizon = horizon;
    s.config.minibatch_size = batch == 120 ? 40 : 256;
    expect_recording_changes_no_bit(s, &train::TrainerConfig::rollout_graph, 3, "horizon " + std::to_string(horizon));
    s.config.rollout_graph = true;
    TestTrainer t(s, engine::embedded_env_config("hearts_room"));
    const std::int64_t steps = t.segments() / t.env().total_agents() * horizon;
    EXPECT_EQ(steps, horizon == 5 ? 15 : 128);  // the odd case has an odd number of steps
    t.run_epoch();  // plain: the first rollout
    t.reset_for_rollout();
    EXPECT_EQ(t.rollout_step(), t.batch_size());  // the recorded rollout, whole
    EXPECT_TRUE(t.is_ready_for_training());
  }
}

// trainer.update_graph: after a first plain update phase, one minibatch update is recorded and replayed
// for every minibatch, reading its sampler keys, beta and Adam scalars from the epoch's table on the
// device (on the CPU the recorded closure runs again). The same bits as the plain updates: with Adam over
// 2 update passes, with Muon under a cosine learning rate (a new rate, a new recording), and with a
// target_kl that stops a phase early (the table's unused entries are left behind).
TEST(Trainer, RecordedUpdatesGiveThePlainUpdatesBits) {
  for (int variant = 0; variant < 3; ++variant) {
    TrainerSetup s = small_settings(512, 128);
    s.config.update_epochs = 2;
    s.config.prioritized_experience_replay.prio_alpha = 0.6;  // a weighted draw, beta annealed per epoch
    if (variant == 1) {
      s.config.optimizer.type = "muon";
      s.config.lr_scheduler.enabled = true;
      s.config.total_timesteps = 4 * 512;
    }
    if (variant == 2) s.config.target_kl = 1e-9;  // every phase stops after its first pass
    expect_recording_changes_no_bit(s, &train::TrainerConfig::update_graph, 4, "variant " + std::to_string(variant));
    s.config.update_graph = true;
    TestTrainer t(s, engine::embedded_env_config("hearts_room"));
    t.run_epoch();
    EXPECT_EQ(t.recorded_update_replays(), 0);  // the first phase is plain
    const std::int64_t steps = t.optimizer_steps();
    t.run_epoch();  // recorded
    const std::int64_t updates = variant == 2 ? t.num_minibatches() : 2 * t.num_minibatches();
    EXPECT_EQ(t.optimizer_steps() - steps, updates);
    EXPECT_EQ(t.recorded_update_replays(), updates) << "variant " << variant;
  }
}

// The documented API's own calls replay the recorded update in the phase's order; a call out of that
// order ends the phase's replays and is served by the plain update, with the plain update's results.
TEST(Trainer, RecordedUpdatesFollowTheApiCallsAndStepAsideOutOfOrder) {
  TrainerSetup s = small_settings(512, 128);
  auto run = [&](bool graph) {
    s.config.update_graph = graph;
    TestTrainer t(s, engine::embedded_env_config("hearts_room"));
    for (int epoch = 0; epoch < 3; ++epoch) {
      t.reset_for_rollout();
      while (!t.is_ready_for_training()) t.rollout_step();
      t.accumulate_stats();
      t.reset_training_state();
      t.compute_advantages();
      const double beta = t.anneal_beta();
      // epoch 1 in order (replays); epoch 2 from minibatch 1 first (out of order: plain throughout)
      for (std::int64_t k = 0; k < t.num_minibatches(); ++k) {
        const std::int64_t m = epoch == 2 ? (k + 1) % t.num_minibatches() : k;
        const train::Minibatch mb = t.sample_minibatch(m, 0, beta);
        t.train_minibatch(mb);
        t.optimize_step(mb);
      }
      train::EpochStats st;
      t.finish_training(st);
    }
    const float* p = t.policy().params();
    return std::make_pair(t.recorded_update_replays(), std::vector<float>(p, p + t.policy().num_params()));
  };
  const auto plain = run(false), recorded = run(true);
  EXPECT_EQ(plain.first, 0);
  EXPECT_EQ(recorded.first, 4);  // epoch 1's four minibatches
  EXPECT_TRUE(recorded.second == plain.second);
}

TEST(Trainer, AnEpochAllocatesNothingAndMovesOnlyScalarsToTheHost) {
  auto d2h_per_epoch = [](std::int64_t batch) {
    TestTrainer t(small_settings(batch), engine::embedded_env_config("hearts_room"));
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
  EXPECT_LE(small, 16384);  // a few kB: losses, episode sums, every stat key's sum and its 8 derived entries
  EXPECT_GT(small, 0);
}

TEST(Trainer, KickstarterDistilsFromATeacherAndAnnealsOff) {
  const std::vector<float> weights = teacher_weights();

  TestTrainer t(small_settings(), engine::embedded_env_config("hearts_room"));
  t.set_teacher("small", weights);
  const train::EpochStats st = t.run_epoch();
  EXPECT_GT(st.ks_action_loss, 0.0f);  // a cross-entropy between two full-support distributions
  EXPECT_GT(st.ks_value_loss, 0.0f);
  EXPECT_TRUE(std::isfinite(st.ks_action_loss) && std::isfinite(st.ks_value_loss));

  TrainerSetup off = small_settings();
  off.config.kickstart.kickstart_steps = 0;  // past the kickstart window from the start
  TestTrainer u(off, engine::embedded_env_config("hearts_room"));
  u.set_teacher("small", weights);
  u.run_epoch();
  const train::EpochStats st2 = u.run_epoch();
  EXPECT_EQ(st2.ks_action_loss, 0.0f);
  EXPECT_EQ(st2.ks_value_loss, 0.0f);
  EXPECT_THROW(t.set_teacher("small", std::vector<float>(10)), metta::Error);
}

TEST(Trainer, SeveralTeachersRescaleTheRunningActionTermAsTheReference) {
  const std::vector<float> weights = teacher_weights();
  // lr 0: the student never changes, so every run sees the same minibatches and cross-entropies
  TrainerSetup s = small_settings();
  s.config.optimizer.learning_rate = 1e-12;  // the smallest valid rate: steps of ~1e-12 leave the student as it is
  TestTrainer one(s, engine::embedded_env_config("hearts_room"));
  one.add_teacher("small", weights, 1.0f, 1.0f);
  const train::EpochStats a = one.run_epoch();
  TestTrainer two(s, engine::embedded_env_config("hearts_room"));
  two.add_teacher("small", weights, 0.5f, 1.0f);
  two.add_teacher("small", weights, 2.0f, 1.0f);
  EXPECT_EQ(two.num_teachers(), 2u);
  const train::EpochStats b = two.run_epoch();
  // ks_action = ((0 + CE) * 0.5 + CE) * 2 = 3 CE; ks_value = V + V
  EXPECT_NEAR(b.ks_action_loss, 3.0f * a.ks_action_loss, 1e-4f * a.ks_action_loss);
  EXPECT_NEAR(b.ks_value_loss, 2.0f * a.ks_value_loss, 1e-4f * a.ks_value_loss);
  EXPECT_GT(a.ks_action_loss, 0.0f);
  two.set_teacher("small", weights);  // replaces them all
  EXPECT_EQ(two.num_teachers(), 1u);
}

TEST(Trainer, ResumeContinuesBitIdentically) {
  const std::string dir = fresh_dir("metta_resume");
  const auto env = engine::embedded_env_config("hearts_room");
  TestTrainer straight(small_settings(), env);
  for (int e = 0; e < 4; ++e) straight.run_epoch();
  {
    TestTrainer first(small_settings(), env);
    first.run_epoch();
    first.run_epoch();
    first.save_checkpoint(dir);
  }
  TestTrainer resumed(small_settings(), env);
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
  TrainerSetup other = small_settings();
  other.num_envs = 3;
  TestTrainer mismatch(other, env);
  EXPECT_THROW(mismatch.resume(dir), metta::Error);
  std::filesystem::remove_all(dir);
}

// Every byte of a trainer state's header is covered by its checksum (format 2): a changed counter
// (rollout_counter, opt_step, agent_step: the RNG and schedule state) would silently break a bit-identical
// resume, so single-byte changes (200 spread over the header, every digit of the counters) are refused.
// Then the ways out of a damaged newest checkpoint.
TEST(Trainer, TrainerStateHeaderIsCoveredAndADamagedNewestCheckpointIsNamed) {
  const std::string dir = fresh_dir("metta_state");
  const auto env = engine::embedded_env_config("hearts_room");
  TestTrainer t(small_settings(), env);
  t.run_epoch();
  t.save_checkpoint(dir);
  t.run_epoch();
  t.save_checkpoint(dir);
  const std::string state = dir + "/trainer_state_0002.safetensors";
  const std::string good = checkpoint::read_file(state);
  std::uint64_t header = 0;
  std::memcpy(&header, good.data(), 8);
  TestTrainer r(small_settings(), env);
  // 200 positions spread over the header, and every byte of the three counters' values
  std::vector<std::size_t> positions;
  for (std::size_t k = 0; k < 200; ++k) positions.push_back(8 + k * header / 200);
  for (const char* key : {"\"rollout_counter\":\"", "\"opt_step\":\"", "\"agent_step\":\""}) {
    const std::size_t at = good.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    for (std::size_t i = at + std::strlen(key); good[i] != '"'; ++i) positions.push_back(i);
  }
  int accepted = 0;
  for (std::size_t i : positions) {
    if (accepted >= 5) break;
    std::string flipped = good;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    checkpoint::write_file_atomic(state, flipped);
    try {
      r.resume(dir);
      ++accepted;
      ADD_FAILURE() << "a flip at header byte " << i << " was accepted";
    } catch (const checkpoint::CheckpointError& e) {
      // the damaged file is named, with the older checkpoint and the resume_from that continues from it
      if (i == 8) {
        const std::string m = e.what();
        EXPECT_NE(m.find("trainer_state_0002.safetensors"), std::string::npos) << m;
        EXPECT_NE(m.find("trainer.resume_from=" + dir + "/model_0001.safetensors"), std::string::npos) << m;
      }
    }
  }
  EXPECT_EQ(accepted, 0);
  // a state of an older version (its env stat rows laid out otherwise) is named as such
  std::string old_version = good;
  const std::size_t v = old_version.find("\"format_version\":\"3\"");
  ASSERT_NE(v, std::string::npos);
  old_version[v + 18] = '2';
  checkpoint::write_file_atomic(state, old_version);
  try {
    r.resume(dir);
    ADD_FAILURE() << "a version 2 state was accepted";
  } catch (const checkpoint::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("trainer state version 2 holds the environment's statistics in an older layout"),
              std::string::npos)
        << e.what();
  }
  // resume_from the older one continues there, and sets the newer one aside
  ASSERT_TRUE(r.resume(dir, "1"));
  EXPECT_EQ(r.epoch(), 1);
  EXPECT_TRUE(std::filesystem::exists(dir + "/abandoned/trainer_state_0002.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/model_0002.safetensors"));
  std::filesystem::remove_all(dir);
}

// A folder with models but no trainer state cannot continue where it stopped: an error with the ways
// out, never a silent fresh start.
TEST(Trainer, ModelsWithoutATrainerStateAreAnError) {
  const std::string dir = fresh_dir("metta_nostate");
  const auto env = engine::embedded_env_config("hearts_room");
  TestTrainer t(small_settings(), env);
  t.run_epoch();
  t.save_checkpoint(dir);
  std::filesystem::remove(dir + "/trainer_state_0001.safetensors");
  TestTrainer r(small_settings(), env);
  try {
    r.resume(dir);
    ADD_FAILURE() << "no error";
  } catch (const checkpoint::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("no trainer state"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("trainer.initial_policy.uri=" + dir), std::string::npos) << e.what();
  }
  // a state whose model a kill never wrote is an incomplete checkpoint: skipped
  std::filesystem::remove_all(dir);
  t.save_checkpoint(dir);
  std::filesystem::remove(dir + "/model_0001.safetensors");
  EXPECT_FALSE(r.resume(dir));
  std::filesystem::remove_all(dir);
}

TEST(Trainer, TargetKlStopsUpdatePassesAndCosineScheduleAnneals) {
  TrainerSetup s = small_settings();
  s.config.update_epochs = 3;
  s.config.target_kl = 1e-12f;  // any update exceeds it: one pass per epoch
  TestTrainer t(s, engine::embedded_env_config("hearts_room"));
  t.run_epoch();
  EXPECT_EQ(t.optimizer_steps(), t.num_minibatches());
  s.config.target_kl = 0;  // off: all passes
  TestTrainer u(s, engine::embedded_env_config("hearts_room"));
  u.run_epoch();
  EXPECT_EQ(u.optimizer_steps(), 3 * u.num_minibatches());

  TrainerSetup c = small_settings();
  c.config.lr_scheduler.enabled = true;
  c.config.total_timesteps = 2 * c.config.batch_size;  // T_max = 2 train phases
  TestTrainer v(c, engine::embedded_env_config("hearts_room"));
  const double lr0 = c.config.optimizer.learning_rate;
  const double expect[] = {lr0, lr0 * 0.5, 0.0};
  for (double want : expect) {
    v.run_epoch();
    EXPECT_NEAR(v.current_learning_rate(), want, 1e-9 + 1e-6 * lr0);
  }
}

TEST(Trainer, LoggedL2TermsAndGradientMomentsMatchAHostRecomputation) {
  TrainerSetup s = small_settings();
  s.config.ppo.l2_reg_loss_coef = 0.01f;
  s.config.ppo.l2_init_loss_coef = 2.0f;
  s.config.grad_mean_variance_interval = 2;  // epochs 2, 4, ...
  s.config.l2_init_weight_update_interval = 2;
  TestTrainer t(s, engine::embedded_env_config("hearts_room"));
  nn::Policy<float>& p = t.policy();
  const std::size_t n = static_cast<std::size_t>(p.num_params());
  std::vector<double> w_init(p.params(), p.params() + n);  // the CPU backend: plain host memory
  auto check = [&](const train::EpochStats& st) {
    double sq = 0, diff = 0;
    for (std::size_t i = 0; i < n; ++i) {
      sq += static_cast<double>(p.params()[i]) * p.params()[i];
      diff += (p.params()[i] - w_init[i]) * (p.params()[i] - w_init[i]);
    }
    EXPECT_NEAR(st.l2_reg_loss, 0.01 * sq, 1e-4 * 0.01 * sq);
    EXPECT_NEAR(st.l2_init_loss, 2.0 * diff, 1e-3 * 2.0 * diff + 1e-9);
    EXPECT_GT(st.l2_init_loss, 0.0f);
  };
  const train::EpochStats e1 = t.run_epoch();
  check(e1);
  EXPECT_FALSE(e1.has_grad_stats);
  const train::EpochStats e2 = t.run_epoch();
  check(e2);
  ASSERT_TRUE(e2.has_grad_stats);
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += p.grads()[i];
    sq += static_cast<double>(p.grads()[i]) * p.grads()[i];
  }
  const double mean = sum / n, var = (sq - sum * mean) / (n - 1);
  EXPECT_NEAR(e2.grad_mean, mean, 1e-6 * std::sqrt(sq / n));
  EXPECT_NEAR(e2.grad_variance, var, 1e-3 * var);
  EXPECT_NEAR(e2.grad_l2_norm, std::sqrt(sq), 1e-4 * std::sqrt(sq));
  EXPECT_GT(e2.grad_l2_norm, 0.0);
  // after epoch 2, W_init moved 10% of the way to the weights
  for (std::size_t i = 0; i < n; ++i) w_init[i] = 0.9 * w_init[i] + 0.1 * p.params()[i];
  check(t.run_epoch());
}

TEST(Trainer, NonFiniteLossesStopTrainingLoudly) {
  TestTrainer t(small_settings(), engine::embedded_env_config("hearts_room"));
  nn::Policy<float>& p = t.policy();
  p.params()[p.table().at("value.weight").offset] = std::nanf("");  // the CPU backend: host memory
  try {
    t.run_epoch();
    ADD_FAILURE() << "no error";
  } catch (const metta::Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged at epoch 1: losses/"), std::string::npos) << e.what();
  }
}
