#include <chrono>
#include <cmath>
#include <cstdio>

#include "api/cli/commands.h"
#include "api/train/trainer.h"
#include "engine/config_yaml.h"

namespace metta::cli {
namespace {

struct TrainOptions {
  train::TrainSettings s;
  std::string env = "hearts_room";
  double max_seconds = 0;  // 0 = no limit
  std::string checkpoint_dir;  // "" = no checkpoints
  int checkpoint_interval = 50;
};

int run_train(const TrainOptions& o) {
  const engine::EnvConfig env_cfg = engine::env_config_from(o.env);
  train::Trainer trainer(o.s, env_cfg);
  std::printf("train: env %s, %s\n", o.env.c_str(), trainer.describe().c_str());
  if (!o.checkpoint_dir.empty() && trainer.resume(o.checkpoint_dir))
    std::printf("train: resumed from %s at epoch %lld, %lld agent steps\n", o.checkpoint_dir.c_str(),
                static_cast<long long>(trainer.epoch()), static_cast<long long>(trainer.agent_step()));
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  double total_episodes = 0;
  while (trainer.agent_step() < o.s.total_timesteps) {
    const train::EpochStats st = trainer.run_epoch();
    total_episodes += st.episodes;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "epoch %4lld | steps %9lld | %7.0f sps (rollout %.0f%%) | episodes %5.0f reward %.3f | loss %.4f pg %.4f "
        "v %.4f ent %.3f kl %.4f clip %.3f ev %.3f | %.0fs\n",
        static_cast<long long>(st.epoch), static_cast<long long>(st.agent_step), st.sps,
        100.0 * st.rollout_seconds / std::max(st.seconds, 1e-9), st.episodes,
        st.episodes > 0 ? st.mean_episode_reward : 0.0, st.losses[kernels::kPpoLoss],
        st.losses[kernels::kPpoPolicyLoss], st.losses[kernels::kPpoValueLoss], st.losses[kernels::kPpoEntropy],
        st.losses[kernels::kPpoApproxKl], st.losses[kernels::kPpoClipFrac], st.explained_variance, elapsed);
    std::fflush(stdout);
    for (float v : st.losses)
      if (!std::isfinite(v)) METTA_FAIL("non-finite loss at epoch " << st.epoch << ": training diverged");
    if (!o.checkpoint_dir.empty() && st.epoch % o.checkpoint_interval == 0)
      std::printf("train: saved %s\n", trainer.save_checkpoint(o.checkpoint_dir).c_str());
    if (o.max_seconds > 0 && elapsed >= o.max_seconds) {
      std::printf("train: stopping at the --max-seconds limit (%.0fs)\n", o.max_seconds);
      break;
    }
  }
  if (!o.checkpoint_dir.empty() && trainer.epoch() % o.checkpoint_interval != 0)
    std::printf("train: saved %s\n", trainer.save_checkpoint(o.checkpoint_dir).c_str());
  std::printf("train: done, %lld agent steps, %lld epochs\n", static_cast<long long>(trainer.agent_step()),
              static_cast<long long>(trainer.epoch()));
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a policy with PPO (progress line per epoch)");
  cmd->add_option("--env", o->env, "Embedded env (hearts_room, simple) or an env YAML path")->capture_default_str();
  cmd->add_option("--agent", o->s.agent, "Policy preset: fast or api_default")->capture_default_str();
  cmd->add_option("--device", o->s.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--threads", o->s.threads, "CPU threads (0 = all)")->capture_default_str();
  cmd->add_option("--seed", o->s.seed, "Seed of maps, sampling and initialization")->capture_default_str();
  cmd->add_option("--envs", o->s.num_envs, "Number of environments")->capture_default_str();
  cmd->add_option("--total-timesteps", o->s.total_timesteps, "Agent steps to train for")->capture_default_str();
  cmd->add_option("--batch-size", o->s.batch_size, "Agent steps per epoch (rounded to whole segments)")
      ->capture_default_str();
  cmd->add_option("--minibatch-size", o->s.minibatch_size, "Agent steps per minibatch (rounded)")->capture_default_str();
  cmd->add_option("--bptt-horizon", o->s.bptt_horizon, "Segment length")->capture_default_str();
  cmd->add_option("--update-epochs", o->s.update_epochs, "Passes over the buffer per epoch")->capture_default_str();
  cmd->add_option("--lr", o->s.adam.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--optimizer", o->s.optimizer, "adam or muon")->capture_default_str();
  cmd->add_option("--ent-coef", o->s.ppo.ent_coef, "Entropy coefficient")->capture_default_str();
  cmd->add_option("--checkpoint-dir", o->checkpoint_dir,
                  "Folder for model_NNNN.safetensors and trainer_state.safetensors; resumes from it when present");
  cmd->add_option("--checkpoint-interval", o->checkpoint_interval, "Save every N epochs (and at the end)")
      ->capture_default_str();
  cmd->add_option("--max-seconds", o->max_seconds, "Stop after this many seconds (0 = no limit)")
      ->capture_default_str();
  return [o] { return run_train(*o); };
}

}  // namespace metta::cli
