#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/cli/commands.h"
#include "engine/batched_env.h"
#include "engine/config_yaml.h"
#include "kernels/captured_work.h"
#include "kernels/cuda_api.h"

namespace metta::cli {
namespace {

struct SimOptions {
  std::string config;
  std::string device = "cpu";
  std::int64_t envs = 64;
  int threads = 0;
  double seconds = 5.0;
  std::int64_t steps = 0;
  std::uint64_t seed = 0;
  std::string actions = "random";
  bool dump_objects = false;
  int print_obs = -1;
  bool print_map = false;
  bool json = false;
  int graph_steps = 0;
};

// Scripted actions: one line per step, `type:arg` pairs for the agents of an env (the same for every
// env); '#' starts a comment. Steps past the end of the script repeat no-ops.
std::vector<std::vector<std::int32_t>> read_script(const std::string& path, int agents) {
  std::ifstream in(path);
  METTA_CHECK(in, "cannot open the action script '" << path << "'");
  std::vector<std::vector<std::int32_t>> steps;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    line = line.substr(0, line.find('#'));
    std::istringstream is(line);
    std::string tok;
    std::vector<std::int32_t> acts;
    while (is >> tok) {
      const auto colon = tok.find(':');
      METTA_CHECK(colon != std::string::npos, path << ":" << lineno << ": '" << tok << "' is not type:arg");
      try {
        acts.push_back(std::stoi(tok.substr(0, colon)));
        acts.push_back(std::stoi(tok.substr(colon + 1)));
      } catch (const std::exception&) {
        METTA_FAIL(path << ":" << lineno << ": '" << tok << "' is not type:arg with integers");
      }
    }
    if (acts.empty()) continue;
    METTA_CHECK(static_cast<int>(acts.size()) == agents * 2,
                path << ":" << lineno << ": " << acts.size() / 2 << " actions, expected one per agent (" << agents << ")");
    steps.push_back(acts);
  }
  return steps;
}

// Where a step's time goes: `rounds` more steps of random actions, each timed per phase (actions,
// resets, step, observations; kernels/phase_timer.h), after the throughput loop so as not to slow it.
nlohmann::json step_breakdown(engine::BatchedEnv& env, const kernels::Context& ctx, std::uint64_t seed,
                              std::int64_t first_counter, int rounds) {
  const engine::BatchedEnv::StepBreakdown b =
      env.step_breakdown(rounds, seed, static_cast<std::uint32_t>(first_counter));
  nlohmann::json j;
  double total = 0;  // seconds per step
  for (double s : b.seconds_per_step) total += s;
  for (int p = 0; p < 4; ++p) {
    j["ms_per_step"][b.kPhases[p]] = b.seconds_per_step[p] * 1e3;
    j["share"][b.kPhases[p]] = total > 0 ? b.seconds_per_step[p] / total : 0.0;
  }
  j["steps_timed"] = rounds;
  j["agent_steps_per_s_timed"] = total > 0 ? static_cast<double>(env.total_agents()) / total : 0.0;
  j["bytes_written_per_agent_step"] = env.bytes_written_per_agent_step();
  j["observation_write_GBps"] = b.observation_bytes_per_s / 1e9;
  if (ctx.device == kernels::Device::CUDA) {
    const double peak = kernels::cuda_api::device_memory_bandwidth();
    j["device_memory_GBps"] = peak / 1e9;
    j["observation_write_fraction_of_peak"] = peak > 0 ? b.observation_bytes_per_s / peak : 0.0;
  }
  j["note"] = "passes timed one by one (the CPU's step() fuses step and observations per env)";
  return j;
}

void print_map(const engine::BatchedEnv& env) {
  std::vector<std::string> rows(static_cast<std::size_t>(env.height()), std::string(static_cast<std::size_t>(env.width()), '.'));
  for (const auto& o : env.grid_objects(0)) {
    char ch = '?';
    if (o.agent_id >= 0) ch = static_cast<char>('A' + o.agent_id % 26);
    else if (o.type_name == "wall") ch = '#';
    else if (o.type_name == "block") ch = 'b';
    else if (!o.type_name.empty()) ch = o.type_name[0];
    rows[o.r][o.c] = ch;
  }
  for (auto& r : rows) std::printf("%s\n", r.c_str());
}

int run_sim(const SimOptions& o) {
  engine::EnvConfig cfg = o.config.empty() ? engine::default_env_config() : engine::load_env_config_file(o.config);
  const kernels::Device dev = kernels::parse_device(o.device);
  // a stream of its own on CUDA: graph capture (--graph-steps) cannot use the default stream
  const kernels::OwnedStream stream(dev == kernels::Device::CUDA ? kernels::Context::cuda() : kernels::Context::cpu(o.threads));
  const kernels::Context& ctx = stream.context();
  engine::BatchedEnv env(cfg, o.envs, o.seed, ctx);
  METTA_CHECK(o.graph_steps == 0 || o.actions == "random", "--graph-steps replays random actions; got --actions " << o.actions);
  std::fprintf(stderr, "sim: %lld envs x %d agents, map %dx%d, %d objects/env, device %s%s\n",
               static_cast<long long>(env.num_envs()), env.num_agents(), env.height(), env.width(),
               env.compiled().params.num_objects, o.device.c_str(),
               dev == kernels::Device::CUDA ? (" (" + kernels::cuda_api::device_description() + ")").c_str() : "");

  std::vector<std::vector<std::int32_t>> script;
  if (o.actions != "random" && o.actions != "noop") script = read_script(o.actions, env.num_agents());
  std::vector<std::int32_t> host_actions(static_cast<std::size_t>(env.total_agents() * 2), 0);
  if (o.actions == "noop") env.set_actions_host(host_actions);

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_report = start;
  std::int64_t steps = 0;
  const std::int64_t max_steps = o.steps > 0 ? o.steps : (script.empty() ? -1 : static_cast<std::int64_t>(script.size()));
  // --graph-steps N: N steps of random actions recorded once (one CUDA graph) and replayed; the action
  // counter lives on the device, so the draws are those of the plain loop
  std::unique_ptr<kernels::CapturedWork> graph;
  if (o.graph_steps > 0) {
    env.set_action_counter(0);
    graph = std::make_unique<kernels::CapturedWork>(ctx, [&env, &o] {
      for (int i = 0; i < o.graph_steps; ++i) {
        env.random_actions_counted(o.seed + 1);
        env.step();
      }
    });
  }
  std::int64_t next_sync = 64;
  auto progress = [&] {  // every 64 steps: wait for the device, then a line a second
    if (steps < next_sync) return;
    next_sync = steps + 64;
    kernels::synchronize(ctx);
    const auto now = clock::now();
    if (std::chrono::duration<double>(now - last_report).count() >= 1.0) {
      const double t = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "sim: %6.1fs  %lld env steps  %.3fM agent-steps/s\n", t, static_cast<long long>(steps),
                   steps * env.total_agents() / t / 1e6);
      last_report = now;
    }
  };
  while (true) {
    if (max_steps >= 0 && steps >= max_steps) break;
    if (max_steps < 0 && std::chrono::duration<double>(clock::now() - start).count() >= o.seconds) break;
    if (graph && (max_steps < 0 || steps + o.graph_steps <= max_steps)) {
      graph->replay();
      steps += o.graph_steps;
      progress();
      continue;
    }
    if (graph) env.random_actions_counted(o.seed + 1);  // the last steps of an exact count, one by one
    else if (o.actions == "random") {
      env.random_actions(o.seed + 1, static_cast<std::uint32_t>(steps));
    } else if (!script.empty()) {
      const auto& line = steps < static_cast<std::int64_t>(script.size()) ? script[steps] : std::vector<std::int32_t>(script[0].size(), 0);
      for (std::int64_t e = 0; e < env.num_envs(); ++e)
        std::copy(line.begin(), line.end(), host_actions.begin() + e * env.num_agents() * 2);
      env.set_actions_host(host_actions);
    }
    env.step();
    ++steps;
    progress();
  }
  kernels::synchronize(ctx);
  const double t = std::chrono::duration<double>(clock::now() - start).count();
  const double sps = t > 0 ? steps * env.total_agents() / t : 0.0;
  const engine::CompletedEpisodes done = env.completed_episodes(false);
  const engine::EpisodeStats cur = env.episode_stats(0);

