// A short training run through the documented API, pinned: its final loss and a checksum of its final
// weights must equal the values recorded in tests/golden/trainer_pin.txt. Refactors of the trainer (its
// config, its folders) must not change a bit of a run. The CPU backend's bits depend on the machine's
// kernel families (OpenBLAS's core type and the vector-math clone GCC picks), so the values are recorded
// per family; a family without a line skips, printing the line to add after checking the run on a
// machine where a recorded family passes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "api/metta_api.h"
#include "kernels/blas_setup.h"
#include "tests/blas_core.h"

namespace {
using namespace metta::api;

// The clone of nn/vec_math_cpu.cpp that GCC's target_clones picks on this CPU.
std::string vector_math_level() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "default";
}

std::uint64_t fnv1a(const void* data, std::size_t bytes) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  char s[16];
  std::snprintf(s, sizeof s, "%08x", u);
  return s;
}

// "<loss bits> <weights checksum>" of 3 epochs of the small agent on hearts_room (seeded, CPU).
std::string run_pinned_job() {
  TrainerConfig config = create_default_trainer_config(1, 3072, 1024, 256);
  config.bptt_horizon = 8;
  config.optimizer.learning_rate = 0.002;
  config.ppo.ent_coef = 0.01;
  config.seed = 7;
  config.validate();
  Environment env("hearts_room", 4, 1, 4, "cpu");
  Agent agent(env, AgentConfig{"small"}, "cpu", /*seed=*/7);
  float loss = 0;
  {
    TrainingComponents training = TrainingComponents::create(env, agent, config);
    while (training.agent_step < config.total_timesteps) {
      training.reset_for_rollout();
      while (!training.is_ready_for_training()) {
        auto [steps, info] = training.rollout_step();
        training.agent_step += steps;
        if (info.episodes > 0) training.accumulate_stats(info);
      }
      training.reset_training_state();
      const Advantages advantages = training.compute_advantages();
      for (std::int64_t i : training.experience.iterate_minibatches()) {
        const auto mb = training.sample_minibatch(advantages, i, training.experience.num_minibatches, 1.0, 0);
        const Loss l = training.train_minibatch(mb, advantages);
        training.optimize_step(l, 1);
      }
      loss = training.finish_epoch().losses[metta::kernels::kPpoLoss];
    }
  }
  const std::vector<float>& w = agent.weights();
  char sum[24];
  std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(fnv1a(w.data(), w.size() * sizeof(float))));
  return float_bits(loss) + " " + sum;
}

TEST(TrainerPin, ShortRunMatchesItsRecordedLossAndWeights) {
  const std::string skip = metta::testing::requested_blas_core_skip_reason();
  if (!skip.empty()) GTEST_SKIP() << skip;
  const std::string family = metta::kernels::blas_core_name() + "/" + vector_math_level();
  const std::string got = run_pinned_job();
  EXPECT_EQ(run_pinned_job(), got) << "the same seed gave another run";

  const std::string path = std::string(METTA_SOURCE_DIR) + "/tests/golden/trainer_pin.txt";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, loss, sum;
    fields >> name >> loss >> sum;
    if (name == family) {
      EXPECT_EQ(loss + " " + sum, got) << "the pinned run of " << family
                                       << " changed (loss bits, weights checksum): the trainer no longer "
                                          "computes what it computed when the line was recorded";
      return;
    }
  }
  GTEST_SKIP() << "no recorded values for kernel family " << family << " in " << path << "; this run gives:\n"
               << family << " " << got;
}

}  // namespace
