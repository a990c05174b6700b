// `metta bench`: quick throughput figures on this machine — the simulator (random actions, simple env)
// and end-to-end training epochs (hearts_room) for the agent presets, on the CPU and, when present,
// the GPU. For careful measurements use bench/ (Google Benchmark) and the peer harnesses in scripts/.
#include <chrono>
#include <cstdio>

#include "api/cli/commands.h"
#include "train/trainer.h"
#include "engine/config_yaml.h"

namespace metta::cli {
namespace {

struct BenchOptions {
  double seconds = 3;
  bool cuda = true;
  bool breakdown = false;
};

// track: the stat-update tracking that training turns on (the derived entries of every stat key)
double sim_rate(const kernels::Context& ctx, std::int64_t envs, double seconds, bool track = false) {
  engine::BatchedEnvOptions opt;
  opt.track_stat_updates = track;
  engine::BatchedEnv env(std::vector<engine::EnvConfig>{engine::default_env_config()}, envs, 1, ctx, opt);
  std::uint32_t t = 0;
  for (int i = 0; i < 10; ++i) {
    env.random_actions(2, t++);
    env.step();
  }
  kernels::synchronize(ctx);
  const auto start = std::chrono::steady_clock::now();
  std::int64_t steps = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 16; ++i, ++steps) {
      env.random_actions(2, t++);
      env.step();
    }
    kernels::synchronize(ctx);
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return steps * env.total_agents() / elapsed;
}

train::TrainerConfig bench_trainer_config(const std::string& device, std::int64_t batch, int update_epochs) {
  train::TrainerConfig c;
  c.device = device;
  c.total_timesteps = 1'000'000;
  c.batch_size = batch;
  c.minibatch_size = batch / 8;
  c.bptt_horizon = 16;
  c.update_epochs = update_epochs;
  return c;
}

double train_rate(const std::string& device, const std::string& agent, std::int64_t envs, std::int64_t batch,
                  double seconds, int update_epochs = 1) {
  train::Trainer t(bench_trainer_config(device, batch, update_epochs), engine::embedded_env_config("hearts_room"),
                   envs, agent);
  t.run_epoch();  // warm-up
  double total = 0;
  std::int64_t steps = 0;
  while (total < seconds) {
    const train::EpochStats st = t.run_epoch();
    total += st.seconds;
    steps += t.batch_size();
  }
  return steps / total;
}

// `--breakdown`: the CPU epoch of each agent split into its parts (train/epoch_timing.h), per epoch.
void print_breakdown(const std::string& agent, int update_epochs, double seconds) {
  train::Trainer t(bench_trainer_config("cpu", 16384, update_epochs), engine::embedded_env_config("hearts_room"), 16,
                   agent);
  t.run_epoch();  // warm-up
  train::EpochTiming sum;
  double wall = 0;
  int epochs = 0;
  while (wall < seconds || epochs < 2) {
    const train::EpochStats st = t.run_epoch();
    sum += st.timing;
    wall += st.seconds;
    ++epochs;
  }
  std::printf("\nbreakdown: train hearts_room, cpu, agent %s, %d update pass%s, %d epochs of %lld agent steps, "
              "%.0f agent-steps/s\n",
              agent.c_str(), update_epochs, update_epochs == 1 ? "" : "es", epochs,
              static_cast<long long>(t.batch_size()), epochs * t.batch_size() / wall);
  std::printf("  %-26s %12s %8s\n", "part", "ms/epoch", "share");
  for (int p = 0; p < static_cast<int>(train::EpochPart::kCount); ++p) {
    if (sum.seconds[p] == 0) continue;
    std::printf("  %-26s %12.1f %7.1f%%\n", train::kEpochPartNames[p], 1e3 * sum.seconds[p] / epochs,
                100 * sum.seconds[p] / wall);
  }
  std::printf("  %-26s %12.1f %7.1f%%\n", "(between parts)", 1e3 * (wall - sum.total()) / epochs,
              100 * (wall - sum.total()) / wall);
}

int run_bench(const BenchOptions& o) {
  // Training figures are whole epochs (rollout + update) per agent step; each update pass over the
  // buffer adds a training forward and backward, so the pass count is part of the label.
  std::printf("%-58s %16s\n", "benchmark", "agent-steps/s");
  std::printf("%-58s %16.0f\n", "sim simple, cpu, 1 thread, 64 envs", sim_rate(kernels::Context::cpu(1), 64, o.seconds));
  std::printf("%-58s %16.0f\n", "sim simple, cpu, all threads, 256 envs", sim_rate(kernels::Context::cpu(0), 256, o.seconds));
  std::printf("%-58s %16.0f\n", "sim simple, cpu, 1 thread, 64 envs, stat tracking (train)",
              sim_rate(kernels::Context::cpu(1), 64, o.seconds, true));
  for (const char* agent : {"small", "fast"})
    std::printf("%-58s %16.0f\n", (std::string("train hearts_room, cpu, agent ") + agent + ", 1 update pass").c_str(),
                train_rate("cpu", agent, 16, 16384, o.seconds));
  std::printf("%-58s %16.0f\n", "train hearts_room, cpu, agent fast, 2 update passes (main job)",
              train_rate("cpu", "fast", 16, 16384, o.seconds, 2));
  if (o.breakdown) {
    print_breakdown("small", 1, o.seconds);
    print_breakdown("fast", 1, o.seconds);
    print_breakdown("fast", 2, o.seconds);
  }
  const std::string why = kernels::cuda_unavailable_reason();
  if (!o.cuda || !why.empty()) {
    std::printf("cuda: skipped (%s)\n", o.cuda ? why.c_str() : "--no-cuda");
    return 0;
  }
  for (std::int64_t envs : {1024, 16384})
    std::printf("%-58s %16.0f\n", ("sim simple, cuda, " + std::to_string(envs) + " envs").c_str(),
                sim_rate(kernels::Context::cuda(), envs, o.seconds));
  for (const char* agent : {"fast", "api_default"})
    std::printf("%-58s %16.0f\n", (std::string("train hearts_room, cuda, agent ") + agent + ", 1 update pass").c_str(),
                train_rate("cuda", agent, 4096, 262144, o.seconds));
  return 0;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Quick throughput figures: simulator and training, CPU and GPU");
  cmd->add_option("--seconds", o->seconds, "Time per measurement")->capture_default_str()->check(finite_range(0.01, 3600.0));
  cmd->add_flag("!--no-cuda", o->cuda, "Skip the GPU measurements");
  cmd->add_flag("--breakdown", o->breakdown,
                "Also split the CPU training epoch into its parts (policy forward, sampling, env step, ...) and "
                "print each part's time and share");
  return [o] { return run_bench(*o); };
}

}  // namespace metta::cli