  if (o.json) {
    nlohmann::json j;
    j["env_steps"] = steps;
    j["agent_steps"] = steps * env.total_agents();
    j["seconds"] = t;
    j["agent_steps_per_s"] = sps;
    j["episodes_completed"] = done.episodes;
    j["mean_episode_reward"] = done.mean_reward;
    j["completed_agent_stats"] = done.agent;
    j["env0_game_stats"] = cur.game;
    j["env0_step"] = env.current_step(0);
    j["graph_steps"] = o.graph_steps;

    // how OpenMP threads wait (api/process/process_setup.h): a user's choice or the short spin
    if (const char* p = std::getenv("OMP_WAIT_POLICY")) j["openmp_wait"] = std::string("OMP_WAIT_POLICY=") + p;
    else if (const char* c = std::getenv("GOMP_SPINCOUNT")) j["openmp_wait"] = std::string("GOMP_SPINCOUNT=") + c;
    else j["openmp_wait"] = "libgomp default";
    if (o.dump_objects) {
      nlohmann::json objs = nlohmann::json::array();
      for (const auto& g : env.grid_objects(0)) {
        nlohmann::json jo = {{"id", g.id}, {"type", g.type_id}, {"type_name", g.type_name},
                             {"r", g.r}, {"c", g.c}, {"layer", g.layer}};
        if (g.agent_id >= 0) jo["agent_id"] = g.agent_id;
        for (auto& [k, v] : g.features) jo[k] = v;
        objs.push_back(jo);
      }
      j["objects"] = objs;
    }
    if (o.actions == "random")  // last: it steps the envs further
      j["step_breakdown"] = step_breakdown(env, ctx, o.seed + 1, steps,
                                           static_cast<int>(std::clamp<std::int64_t>(steps, 1, 200)));
    std::cout << j.dump(1) << "\n";
  } else {
    std::printf("env_steps=%lld agent_steps=%lld seconds=%.3f\n", static_cast<long long>(steps),
                static_cast<long long>(steps * env.total_agents()), t);
    std::printf("agent_steps_per_s=%.0f\n", sps);
    std::printf("episodes_completed=%.0f mean_episode_reward=%.4f\n", done.episodes, done.mean_reward);
    for (const char* key : {"action.move.success", "action.move.failed", "ore_red.gained", "battery_red.gained",
                            "heart.gained"}) {
      auto it = done.agent.find(key);
      if (it != done.agent.end()) std::printf("  per agent per episode: %s = %.3f\n", key, it->second);
    }
    if (o.dump_objects) {
      for (const auto& g : env.grid_objects(0)) {
        std::printf("object id=%d type=%s r=%d c=%d layer=%d", g.id, g.type_name.c_str(), g.r, g.c, g.layer);
        if (g.agent_id >= 0) std::printf(" agent_id=%d", g.agent_id);
        for (auto& [k, v] : g.features) std::printf(" %s=%d", k.c_str(), v);
        std::printf("\n");
      }
    }
  }
  if (o.print_obs >= 0) {
    METTA_CHECK(o.print_obs < env.num_agents(), "--print-obs " << o.print_obs << ": env 0 has " << env.num_agents() << " agents");
    const auto obs = env.observations_host();
    const auto feats = env.feature_normalizations();
    const std::uint8_t* t0 = obs.data() + static_cast<std::size_t>(o.print_obs) * env.num_tokens() * 3;
    for (int k = 0; k < env.num_tokens() && t0[k * 3] != 0xFF; ++k) {
      const int f = t0[k * 3 + 1];
      std::printf("token %3d loc=(%d,%d) %-24s %d\n", k, t0[k * 3] >> 4, t0[k * 3] & 15,
                  f < static_cast<int>(feats.size()) ? feats[f].first.c_str() : "?", t0[k * 3 + 2]);
    }
  }
  if (o.print_map) print_map(env);
  return 0;
}

}  // namespace

