// Policy and trainer throughput, items/s = agent-steps/s:
// - BM_PolicyRollout/<preset>/<agents>: one rollout forward (steps = 1, sampling) for 64 agents (the main
//   job's batch) and 1,024 (CPU), or 1,024 and 16,384 (CUDA);
// - BM_PolicyTrainStep/<preset>: training forward + backward of one minibatch (256 segments x 16 steps
//   = 4,096 rows), the unit the PyTorch peer harness (scripts/peer-torch-bench.sh) measures too;
// - BM_TrainEpoch/<preset>: end-to-end epochs (rollout + PPO update) on hearts_room (16 envs x 4 agents,
//   batch 16,384, minibatch 2,048, 2 update epochs: the main job's settings).
// CPU (BLAS single-threaded, OpenMP for the rest) and, with a GPU, CUDA. METTA_LSTM=native runs the CUDA
// cases with our own LSTM kernels instead of cuDNN, and METTA_FIRST_CONV=dense every case with the dense
// first convolution instead of the token one, METTA_ROLLOUT_GRAPH=1 and METTA_UPDATE_GRAPH=1 the epochs
// with trainer.rollout_graph and trainer.update_graph, and METTA_FUSED_EPILOGUES=1 the CUDA cases with
// the layers' bias and ReLU inside their GEMMs (trainer.fused_epilogues) (read here: the library reads no
// environment).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>

#include "train/trainer.h"
#include "engine/config_yaml.h"
#include "api/process/process_setup.h"

using namespace metta;

namespace {
const std::vector<int> kSimpleMaxArgs = {0, 1, 3, 0, 0, 9, 0, 0, 3};

// True when the environment variable `name` is set to `value`.
bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::string(v) == value;
}

// "native" with METTA_LSTM=native, else "auto" (trainer.lstm's values).
std::string lstm_choice() { return env_is("METTA_LSTM", "native") ? "native" : "auto"; }

// "dense" with METTA_FIRST_CONV=dense, else "tokens" (trainer.first_conv's values).
std::string first_conv_choice() { return env_is("METTA_FIRST_CONV", "dense") ? "dense" : "tokens"; }

std::vector<float> norms() {
  std::vector<float> n;
  for (auto& [name, v] : engine::feature_spec({"ore_red", "ore_blue", "ore_green", "battery_red", "battery_blue",
                                               "battery_green", "heart", "armor", "laser", "blueprint"}))
    n.push_back(v);
  return n;
}

// Observations from real play in the simple env.
std::vector<std::uint8_t> real_obs(std::int64_t rows) {
  engine::BatchedEnv env(engine::default_env_config(), (rows + 23) / 24, 1, kernels::Context::cpu());
  for (std::uint32_t t = 0; t < 30; ++t) {
    env.random_actions(3, t);
    env.step();
  }
  auto obs = env.observations_host();
  obs.resize(static_cast<std::size_t>(rows * 600));
  return obs;
}

bool skip_without(benchmark::State& state, kernels::Device d) {
  if (d == kernels::Device::CPU) return false;
  const std::string why = kernels::cuda_unavailable_reason();
  if (why.empty()) return false;
  state.SkipWithError(("no GPU: " + why).c_str());
  for (auto _ : state) {
  }
  return true;
}

// true with METTA_FUSED_EPILOGUES=1 (trainer.fused_epilogues)
bool fused_epilogues_choice() { return env_is("METTA_FUSED_EPILOGUES", "1"); }

kernels::Context context(kernels::Device d) {
  if (d != kernels::Device::CUDA) return kernels::Context::cpu();
  kernels::Context ctx = kernels::Context::cuda();
  ctx.fused_epilogues = fused_epilogues_choice();
  return ctx;
}

