// `metta train [--config FILE] [group=option ...] [key=value ...]`: the training job of
// configs/train_job.yaml (composed with its config groups) with Hydra-style overrides, run by train::Run
// (train/run.h; the documented API loop of examples/run.cpp gives the same weights). Writes
// run_dir/config.yaml (resolved), run_dir/metrics.jsonl (one line per epoch), TensorBoard events in
// run_dir, and checkpoints in run_dir/checkpoints, and resumes from them when present. Evaluates the
// training task every trainer.evaluate_interval epochs and at the end (replays when asked).
// As one rank of a data-parallel run (mpirun, srun: train/distributed/), rank 0 alone owns the run
// folder (lock, config, metrics, TensorBoard, evaluation, checkpoint files) and prints progress; every
// rank trains, and they decide together when to stop.
#include <csignal>
#include <cstdio>
#include <thread>

#include "api/cli/commands.h"
#include "api/config/train_job.h"
#include "api/metta_api.h"
#include "train/distributed/process_group.h"
#include "train/run.h"

namespace metta::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
};

// Ctrl-C / SIGTERM: finish the current epoch, save a checkpoint and stop. A second signal kills at once
// (the default action comes back after the first); the checkpoint files are written atomically, so even
// then the previous checkpoint stays loadable.
volatile std::sig_atomic_t g_stop_requested = 0;
void request_stop(int sig) {
  g_stop_requested = 1;
  std::signal(sig, SIG_DFL);
}

// Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
constexpr int kInterruptedExit = 130;

void warn_about_cpu_choices(const config::TrainJob& job) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (job.device == "cpu" && cores > 0 && job.threads > static_cast<int>(cores))
    std::fprintf(stderr,
                 "train: warning: threads=%d is more than the %u cores; OpenMP threads waiting at barriers then "
                 "take cores from working ones (measured: 3 threads on 2 cores ran about 8x slower; results are "
                 "the same bits)\n",
                 job.threads, cores);
  if (job.device == "cpu" && job.agent.rfind("api_default", 0) == 0)
    std::fprintf(stderr,
                 "train: note: agent=api_default (6.4M parameters) trains at hundreds to a few thousand agent-steps/s "
                 "on a CPU; agent=fast or agent=small are made for CPU runs, api_default for device=cuda\n");
}

int run_train(const TrainOptions& o) {
  const config::TrainJob job = config::load_train_job(o.config, o.overrides);
  // a rank of a data-parallel run when a launcher started this process; progress is rank 0's to print
  const train::distributed::ProcessGroup& group = api::process_group();
  if (!group.is_main() && !std::freopen("/dev/null", "w", stdout))
    throw metta::Error("rank " + std::to_string(group.rank()) + ": cannot silence stdout");
  warn_about_cpu_choices(job);
  train::Run run(config::run_spec(job, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);  // a line at a time, also into a pipe or a log file
  }));
  g_stop_requested = 0;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  while (!run.finished()) run.run_epoch(g_stop_requested != 0);
  return run.close() == train::RunEnd::kInterrupted ? kInterruptedExit : 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train with PPO: configs/train_job.yaml, group=option selections (trainer=reference) and "
               "key=value overrides (e.g. agent=small trainer.total_timesteps=2000000 ++trainer.ppo.clip_coef=0.2)");
  cmd->add_option("--config", o->config, "A job config YAML; its config groups are looked up beside it, then compiled in (default: the embedded "
                  "configs/train_job.yaml)");
  cmd->add_option("overrides", o->overrides, "Overrides: group=option, key=value, +key=value, ++key=value, ~key");
  return [o] { return run_train(*o); };
}

}  // namespace metta::cli