std::function<int()> add_sim_command(CLI::App& app) {
  auto opts = std::make_shared<SimOptions>();
  CLI::App* sim = app.add_subcommand("sim", "Step environments with random, no-op or scripted actions");
  sim->add_option("--config", opts->config, "Env YAML (default: the embedded configs/env/mettagrid/simple.yaml)");
  sim->add_option("--device", opts->device, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  sim->add_option("--envs", opts->envs, "Number of environments")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  sim->add_option("--threads", opts->threads, "CPU threads (0 = all)")->capture_default_str()->check(CLI::Range(0, 4096));
  sim->add_option("--seconds", opts->seconds, "Run time when --steps is not given")
      ->capture_default_str()
      ->check(finite_range(1e-3, 1e7));
  sim->add_option("--steps", opts->steps, "Exact number of env steps")->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  sim->add_option("--seed", opts->seed, "Seed of maps, agent order and random actions")
      ->capture_default_str()
      ->check(unsigned_integer());
  sim->add_option("--actions", opts->actions, "random, noop, or a script file (one line per step of type:arg pairs)")
      ->capture_default_str();
  sim->add_option("--graph-steps", opts->graph_steps,
                  "Record this many steps of random actions once (a CUDA graph on CUDA) and replay them; 0 = off")
      ->capture_default_str()->check(CLI::Range(0, 1 << 16));
  sim->add_flag("--dump-objects", opts->dump_objects, "Print every object of env 0 (grid_objects)");
  sim->add_option("--print-obs", opts->print_obs, "Print the observation tokens of this agent of env 0")
      ->check(CLI::Range(0, 1 << 20));
  sim->add_flag("--print-map", opts->print_map, "Draw env 0 as ASCII");
  sim->add_flag("--json", opts->json, "Print the summary as JSON");
  return [opts] { return run_sim(*opts); };
}

}  // namespace metta::cli
