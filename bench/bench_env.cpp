// Simulator throughput on the embedded simple env with random actions (drawn on the device each step,
// included in the time). items/s = agent-steps/s. CPU: 64 envs on 1 thread and on all threads; CUDA:
// 64 ... 16,384 envs (skipped without a GPU). Wall time after a device synchronize. After the timed loop,
// 50 more steps timed per pass (kernels/phase_timer.h: CUDA events, or the clock on the CPU) give the
// counters *_us (per step: actions, resets, step, observations), obs_GBps (observation bytes written per
// second of the observation passes) and bytes/agent-step (policy-facing output written per agent).
#include <benchmark/benchmark.h>
#include <omp.h>

#include "engine/batched_env.h"
#include "engine/config_yaml.h"

using namespace metta;

namespace {

// True (the benchmark marked skipped, with the reason) when CUDA is not usable here.
bool skipped_without_gpu(benchmark::State& state) {
  const std::string why = kernels::cuda_unavailable_reason();
  if (why.empty()) return false;
  state.SkipWithError(("no GPU: " + why).c_str());
  for (auto _ : state) {
  }
  return true;
}

// Steps `env` with random actions: a warm-up, then the timed loop; returns the next action counter.
std::uint32_t time_steps(benchmark::State& state, engine::BatchedEnv& env, const kernels::Context& ctx) {
  std::uint32_t t = 0;
  for (int i = 0; i < 20; ++i) {  // warm-up
    env.random_actions(2, t++);
    env.step();
  }
  kernels::synchronize(ctx);
  for (auto _ : state) {
    env.random_actions(2, t++);
    env.step();
    kernels::synchronize(ctx);
  }
  state.SetItemsProcessed(state.iterations() * env.total_agents());
  state.counters["envs"] = static_cast<double>(env.num_envs());
  return t;
}

void run_sim(benchmark::State& state, const kernels::Context& ctx, std::int64_t envs) {
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;  // resets spread over time, as in training
  engine::BatchedEnv env(engine::default_env_config(), envs, 1, ctx, opt);
  const std::uint32_t t = time_steps(state, env, ctx);
  state.counters["threads"] = ctx.device == kernels::Device::CPU ? (ctx.num_threads ? ctx.num_threads : omp_get_max_threads()) : 0;
  const engine::BatchedEnv::StepBreakdown b = env.step_breakdown(50, 2, t);
  const char* counter[4] = {"actions_us", "resets_us", "step_us", "obs_us"};
  for (int p = 0; p < 4; ++p) state.counters[counter[p]] = b.seconds_per_step[p] * 1e6;
  state.counters["obs_GBps"] = b.observation_bytes_per_s / 1e9;
  state.counters["bytes/agent-step"] = env.bytes_written_per_agent_step();
}

// Issue 14's target: a batch whose envs draw between two map sizes (the simple room and one 10 cells
// wider and taller, half its objects in the small one) against a batch of the larger map alone, per
// agent-step. Arg: 0 = the larger map alone, 1 = mixed.
void run_mixed(benchmark::State& state, const kernels::Context& ctx, std::int64_t envs, bool mixed) {
  engine::EnvConfig small = engine::default_env_config(), large = engine::default_env_config();
  large.map_builder.room.at(0).width += 10;
  large.map_builder.room.at(0).height += 10;
  for (auto& [name, count] : small.map_builder.room.at(0).objects) count = count > 1 ? count / 2 : count;
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  engine::BatchedEnv env(mixed ? std::vector<engine::EnvConfig>{small, large} : std::vector<engine::EnvConfig>{large},
                         envs, 1, ctx, opt);
  time_steps(state, env, ctx);
  state.counters["mixed"] = mixed ? 1 : 0;
}

void BM_MapSizesCpu1Thread(benchmark::State& state) { run_mixed(state, kernels::Context::cpu(1), 64, state.range(0) != 0); }
void BM_MapSizesCuda(benchmark::State& state) {
  if (skipped_without_gpu(state)) return;
  run_mixed(state, kernels::Context::cuda(), 4096, state.range(0) != 0);
}

void BM_SimpleCpu1Thread(benchmark::State& state) { run_sim(state, kernels::Context::cpu(1), state.range(0)); }
void BM_SimpleCpuAllThreads(benchmark::State& state) { run_sim(state, kernels::Context::cpu(0), state.range(0)); }
void BM_SimpleCuda(benchmark::State& state) {
  if (skipped_without_gpu(state)) return;
  run_sim(state, kernels::Context::cuda(), state.range(0));
}

}  // namespace

BENCHMARK(BM_SimpleCpu1Thread)->Arg(1)->Arg(64)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SimpleCpuAllThreads)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SimpleCuda)->RangeMultiplier(4)->Range(64, 16384)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapSizesCpu1Thread)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapSizesCuda)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
