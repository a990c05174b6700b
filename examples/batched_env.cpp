// The README's C++ example of the batched environment: 64 simple envs, random actions, 1,500 steps
// (one full 1,000-step episode each), then the completed-episode statistics.
#include <cstdio>

#include "engine/batched_env.h"
#include "engine/config_yaml.h"
using namespace metta;

int main() {
  engine::BatchedEnv env(engine::default_env_config(), /*num_envs=*/64, /*seed=*/1,
                         kernels::Context::cpu(/*threads=*/0));  // or kernels::Context::cuda()
  for (std::uint32_t t = 0; t < 1500; ++t) {
    env.random_actions(/*seed=*/7, t);  // or write int32 [agents, 2] into env.actions()
    env.step();                         // obs uint8 [agents, 200, 3], rewards f32, truncations u8
  }
  engine::CompletedEpisodes done = env.completed_episodes();  // episodes, mean reward, stats per key
  std::vector<engine::GridObject> objs = env.grid_objects(0);  // id, type, r, c, layer, features
  std::printf("episodes=%.0f mean_reward=%.4f objects_in_env0=%zu moves_per_agent=%.1f\n", done.episodes,
              done.mean_reward, objs.size(), done.agent["action.move.success"]);
  return done.episodes > 0 && objs.size() == 1608 ? 0 : 1;
}
