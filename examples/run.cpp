// The documented API's complete example (seed/metta-api.md, "Complete Training Example"), in C++:
// environment, agent, training components, the rollout/train loop, checkpoints and a progress line.
// Usage: example_run [total_timesteps] [checkpoint_dir] [env]   (defaults: 200000, ./checkpoints, hearts_room;
// env may be an env config or a curriculum file)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/metta_api.h"
#include "api/process/process_setup.h"

using namespace metta::api;

int main(int argc, char** argv) {
  metta::process::prepare_process(argv);
  const std::int64_t total = argc > 1 ? std::atoll(argv[1]) : 200'000;
  const std::string checkpoint_dir = argc > 2 ? argv[2] : "./checkpoints";
  const std::string env_path = argc > 3 ? argv[3] : "hearts_room";

  // Trainer config: defaults of the reference, sized for a small run on a CPU.
  TrainerConfig trainer_config = create_default_trainer_config(/*num_workers=*/1, total, /*batch_size=*/8192,
                                                               /*minibatch_size=*/2048);
  trainer_config.bptt_horizon = 16;
  trainer_config.optimizer.learning_rate = 0.002;
  trainer_config.validate();

  Environment env(env_path, /*num_envs=*/8, trainer_config.num_workers, /*batch_size=*/8, "cpu");
  Agent agent(env, AgentConfig{"small"}, "cpu");
  PolicyStore policy_store(checkpoint_dir);
  TrainingComponents training = TrainingComponents::create(env, agent, trainer_config, &policy_store);

  while (training.agent_step < trainer_config.total_timesteps) {
    // Rollout phase
    training.reset_for_rollout();
    while (!training.is_ready_for_training()) {
      auto [num_steps, info] = training.rollout_step();
      training.agent_step += num_steps;
      if (info.episodes > 0) training.accumulate_stats(info);
    }
    // Training phase
    training.reset_training_state();
    const Advantages advantages = training.compute_advantages();
    const double anneal_beta = calculate_anneal_beta(training.epoch(), trainer_config.total_timesteps,
                                                     trainer_config.batch_size,
                                                     trainer_config.prioritized_experience_replay.prio_alpha,
                                                     trainer_config.prioritized_experience_replay.prio_beta0);
    for (int epoch = 0; epoch < trainer_config.update_epochs; ++epoch) {
      for (std::int64_t i : training.experience.iterate_minibatches()) {
        const auto minibatch =
            training.sample_minibatch(advantages, i, training.experience.num_minibatches, anneal_beta, epoch);
        const Loss loss = training.train_minibatch(minibatch, advantages);
        training.optimize_step(loss, /*accumulate_steps=*/1);
      }
    }
    const auto& stats = training.finish_epoch();
    std::printf("epoch %lld | agent steps %lld | episodes %.0f | reward %.3f | policy loss %.4f | value loss %.4f\n",
                static_cast<long long>(stats.epoch), static_cast<long long>(training.agent_step), stats.episodes,
                stats.mean_episode_reward, stats.losses[metta::kernels::kPpoPolicyLoss],
                stats.losses[metta::kernels::kPpoValueLoss]);
    if (training.epoch() % 5 == 0) save_checkpoint(training, policy_store, training.epoch(), {{"note", "periodic"}});
  }
  const PolicyRecord record = save_checkpoint(training, policy_store, training.epoch(), {{"note", "final"}});
  std::printf("saved %s (epoch %lld, agent_step %lld)\n", record.path.c_str(),
              static_cast<long long>(record.metadata.epoch), static_cast<long long>(record.metadata.agent_step));
  Agent reloaded(env, AgentConfig{"small"}, "cpu", /*seed=*/2);
  load_checkpoint(policy_store, record.path, reloaded);
  return reloaded.weights() == agent.weights() ? 0 : 1;
}