template <kernels::Device D>
void BM_PolicyRollout(benchmark::State& state, const char* preset) {
  if (skip_without(state, D)) return;
  const kernels::Context ctx = context(D);
  const std::int64_t n = state.range(0);  // agents stepped at once
  nn::Policy<float> pol(ctx, nn::PolicyArch::by_name(preset, 22), nn::ActionSpace(kSimpleMaxArgs), norms(), 1, n, 1,
                        train::lstm_backend(lstm_choice()));
  pol.set_token_conv(first_conv_choice() == "tokens");
  kernels::DeviceBuffer<std::uint8_t> obs(ctx.device, n * 600);
  obs.upload(ctx, real_obs(n));
  kernels::DeviceBuffer<float> h(ctx.device, n * pol.state_size()), c(ctx.device, n * pol.state_size());
  h.fill_bytes_with(ctx, 0);
  c.fill_bytes_with(ctx, 0);
  kernels::DeviceBuffer<std::int32_t> acts(ctx.device, n * 2);
  std::uint32_t counter = 0;
  // warm-up: the first pass touches every workspace page (and loads cuDNN); not what a step costs
  pol.forward(obs.data(), n, 1, nullptr, h.data(), c.data(), h.data(), c.data(), 1, counter++, acts.data());
  kernels::synchronize(ctx);
  for (auto _ : state) {
    pol.forward(obs.data(), n, 1, nullptr, h.data(), c.data(), h.data(), c.data(), 1, counter++, acts.data());
    kernels::synchronize(ctx);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

template <kernels::Device D>
void BM_PolicyTrainStep(benchmark::State& state, const char* preset) {
  if (skip_without(state, D)) return;
  const kernels::Context ctx = context(D);
  const int segs = 256, steps = 16;
  const std::int64_t rows = segs * steps;
  nn::Policy<float> pol(ctx, nn::PolicyArch::by_name(preset, 22), nn::ActionSpace(kSimpleMaxArgs), norms(), 1, rows,
                        steps, train::lstm_backend(lstm_choice()));
  pol.set_token_conv(first_conv_choice() == "tokens");
  kernels::DeviceBuffer<std::uint8_t> obs(ctx.device, rows * 600);
  obs.upload(ctx, real_obs(rows));
  std::vector<std::int32_t> a(rows * 2);
  std::mt19937 rng(1);
  for (std::int64_t r = 0; r < rows; ++r) {
    a[r * 2] = static_cast<std::int32_t>(rng() % 9);
    a[r * 2 + 1] = static_cast<std::int32_t>(rng() % (kSimpleMaxArgs[a[r * 2]] + 1));
  }
  kernels::DeviceBuffer<std::int32_t> acts(ctx.device, rows * 2);
  acts.upload(ctx, a);
  kernels::DeviceBuffer<float> g(ctx.device, rows);
  g.upload(ctx, std::vector<float>(rows, 1.0f / rows));
  const auto step = [&] {
    pol.forward(obs.data(), segs, steps, acts.data(), nullptr, nullptr, nullptr, nullptr);
    pol.zero_grads();
    pol.backward(g.data(), g.data(), g.data());
    kernels::synchronize(ctx);
  };
  step();  // warm-up: first touch of every workspace page
  for (auto _ : state) step();
  state.SetItemsProcessed(state.iterations() * rows);
}

template <kernels::Device D>
void BM_TrainEpoch(benchmark::State& state, const char* preset) {
  if (skip_without(state, D)) return;
  train::TrainerConfig c;
  c.device = D == kernels::Device::CUDA ? "cuda" : "cpu";
  c.total_timesteps = 1'000'000;
  c.batch_size = 16384;
  c.minibatch_size = 2048;
  c.bptt_horizon = 16;
  c.update_epochs = 2;
  c.lstm = lstm_choice();
  c.first_conv = first_conv_choice();
  c.rollout_graph = env_is("METTA_ROLLOUT_GRAPH", "1");
  c.update_graph = env_is("METTA_UPDATE_GRAPH", "1");
  c.fused_epilogues = fused_epilogues_choice();
  train::Trainer t(c, engine::embedded_env_config("hearts_room"), 16, preset);
  t.run_epoch();  // warm-up
  double rollout = 0, total = 0;
  for (auto _ : state) {
    const train::EpochStats st = t.run_epoch();
    rollout += st.rollout_seconds;
    total += st.seconds;
  }
  state.SetItemsProcessed(state.iterations() * t.batch_size());
  state.counters["rollout_frac"] = total > 0 ? rollout / total : 0;
}

}  // namespace

void BM_PolicyRolloutCpu(benchmark::State& s, const char* p) { BM_PolicyRollout<kernels::Device::CPU>(s, p); }
void BM_PolicyRolloutCuda(benchmark::State& s, const char* p) { BM_PolicyRollout<kernels::Device::CUDA>(s, p); }
void BM_PolicyTrainStepCpu(benchmark::State& s, const char* p) { BM_PolicyTrainStep<kernels::Device::CPU>(s, p); }
void BM_PolicyTrainStepCuda(benchmark::State& s, const char* p) { BM_PolicyTrainStep<kernels::Device::CUDA>(s, p); }
void BM_TrainEpochCpu(benchmark::State& s, const char* p) { BM_TrainEpoch<kernels::Device::CPU>(s, p); }
void BM_TrainEpochCuda(benchmark::State& s, const char* p) { BM_TrainEpoch<kernels::Device::CUDA>(s, p); }

#define METTA_BENCH(fn, preset, iters) \
  BENCHMARK_CAPTURE(fn, preset, #preset)->Unit(benchmark::kMillisecond)->UseRealTime() iters
METTA_BENCH(BM_PolicyRolloutCpu, fast, ->Arg(64)->Arg(1024));  // 64: the main job's 16 envs x 4 agents
METTA_BENCH(BM_PolicyRolloutCpu, api_default, ->Arg(64)->Arg(1024));
METTA_BENCH(BM_PolicyTrainStepCpu, fast, );
METTA_BENCH(BM_PolicyTrainStepCpu, api_default, );
METTA_BENCH(BM_TrainEpochCpu, fast, ->Iterations(2));
METTA_BENCH(BM_TrainEpochCpu, api_default, ->Iterations(1));
METTA_BENCH(BM_PolicyRolloutCuda, fast, ->Arg(1024)->Arg(16384));
METTA_BENCH(BM_PolicyRolloutCuda, api_default, ->Arg(1024)->Arg(16384));
METTA_BENCH(BM_PolicyTrainStepCuda, fast, );
METTA_BENCH(BM_PolicyTrainStepCuda, api_default, );
METTA_BENCH(BM_TrainEpochCuda, fast, ->Iterations(3));
METTA_BENCH(BM_TrainEpochCuda, api_default, ->Iterations(3));

int main(int argc, char** argv) {
  metta::process::prepare_process(argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
