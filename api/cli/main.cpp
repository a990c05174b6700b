// `metta`: the project's command-line tool. Subcommands: sim, train, eval, bench.
#include <cstdio>
#include <cstdlib>
#include <new>
#include <exception>

#include "api/cli/commands.h"
#include "api/process/process_setup.h"
#include "kernels/common.h"
#include "train/distributed/process_group.h"

int main(int argc, char** argv) {
  metta::process::prepare_process(argv);
  CLI::App app{"metta: GPU-first MettaGrid simulator and trainer"};
  app.require_subcommand(1);
  auto run_sim = metta::cli::add_sim_command(app);
  auto run_train = metta::cli::add_train_command(app);
  auto run_eval = metta::cli::add_eval_command(app);
  auto run_bench = metta::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (app.got_subcommand("sim")) return run_sim();
    if (app.got_subcommand("train")) return run_train();
    if (app.got_subcommand("eval")) return run_eval();
    if (app.got_subcommand("bench")) return run_bench();
  } catch (const metta::Error& e) {
    std::fprintf(stderr, "metta: error: %s\n", e.what());
    // where the check sits in our code: for bug reports, not for users
    if (std::getenv("METTA_DEBUG") && !e.where().empty()) std::fprintf(stderr, "metta: (%s)\n", e.where().c_str());
    metta::train::distributed::abort_other_ranks(1);  // a data-parallel run stops on every rank at once
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "metta: error: out of memory (a config asks for more than this machine has: check num_envs, "
                         "batch sizes, map sizes and agent widths)\n");
    metta::train::distributed::abort_other_ranks(1);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metta: error: %s\n", e.what());
    metta::train::distributed::abort_other_ranks(1);
    return 1;
  }
  return 0;
}
