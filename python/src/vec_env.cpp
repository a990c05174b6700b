#include "python/src/vec_env.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "train/curriculum_feedback.h"

namespace metta::python {
namespace {

kernels::Context context_of(const VecEnvOptions& o) {
  const kernels::Device dev = kernels::parse_device(o.device);  // names a bad value
  if (dev == kernels::Device::CPU) return kernels::Context::cpu(1);  // the first reset runs on one thread
  kernels::Context ctx = kernels::Context::cuda();  // throws with the reason when CUDA is not usable
  ctx.stream = o.stream;
  return ctx;
}

}  // namespace

VecEnv::VecEnv(const std::string& env_or_curriculum, std::int64_t num_envs, const VecEnvOptions& options)
    : source_(env_or_curriculum), options_(options) {
  METTA_CHECK(options.threads >= 0, "threads: got " << options.threads << ", expected None or a count >= 1");
  const api::Environment spec(env_or_curriculum, num_envs, 1, 0, options.device);  // validates the path and count
  curriculum_ = spec.curriculum();
  const kernels::Context ctx = context_of(options);
  engine::BatchedEnvOptions env_options;
  env_options.track_stat_updates = options.track_stat_updates;
  METTA_CHECK(options.env_index >= 0, "env_index: got " << options.env_index << ", expected >= 0");
  env_options.env_key_base = options.env_index;
  if (curriculum_) env_options.task_probabilities = curriculum_->env_task_probabilities();
  env_ = std::make_unique<engine::BatchedEnv>(spec.task_configs(), num_envs, options.seed, ctx, env_options);
  if (ctx.device == kernels::Device::CPU) env_->set_cpu_threads(options.threads);
  masks_ = kernels::DeviceBuffer<std::uint8_t>(ctx.device, static_cast<std::size_t>(env_->total_agents()));
  masks_.fill_bytes_with(ctx, 1);
  for (int m : env_->action_max_args()) max_arg_ = std::max(max_arg_, m);
}

VecEnv::~VecEnv() = default;

engine::BatchedEnv& VecEnv::env() {
  METTA_CHECK(!closed_, "this VecEnv is closed (close() was called): make a new one");
  return *env_;
}

const engine::BatchedEnv& VecEnv::env() const {
  METTA_CHECK(!closed_, "this VecEnv is closed (close() was called): make a new one");
  return *env_;
}

void VecEnv::reset(std::optional<std::uint64_t> seed) {
  if (seed) env().reset(*seed);
  else env().reset();
}

void VecEnv::step() { env().step(); }

void VecEnv::step(const std::int32_t* device_actions) { env().step(device_actions); }

void VecEnv::set_actions(const std::int32_t* host, std::int64_t row_stride, std::int64_t col_stride) {
  engine::BatchedEnv& e = env();
  const std::int64_t n = e.total_agents();
  const auto num_actions = static_cast<std::int32_t>(e.action_names().size());
  const bool on_host = e.context().device == kernels::Device::CPU;
  std::int32_t* out = nullptr;
  if (on_host) {
    out = e.actions();
  } else {
    staging_.resize(static_cast<std::size_t>(n * 2));
    out = staging_.data();
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t type = host[i * row_stride], arg = host[i * row_stride + col_stride];
    if (type < 0 || type >= num_actions || arg < 0 || arg > max_arg_) {
      std::ostringstream msg;
      msg << "actions[" << i << "] = (" << type << ", " << arg << "): expected an action type in [0, "
          << num_actions - 1 << "] and an argument in [0, " << max_arg_ << "]";
      throw std::out_of_range(msg.str());
    }
    out[2 * i] = type;
    out[2 * i + 1] = arg;
  }
  if (!on_host) e.set_actions_host(staging_);
}

EpisodeReport VecEnv::completed_episodes() {
  engine::BatchedEnv& e = env();
  EpisodeReport report;
  if (curriculum_) {
    const std::vector<engine::TaskEpisodes> done = e.completed_episodes_by_task(false);
    const std::vector<engine::EpisodeScore> scores = e.completed_episode_scores();
    report.curriculum = train::feed_curriculum(done, scores, *curriculum_, e);
  }
  report.episodes = e.completed_episodes(true);
  return report;
}

}  // namespace metta::python
