// Learning: on the small hearts_room env (4 agents, 6 altars holding one heart each, 200-step episodes),
// a seeded CPU training run must reach a mean episode reward of at least 3x the random policy's, measured
// in the same test. The run is bounded by agent steps (not time) and stops as soon as the mean of the
// last 5 epochs clears the bar; at about 13k agent-steps/s on 2 cores the bound is about a minute.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <numeric>

#include "train/trainer.h"
#include "engine/config_yaml.h"
#include "api/process/process_setup.h"

using namespace metta;

TEST(Learning, BeatsTheRandomPolicyThreeFold) {
  const engine::EnvConfig env_cfg = engine::embedded_env_config("hearts_room");
  // Random play: uniform over the action space (type, then arg), the reference's random baseline.
  double random_reward = 0;
  {
    engine::BatchedEnv env(env_cfg, 64, 11, kernels::Context::cpu());
    for (std::uint32_t t = 0; t < 3 * 201; ++t) {
      env.random_actions(12, t);
      env.step();
    }
    const engine::CompletedEpisodes done = env.completed_episodes();
    ASSERT_GE(done.episodes, 128.0);
    random_reward = done.mean_reward;
  }
  ASSERT_GT(random_reward, 0.05);
  const double bar = 3.0 * random_reward;

  train::TrainerConfig s;
  s.total_timesteps = 1'000'000;
  s.batch_size = 16384;
  s.minibatch_size = 2048;
  s.bptt_horizon = 16;
  s.update_epochs = 2;
  s.optimizer.learning_rate = 0.002f;  // the float the test always trained with
  s.seed = 1;
  train::Trainer trainer(s, env_cfg, 16, "small");
  std::deque<double> recent;
  double best = 0;
  while (trainer.agent_step() < 1'200'000) {
    const train::EpochStats st = trainer.run_epoch();
    if (st.episodes > 0) recent.push_back(st.mean_episode_reward);
    if (recent.size() > 5) recent.pop_front();
    const double mean = std::accumulate(recent.begin(), recent.end(), 0.0) / std::max<std::size_t>(1, recent.size());
    best = std::max(best, recent.size() == 5 ? mean : 0.0);
    if (st.epoch % 10 == 0)
      std::printf("epoch %lld steps %lld reward(last 5) %.3f random %.3f\n", static_cast<long long>(st.epoch),
                  static_cast<long long>(st.agent_step), mean, random_reward);
    if (recent.size() == 5 && mean >= bar) break;
  }
  std::printf("learning: random %.3f, trained %.3f after %lld agent steps\n", random_reward, best,
              static_cast<long long>(trainer.agent_step()));
  EXPECT_GE(best, bar) << "random " << random_reward;
}

int main(int argc, char** argv) {
  metta::process::prepare_process(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
