// Evaluating a saved policy from C++, with a MettaScope replay (train/eval/evaluate.h): the library side
// of `metta eval`, and the README's example of it.
// Usage: example_evaluate CHECKPOINT_DIR [REPLAY.json.z]
#include <cstdio>
#include <string>

#include "train/checkpoint/policy_store.h"
#include "train/eval/evaluate.h"
#include "engine/config_yaml.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: example_evaluate CHECKPOINT_DIR [REPLAY.json.z]\n");
    return 2;
  }
  // The saved model with the largest value of a metric ("epoch", "agent_step" or a metadata score).
  const std::string path = metta::checkpoint::PolicyStore::resolve_uri(argv[1], "top", "epoch");
  metta::eval::EvalOptions options;
  options.episodes = 8;
  options.num_envs = 8;
  if (argc > 2) options.replay_path = argv[2];  // env 0's first episode
  const metta::eval::EvalResult result = metta::eval::evaluate_checkpoint(
      metta::kernels::Context::cpu(), metta::engine::env_config_from("hearts_room"), path, options);
  std::printf("%s: %.0f episodes, mean episode reward %.3f\n", path.c_str(), result.episodes,
              result.mean_episode_reward);
  return result.episodes >= static_cast<double>(options.episodes) ? 0 : 1;
}
