#include "engine/batched_env.h"

#include <cmath>
#include <cstring>

#include "engine/env_ref.h"
#include "engine/stats_keys.h"
#include "kernels/dispatch.h"

namespace metta::engine {

// Launchers compiled per backend (env_cpu.cpp, env_cuda.cu).
METTA_DECLARE_LAUNCHER(void, launch_reset, const kernels::Context&, const WorldView&)
METTA_DECLARE_LAUNCHER(void, launch_step, const kernels::Context&, const WorldView&)
METTA_DECLARE_LAUNCHER(void, launch_step_timed, const kernels::Context&, const WorldView&, kernels::PhaseTimer&)
METTA_DECLARE_LAUNCHER(void, launch_random_actions, const kernels::Context&, const WorldView&, std::int32_t*,
                       std::uint64_t, std::uint32_t)
METTA_DECLARE_LAUNCHER(void, launch_random_actions_counted, const kernels::Context&, const WorldView&, std::int32_t*,
                       std::uint64_t, std::uint32_t*)

struct BatchedEnv::Buffers {
#define METTA_DECLARE(type, name, count) kernels::DeviceBuffer<type> name;
  METTA_WORLD_STATE_BUFFERS(METTA_DECLARE)
  METTA_OTHER_BUFFERS(METTA_DECLARE)
  METTA_INPUT_BUFFERS(METTA_DECLARE)
  METTA_SCRATCH_BUFFERS(METTA_DECLARE)
#undef METTA_DECLARE
  kernels::DeviceBuffer<EnvParams> params;  // one per task
  kernels::DeviceBuffer<std::uint32_t> action_counter;  // random_actions_counted's counter
  kernels::DeviceBuffer<float> task_cdf;
  kernels::DeviceBuffer<std::uint8_t> plan_template, plan_symbols;
  kernels::DeviceBuffer<std::int32_t> plan_rooms;
  kernels::DeviceBuffer<std::uint64_t> obs_order_table;
  kernels::DeviceBuffer<float> sums;  // readout of the completed-episode sums
  kernels::DeviceBuffer<float> derived_sums;  // and of their derived entries (agents, then converters)
  kernels::DeviceBuffer<float> objects_sums;  // objects.<type> per type, then their derived entries
};

namespace {
// "" when `other` may share a batch with `first`, else the first difference in words. Tasks share the
// spaces the policy sees (agents, items, types, groups, actions, observation window) and may differ in
// their map (size, builder, object counts) and their rules' numbers.
std::string layout_difference(const CompiledEnv& first, const CompiledEnv& other) {
  const EnvParams &a = first.params, &b = other.params;
  if (a.num_agents != b.num_agents) return std::to_string(b.num_agents) + " agents, not " + std::to_string(a.num_agents);
  if (first.item_names != other.item_names) return "other inventory items";
  if (first.type_names != other.type_names) return "other object types";
  if (first.group_names != other.group_names) return "other agent groups";
  if (first.action_names != other.action_names) return "other actions";
  // the rest must match byte for byte once the numbers tasks may change are copied over
  EnvParams c = b;
  c.height = a.height;
  c.width = a.width;
  c.num_objects = a.num_objects;
  c.num_converters = a.num_converters;
  std::memcpy(c.group_size, a.group_size, sizeof a.group_size);
  std::memcpy(c.symbol_type, a.symbol_type, sizeof a.symbol_type);
  std::memcpy(c.type_count, a.type_count, sizeof a.type_count);
  std::memcpy(c.symbol_group, a.symbol_group, sizeof a.symbol_group);
  std::memcpy(c.symbol_kind, a.symbol_kind, sizeof a.symbol_kind);
  std::memcpy(c.obs_cell_offset, a.obs_cell_offset, sizeof a.obs_cell_offset);
  c.max_steps = a.max_steps;
  std::memcpy(c.action_consumed, a.action_consumed, sizeof a.action_consumed);
  std::memcpy(c.action_required, a.action_required, sizeof a.action_required);
  std::memcpy(c.action_defense, a.action_defense, sizeof a.action_defense);
  std::memcpy(c.action_has_defense, a.action_has_defense, sizeof a.action_has_defense);
  std::memcpy(c.recipe_input, a.recipe_input, sizeof a.recipe_input);
  std::memcpy(c.recipe_output, a.recipe_output, sizeof a.recipe_output);
  std::memcpy(c.max_output, a.max_output, sizeof a.max_output);
  std::memcpy(c.conversion_ticks, a.conversion_ticks, sizeof a.conversion_ticks);
  std::memcpy(c.cooldown, a.cooldown, sizeof a.cooldown);
  std::memcpy(c.initial_items, a.initial_items, sizeof a.initial_items);
  std::memcpy(c.type_color, a.type_color, sizeof a.type_color);
  std::memcpy(c.max_items, a.max_items, sizeof a.max_items);
  std::memcpy(c.reward, a.reward, sizeof a.reward);
  std::memcpy(c.reward_cap, a.reward_cap, sizeof a.reward_cap);
  std::memcpy(c.failure_penalty, a.failure_penalty, sizeof a.failure_penalty);
  std::memcpy(c.freeze_duration, a.freeze_duration, sizeof a.freeze_duration);
  std::memcpy(c.group_reward_pct, a.group_reward_pct, sizeof a.group_reward_pct);
  if (std::memcmp(&c, &a, sizeof c) != 0)
    return "another layout (observation window, object kinds, swappable types or action arguments)";
  return "";
}

std::vector<CompiledEnv> compile_tasks(const std::vector<EnvConfig>& tasks) {
  METTA_CHECK(!tasks.empty() && tasks.size() <= static_cast<std::size_t>(BatchedEnv::kMaxTasks),
              "BatchedEnv: " << tasks.size() << " tasks, expected 1 .. " << BatchedEnv::kMaxTasks);
  std::vector<CompiledEnv> out;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    out.push_back(compile_env(tasks[i]));
    const std::string diff = i == 0 ? "" : layout_difference(out[0], out.back());
    if (!diff.empty())
      config_fail("task " + std::to_string(i) + " (" + tasks[i].source + ")", diff,
                  "the layout of task 0 (" + tasks[0].source + "): a batch's tasks differ only in their numbers "
                  "(rewards, caps, recipes, cooldowns, freezes, penalties, max_steps)");
  }
  return out;
}

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}
}  // namespace

BatchedEnv::BatchedEnv(const EnvConfig& cfg, std::int64_t num_envs, std::uint64_t seed, const kernels::Context& ctx,
                       BatchedEnvOptions options)
    : BatchedEnv(std::vector<EnvConfig>{cfg}, num_envs, seed, ctx, options) {}

BatchedEnv::BatchedEnv(const std::vector<EnvConfig>& tasks, std::int64_t num_envs, std::uint64_t seed,
                       const kernels::Context& ctx, BatchedEnvOptions options)
    : num_envs_(num_envs), seed_(seed), ctx_(ctx), options_(options), b_(std::make_unique<Buffers>()) {
  const std::vector<CompiledEnv> compiled = compile_tasks(tasks);
  for (const CompiledEnv& c : compiled) task_params_.push_back(c.params);
  compiled_ = compiled[0];
  METTA_CHECK(num_envs >= 1 && num_envs <= (1 << 24), "num_envs: got " << num_envs << ", expected 1 .. 16777216");
  if (ctx.device == kernels::Device::CUDA) kernels::Context::cuda();  // throws with the reason when unusable
  METTA_CHECK(num_envs * compiled_.params.num_agents < (1ll << 31),
              "num_envs x num_agents = " << num_envs * compiled_.params.num_agents << ", expected < 2^31");
  const EnvParams& p = compiled_.params;
  const StatLayout& S = p.stats;
  // each env's slice: the largest task's; every task's map plan concatenated, its offsets in its params
  std::vector<std::uint8_t> plan_template, plan_symbols;
  std::vector<std::int32_t> plan_rooms;
  for (std::size_t t = 0; t < task_params_.size(); ++t) {
    EnvParams& tp = task_params_[t];
    cells_per_env_ = std::max<std::int64_t>(cells_per_env_, static_cast<std::int64_t>(tp.height) * tp.width);
    objects_per_env_ = std::max<std::int64_t>(objects_per_env_, tp.num_objects);
    converters_per_env_ = std::max<std::int64_t>(converters_per_env_, tp.num_converters);
    rows_per_env_ = std::max(rows_per_env_, tp.height);
    const CompiledEnv& c = compiled[t];
    rooms_per_env_ = std::max(rooms_per_env_, static_cast<std::int32_t>(c.plan_rooms.size() / 6));
    // The device shuffles a map's rooms in parallel, which is the order-free sequential shuffle only
    // while no two rooms share a cell.
    for (std::size_t i = 0; i + 6 <= c.plan_rooms.size(); i += 6)
      for (std::size_t j = i + 6; j + 6 <= c.plan_rooms.size(); j += 6) {
        const std::int32_t* a = &c.plan_rooms[i];
        const std::int32_t* b = &c.plan_rooms[j];
        const bool apart = a[0] + a[2] <= b[0] || b[0] + b[2] <= a[0] || a[1] + a[3] <= b[1] || b[1] + b[3] <= a[1];
        METTA_CHECK(apart, "task " << t << ": map rooms " << i / 6 << " and " << j / 6 << " overlap (rows " << a[0]
                                   << "+" << a[2] << ", cols " << a[1] << "+" << a[3] << " and rows " << b[0]
                                   << "+" << b[2] << ", cols " << b[1] << "+" << b[3] << ")");
      }
    tp.plan_template_offset = static_cast<std::int32_t>(plan_template.size());
    tp.plan_rooms_offset = static_cast<std::int32_t>(plan_rooms.size());
    tp.plan_num_rooms = static_cast<std::int32_t>(c.plan_rooms.size() / 6);
    tp.plan_symbols_offset = static_cast<std::int32_t>(plan_symbols.size());
    plan_template.insert(plan_template.end(), c.plan_template.begin(), c.plan_template.end());
    plan_rooms.insert(plan_rooms.end(), c.plan_rooms.begin(), c.plan_rooms.end());
    plan_symbols.insert(plan_symbols.end(), c.plan_symbols.begin(), c.plan_symbols.end());
  }
  compiled_.params = task_params_[0];
  const std::size_t E = static_cast<std::size_t>(num_envs), HW = static_cast<std::size_t>(cells_per_env_),
                    O = static_cast<std::size_t>(objects_per_env_), C = static_cast<std::size_t>(converters_per_env_),
                    N = p.num_agents, I = p.num_items, T = p.num_tokens, K = task_params_.size(), WC = p.num_obs_cells,
                    TS = options.track_stat_updates ? kStatTrack : 0, MR = static_cast<std::size_t>(rows_per_env_);
  const kernels::Device dev = ctx.device;
#define METTA_ALLOCATE(type, name, count) b_->name = kernels::DeviceBuffer<type>(dev, count);
  METTA_WORLD_STATE_BUFFERS(METTA_ALLOCATE)
  METTA_OTHER_BUFFERS(METTA_ALLOCATE)
  METTA_INPUT_BUFFERS(METTA_ALLOCATE)
  METTA_SCRATCH_BUFFERS(METTA_ALLOCATE)
#undef METTA_ALLOCATE
  b_->params = kernels::DeviceBuffer<EnvParams>(dev, K);
  b_->params.upload(ctx, task_params_.data(), K);
  b_->task_cdf = kernels::DeviceBuffer<float>(dev, K);
  set_task_probabilities(options.task_probabilities.empty() ? std::vector<double>(K, 1.0) : options.task_probabilities);
  b_->plan_template = kernels::DeviceBuffer<std::uint8_t>(dev, plan_template.size());
  b_->plan_template.upload(ctx, plan_template);
  b_->plan_symbols = kernels::DeviceBuffer<std::uint8_t>(dev, std::max<std::size_t>(plan_symbols.size(), 1));
  if (!plan_symbols.empty()) b_->plan_symbols.upload(ctx, plan_symbols);
  b_->plan_rooms = kernels::DeviceBuffer<std::int32_t>(dev, std::max<std::size_t>(plan_rooms.size(), 1));
  if (!plan_rooms.empty()) b_->plan_rooms.upload(ctx, plan_rooms);
  b_->obs_order_table = kernels::DeviceBuffer<std::uint64_t>(dev, compiled_.obs_order_table.size());
  b_->obs_order_table.upload(ctx, compiled_.obs_order_table);
  sum_agent_ = kernels::SegmentedSum(ctx, S.agent_count, num_envs);
  sum_conv_ = kernels::SegmentedSum(ctx, S.converter_count, num_envs);
  sum_obs_ = kernels::SegmentedSum(ctx, StatLayout::kObsCount, num_envs);
  sum_episode_ = kernels::SegmentedSum(ctx, 2, num_envs);
  sum_length_ = kernels::SegmentedSum(ctx, 1, num_envs);
  sum_task_ = kernels::SegmentedSum(ctx, static_cast<std::int64_t>(2 * K), num_envs);
  b_->sums = kernels::DeviceBuffer<float>(dev, static_cast<std::size_t>(S.agent_count + S.converter_count +
                                                                        StatLayout::kObsCount + 3) + 2 * K);
  sum_agent_derived_ = kernels::SegmentedSum(ctx, static_cast<std::int64_t>(kStatDerived) * S.agent_count, num_envs);
  sum_conv_derived_ = kernels::SegmentedSum(ctx, static_cast<std::int64_t>(kStatDerived) * S.converter_count, num_envs);
  sum_game_derived_ = kernels::SegmentedSum(ctx, static_cast<std::int64_t>(kStatDerived) * StatLayout::kObsCount, num_envs);
  sum_objects_ = kernels::SegmentedSum(ctx, p.num_types, num_envs);
  if (TS) sum_objects_derived_ = kernels::SegmentedSum(ctx, static_cast<std::int64_t>(kStatDerived) * p.num_types, num_envs);
  b_->objects_sums = kernels::DeviceBuffer<float>(dev, static_cast<std::size_t>(1 + kStatDerived) * p.num_types);
  b_->derived_sums = kernels::DeviceBuffer<float>(
      dev, static_cast<std::size_t>(kStatDerived) * (S.agent_count + S.converter_count + StatLayout::kObsCount));
  zero_state();
  reset();
}

void BatchedEnv::zero_state() {
  // Counters start at 0, and hashes never see uninitialized bytes.
#define METTA_ZERO(type, name, count) b_->name.fill_bytes_with(ctx_, 0);
  METTA_WORLD_STATE_BUFFERS(METTA_ZERO)
  METTA_OTHER_BUFFERS(METTA_ZERO)
  METTA_INPUT_BUFFERS(METTA_ZERO)
#undef METTA_ZERO
}

BatchedEnv::~BatchedEnv() = default;

WorldView BatchedEnv::view() const {
  WorldView w{};
  w.p = b_->params.data();
  w.num_tasks = static_cast<std::int32_t>(task_params_.size());
  w.task_cdf = b_->task_cdf.data();
  w.num_envs = num_envs_;
  w.agents_per_env = compiled_.params.num_agents;
  w.obs_cells = compiled_.params.num_obs_cells;
  w.num_tokens = compiled_.params.num_tokens;
  w.seed = seed_;
  w.randomize_first_episode = options_.randomize_first_episode ? 1 : 0;
  w.env_key_base = options_.env_key_base;
  w.cell_stride = cells_per_env_;
  w.obj_stride = objects_per_env_;
  w.conv_stride = converters_per_env_;
  w.map_rows_stride = rows_per_env_;
  w.map_rooms_stride = rooms_per_env_;
  w.plan_template = b_->plan_template.data();
  w.plan_rooms = b_->plan_rooms.data();
  w.plan_symbols = b_->plan_symbols.data();
  w.obs_order_table = b_->obs_order_table.data();
#define METTA_VIEW(type, name, count) w.name = const_cast<type*>(b_->name.data());
  METTA_WORLD_STATE_BUFFERS(METTA_VIEW)
  METTA_OTHER_BUFFERS(METTA_VIEW)
  METTA_INPUT_BUFFERS(METTA_VIEW)
  METTA_SCRATCH_BUFFERS(METTA_VIEW)
#undef METTA_VIEW
  return w;
}

void BatchedEnv::reset() {
  b_->env_needs_reset.fill_bytes_with(ctx_, 0);
  const WorldView w = view();
  METTA_DISPATCH(ctx_, launch_reset, ctx_, w);
}

void BatchedEnv::reset(std::uint64_t seed) {
  seed_ = seed;
  zero_state();
  reset();
}

void BatchedEnv::set_cpu_threads(int threads) {
  METTA_CHECK(ctx_.device == kernels::Device::CPU, "set_cpu_threads: the batch runs on " << kernels::device_name(ctx_.device)
                                                       << ", not the CPU");
  METTA_CHECK(threads >= 0, "threads: got " << threads << ", expected 0 (OpenMP's default) or a count >= 1");
  ctx_.num_threads = threads;
}

void BatchedEnv::launch_step(const std::int32_t* actions) {
  WorldView w = view();
  w.actions = actions;
  METTA_DISPATCH(ctx_, launch_step, ctx_, w);
}

void BatchedEnv::step() { launch_step(b_->actions.data()); }

void BatchedEnv::step_timed(kernels::PhaseTimer& timer) {
  WorldView w = view();
  w.actions = b_->actions.data();
  METTA_DISPATCH(ctx_, launch_step_timed, ctx_, w, timer);
}

BatchedEnv::StepBreakdown BatchedEnv::step_breakdown(int rounds, std::uint64_t seed, std::uint32_t first_counter) {
  METTA_CHECK(rounds >= 1, "step_breakdown: rounds " << rounds << ", expected >= 1");
  kernels::PhaseTimer timer(ctx_, {std::begin(StepBreakdown::kPhases), std::end(StepBreakdown::kPhases)});
  for (int r = 0; r < rounds; ++r) {
    timer.begin_round();
    random_actions(seed, first_counter + static_cast<std::uint32_t>(r));
    timer.end_phase(0);
    step_timed(timer);
    timer.end_round();
  }
  StepBreakdown out;
  for (int p = 0; p < 4; ++p) out.seconds_per_step[p] = timer.seconds(p) / rounds;
  const double obs_s = out.seconds_per_step[3];
  out.observation_bytes_per_s = obs_s > 0 ? static_cast<double>(total_agents()) * num_tokens() * 3 / obs_s : 0.0;
  return out;
}

double BatchedEnv::bytes_written_per_agent_step() const {
  // the policy-facing outputs every step rewrites: the observation row, reward, terminal, truncation,
  // action success
  return static_cast<double>(compiled_.params.num_tokens) * 3 + sizeof(float) + 3;
}
void BatchedEnv::step(const std::int32_t* device_actions) { launch_step(device_actions); }

void BatchedEnv::random_actions(std::uint64_t seed, std::uint32_t counter) {
  const WorldView w = view();
  METTA_DISPATCH(ctx_, launch_random_actions, ctx_, w, b_->actions.data(), seed, counter);
}

void BatchedEnv::set_action_counter(std::uint32_t counter) {
  if (b_->action_counter.size() == 0) b_->action_counter = kernels::DeviceBuffer<std::uint32_t>(ctx_.device, 1);
  kernels::upload_bytes(ctx_, b_->action_counter.data(), &counter, sizeof counter);
}

void BatchedEnv::random_actions_counted(std::uint64_t seed) {
  METTA_CHECK(b_->action_counter.size() == 1, "random_actions_counted: call set_action_counter first");
  const WorldView w = view();
  METTA_DISPATCH(ctx_, launch_random_actions_counted, ctx_, w, b_->actions.data(), seed, b_->action_counter.data());
}

std::int32_t* BatchedEnv::actions() { return b_->actions.data(); }
const std::uint8_t* BatchedEnv::observations() const { return b_->obs.data(); }
const float* BatchedEnv::rewards() const { return b_->rewards.data(); }
const std::uint8_t* BatchedEnv::terminals() const { return b_->terminals.data(); }
const std::uint8_t* BatchedEnv::truncations() const { return b_->truncations.data(); }
const std::uint8_t* BatchedEnv::action_success() const { return b_->action_success.data(); }

std::vector<std::uint8_t> BatchedEnv::observations_host() const { return b_->obs.to_host(ctx_); }
std::vector<float> BatchedEnv::rewards_host() const { return b_->rewards.to_host(ctx_); }
std::vector<std::uint8_t> BatchedEnv::terminals_host() const { return b_->terminals.to_host(ctx_); }
std::vector<std::uint8_t> BatchedEnv::truncations_host() const { return b_->truncations.to_host(ctx_); }
std::vector<std::uint8_t> BatchedEnv::action_success_host() const { return b_->action_success.to_host(ctx_); }

void BatchedEnv::set_actions_host(const std::vector<std::int32_t>& actions) {
  METTA_CHECK(static_cast<std::int64_t>(actions.size()) == total_agents() * 2,
              "actions: got " << actions.size() << " values, expected " << total_agents() * 2 << " ([agents, 2])");
  b_->actions.upload(ctx_, actions);
}

std::vector<int> BatchedEnv::action_max_args() const {
  const EnvParams& p = compiled_.params;
  return std::vector<int>(p.action_max_arg, p.action_max_arg + p.num_actions);
}

std::vector<std::pair<std::string, float>> BatchedEnv::feature_normalizations() const {
  return feature_spec(compiled_.item_names);
}

namespace {
template <class T>
T read_one(const kernels::Context& ctx, const kernels::DeviceBuffer<T>& buf, std::int64_t index) {
  T v{};
  kernels::download_bytes(ctx, &v, buf.data() + index, sizeof(T));
  return v;
}
template <class T>
std::vector<T> read_range(const kernels::Context& ctx, const kernels::DeviceBuffer<T>& buf, std::int64_t begin,
                          std::int64_t count) {
  std::vector<T> v(static_cast<std::size_t>(count));
  kernels::download_bytes(ctx, v.data(), buf.data() + begin, count * sizeof(T));
  return v;
}
void check_env(std::int64_t env, std::int64_t n) {
  METTA_CHECK(env >= 0 && env < n, "env index " << env << " out of range [0, " << n << ")");
}
}  // namespace

std::int32_t BatchedEnv::current_step(std::int64_t env) const {
  check_env(env, num_envs_);
  return read_one(ctx_, b_->env_step, env);
}

std::int32_t BatchedEnv::episode_max_steps(std::int64_t env) const {
  check_env(env, num_envs_);
  return read_one(ctx_, b_->env_max_steps, env);
}

int GridObject::feature(const std::string& name) const {
  for (auto& [n, v] : features)
    if (n == name) return v;
  return 0;
}

std::vector<GridObject> BatchedEnv::grid_objects(std::int64_t env) const {
  check_env(env, num_envs_);
  const EnvParams& p = params_of(env);
  const std::int64_t O = p.num_objects, N = p.num_agents, C = p.num_converters, I = p.num_items;
  auto type = read_range(ctx_, b_->obj_type, env * objects_per_env_, O);
  auto rr = read_range(ctx_, b_->obj_r, env * objects_per_env_, O);
  auto cc = read_range(ctx_, b_->obj_c, env * objects_per_env_, O);
  auto slot = read_range(ctx_, b_->obj_slot, env * objects_per_env_, O);
  auto group = read_range(ctx_, b_->agent_group, env * N, N);
  auto orient = read_range(ctx_, b_->agent_orient, env * N, N);
  auto frozen = read_range(ctx_, b_->agent_frozen, env * N, N);
  auto color = read_range(ctx_, b_->agent_color, env * N, N);
  auto ainv = read_range(ctx_, b_->agent_inv, env * N * I, N * I);
  auto cinv = read_range(ctx_, b_->conv_inv, env * converters_per_env_ * I, C * I);
  auto cflags = read_range(ctx_, b_->conv_flags, env * converters_per_env_, C);
  std::vector<GridObject> out;
  out.reserve(static_cast<std::size_t>(O));
  for (std::int64_t k = 0; k < O; ++k) {
    GridObject g;
    g.id = static_cast<int>(k + 1);
    g.type_id = type[k];
    g.type_name = compiled_.type_names[g.type_id];
    g.r = rr[k];
    g.c = cc[k];
    g.features.push_back({"type_id", g.type_id});
    const auto kind = static_cast<ObjectKind>(p.type_kind[g.type_id]);
    const std::uint8_t* inv = nullptr;
    if (kind == ObjectKind::kAgent) {
      const int a = slot[k];
      g.layer = kAgentLayer;
      g.agent_id = a;
      g.features.push_back({"agent:group", group[a]});
      g.features.push_back({"agent:frozen", frozen[a] != 0 ? 1 : 0});
      g.features.push_back({"agent:orientation", orient[a]});
      g.features.push_back({"agent:color", color[a]});
      inv = &ainv[a * I];
    } else if (kind == ObjectKind::kConverter) {
      const int s = slot[k];
      g.layer = kObjectLayer;
      g.features.push_back({"agent:color", p.type_color[g.type_id]});
      g.features.push_back({"converting", cflags[s] != 0 ? 1 : 0});
      inv = &cinv[s * I];
    } else {
      g.layer = kObjectLayer;
      if (p.type_swappable[g.type_id]) g.features.push_back({"swappable", 1});
    }
    if (inv)
      for (std::int64_t i = 0; i < I; ++i)
        if (inv[i]) g.features.push_back({"inv:" + compiled_.item_names[i], inv[i]});
    out.push_back(std::move(g));
  }
  return out;
}

EpisodeStats BatchedEnv::episode_stats(std::int64_t env) const {
  check_env(env, num_envs_);
  const EnvParams& p = params_of(env);
  const StatLayout& S = p.stats;
  const std::int64_t N = p.num_agents, C = p.num_converters;
  EpisodeStats out;
  const auto anames = agent_stat_names(compiled_);
  const auto cnames = converter_stat_names(compiled_);
  auto ast = read_range(ctx_, b_->agent_stats, env * N * S.agent_count, N * S.agent_count);
  auto cst = read_range(ctx_, b_->conv_stats, env * converters_per_env_ * S.converter_count, C * S.converter_count);
  const bool tracked = options_.track_stat_updates;
  const std::int64_t TA = S.agent_count * kStatTrack, TC = S.converter_count * kStatTrack;
  auto atrack = tracked ? read_range(ctx_, b_->agent_stat_track, env * N * TA, N * TA) : std::vector<float>{};
  auto ctrack = tracked ? read_range(ctx_, b_->conv_stat_track, env * converters_per_env_ * TC, C * TC) : std::vector<float>{};
  auto ost = read_range(ctx_, b_->obs_stats, env * N * StatLayout::kObsCount, N * StatLayout::kObsCount);
  out.episode_rewards = read_range(ctx_, b_->agent_episode_reward, env * N, N);
  // a key's derived entries (game-rules.md §10) for each agent or converter that updated it, at this step
  const float now = static_cast<float>(current_step(env));
  auto add_derived_entries = [&](std::map<std::string, float>& m, const std::string& name, const float* t, float value) {
    if (name.empty() || t[0] == 0.0f) return;
    float d[kStatDerived] = {};
    add_derived(t, value, now, d, 1);
    for (int j = 0; j < kStatDerived; ++j) m[name + kDerivedStatSuffixes[j]] = d[j];
  };
  for (std::int64_t a = 0; a < N; ++a) {
    std::map<std::string, float> m;
    for (int k = 0; k < S.agent_count; ++k) {
      const float v = ast[a * S.agent_count + k];
      if (v != 0.0f && !anames[k].empty()) m[anames[k]] = v;
      if (tracked) add_derived_entries(m, anames[k], &atrack[(a * S.agent_count + k) * kStatTrack], v);
    }
    out.agent.push_back(std::move(m));
  }
  const auto objs = grid_objects(env);
  auto slot = read_range(ctx_, b_->conv_obj, env * converters_per_env_, C);
  for (std::int64_t s = 0; s < C; ++s) {
    std::map<std::string, float> m;
    for (int k = 0; k < S.converter_count; ++k) {
      const float v = cst[s * S.converter_count + k];
      if (v != 0.0f && !cnames[k].empty()) m[cnames[k]] = v;
      if (tracked) add_derived_entries(m, cnames[k], &ctrack[(s * S.converter_count + k) * kStatTrack], v);
    }
    const GridObject& o = objs[slot[s] - 1];
    m["type_id"] = static_cast<float>(o.type_id);
    m["location.r"] = static_cast<float>(o.r);
    m["location.c"] = static_cast<float>(o.c);
    out.converter.push_back(std::move(m));
  }
  const auto onames = obs_stat_names();
  for (std::int64_t a = 0; a < N; ++a)
    for (int k = 0; k < StatLayout::kObsCount; ++k) out.game[onames[k]] += ost[a * StatLayout::kObsCount + k];
  float t[kStatTrack];
  if (tracked && N > 0) {  // the token keys' derived entries, from the first agent's counts (obs_stat_track)
    const auto first = read_range(ctx_, b_->obs_stat_first, env * StatLayout::kObsCount, StatLayout::kObsCount);
    for (int k = 0; k < StatLayout::kObsCount; ++k) {
      obs_stat_track(ost.data(), first.data(), k, static_cast<int>(N), p.num_tokens, now, out.game[onames[k]], t);
      add_derived_entries(out.game, onames[k], t, out.game[onames[k]]);
    }
  }
  for (int type = 1; type < p.num_types; ++type) {  // walls and converters only, as the reference counts them
    const float count = static_cast<float>(p.type_count[type]);
    if (count == 0.0f) continue;
    const std::string key = "objects." + compiled_.type_names[static_cast<std::size_t>(type)];
    out.game[key] = count;
    if (!tracked) continue;
    object_count_track(count, t);
    add_derived_entries(out.game, key, t, count);
  }
  return out;
}

CompletedEpisodes BatchedEnv::completed_episodes(bool clear) {
  const StatLayout& S = compiled_.params.stats;
  float* sums = b_->sums.data();
  sum_agent_.run(ctx_, b_->done_agent_stats.data(), sums);
  sum_conv_.run(ctx_, b_->done_conv_stats.data(), sums + S.agent_count);
  sum_obs_.run(ctx_, b_->done_obs_stats.data(), sums + S.agent_count + S.converter_count);
  sum_episode_.run(ctx_, b_->done_episode.data(), sums + S.agent_count + S.converter_count + StatLayout::kObsCount);
  sum_length_.run(ctx_, b_->done_length.data(), sums + S.agent_count + S.converter_count + StatLayout::kObsCount + 2);
  const std::vector<float> h = b_->sums.to_host(ctx_);
  CompletedEpisodes out;
  const std::size_t ep = static_cast<std::size_t>(S.agent_count + S.converter_count + StatLayout::kObsCount);
  out.episodes = h[ep];
  if (out.episodes > 0) {
    out.mean_reward = h[ep + 1] / out.episodes;
    out.mean_length = h[ep + 2] / out.episodes;
    const auto anames = agent_stat_names(compiled_);
    const auto cnames = converter_stat_names(compiled_);
    const auto onames = obs_stat_names();
    const double per_agent = out.episodes * compiled_.params.num_agents;
    for (int k = 0; k < S.agent_count; ++k)
      if (h[k] != 0.0f && !anames[k].empty()) out.agent[anames[k]] = h[k] / per_agent;
    for (int k = 0; k < S.converter_count; ++k)
      if (h[S.agent_count + k] != 0.0f && !cnames[k].empty()) out.converter[cnames[k]] = h[S.agent_count + k] / out.episodes;
    for (int k = 0; k < StatLayout::kObsCount; ++k)
      out.game[onames[k]] = h[S.agent_count + S.converter_count + k] / out.episodes;
    // the derived entries of every key some agent (converter) updated (game-rules.md §10), averaged the
    // same way as the key itself
    sum_agent_derived_.run(ctx_, b_->done_agent_derived.data(), b_->derived_sums.data());
    sum_conv_derived_.run(ctx_, b_->done_conv_derived.data(), b_->derived_sums.data() + kStatDerived * S.agent_count);
    sum_game_derived_.run(ctx_, b_->done_game_derived.data(),
                          b_->derived_sums.data() + kStatDerived * (S.agent_count + S.converter_count));
    const std::vector<float> d = b_->derived_sums.to_host(ctx_);
    auto add = [&](std::map<std::string, double>& to, const std::vector<std::string>& names, int keys,
                   const std::vector<float>& sums, std::size_t at, double per) {
      for (int k = 0; k < keys; ++k)
        if (sums[at + k] != 0.0f && !names[k].empty())  // updates: 0 when nobody updated the key
          for (int j = 0; j < kStatDerived; ++j)
            to[names[k] + kDerivedStatSuffixes[j]] = sums[at + static_cast<std::size_t>(j) * keys + k] / per;
    };
    add(out.agent, anames, S.agent_count, d, 0, per_agent);
    add(out.converter, cnames, S.converter_count, d, static_cast<std::size_t>(kStatDerived) * S.agent_count, out.episodes);
    add(out.game, onames, StatLayout::kObsCount, d,
        static_cast<std::size_t>(kStatDerived) * (S.agent_count + S.converter_count), out.episodes);
    // objects.<type name> of walls and converters, with their derived entries when tracked
    const int types = compiled_.params.num_types;
    sum_objects_.run(ctx_, b_->done_objects.data(), b_->objects_sums.data());
    if (options_.track_stat_updates)
      sum_objects_derived_.run(ctx_, b_->done_objects_derived.data(), b_->objects_sums.data() + types);
    const std::vector<float> o = b_->objects_sums.to_host(ctx_);
    std::vector<std::string> object_keys(static_cast<std::size_t>(types));
    for (int t = 1; t < types; ++t) {
      object_keys[t] = "objects." + compiled_.type_names[static_cast<std::size_t>(t)];
      if (o[t] != 0.0f) out.game[object_keys[t]] = o[t] / out.episodes;
    }
    if (options_.track_stat_updates) add(out.game, object_keys, types, o, static_cast<std::size_t>(types), out.episodes);
  }
  if (clear) {
    b_->done_agent_derived.fill_bytes_with(ctx_, 0);
    b_->done_conv_derived.fill_bytes_with(ctx_, 0);
    b_->done_game_derived.fill_bytes_with(ctx_, 0);
    b_->done_objects.fill_bytes_with(ctx_, 0);
    b_->done_objects_derived.fill_bytes_with(ctx_, 0);
    b_->done_agent_stats.fill_bytes_with(ctx_, 0);
    b_->done_conv_stats.fill_bytes_with(ctx_, 0);
    b_->done_obs_stats.fill_bytes_with(ctx_, 0);
    b_->done_episode.fill_bytes_with(ctx_, 0);
    b_->done_length.fill_bytes_with(ctx_, 0);
    b_->done_task.fill_bytes_with(ctx_, 0);
    b_->done_score_count.fill_bytes_with(ctx_, 0);
  }
  return out;
}

void BatchedEnv::set_task_probabilities(const std::vector<double>& probabilities) {
  METTA_CHECK(probabilities.size() == task_params_.size(),
              "set_task_probabilities: " << probabilities.size() << " values for " << task_params_.size() << " tasks");
  double total = 0;
  for (double q : probabilities) {
    METTA_CHECK(q >= 0 && std::isfinite(q), "set_task_probabilities: got " << q << ", expected a finite value >= 0");
    total += q;
  }
  METTA_CHECK(total > 0, "set_task_probabilities: every probability is 0");
  std::vector<float> cdf(probabilities.size());
  double acc = 0;
  for (std::size_t t = 0; t < cdf.size(); ++t) {
    acc += probabilities[t];
    cdf[t] = static_cast<float>(acc / total);
  }
  cdf.back() = 1.0f;  // the draw's uniform is below 1: the last task with weight catches rounding
  b_->task_cdf.upload(ctx_, cdf);
}

std::vector<TaskEpisodes> BatchedEnv::completed_episodes_by_task(bool clear) {
  const std::size_t K = task_params_.size();
  const std::size_t at = b_->sums.size() - 2 * K;
  sum_task_.run(ctx_, b_->done_task.data(), b_->sums.data() + at);
  const std::vector<float> h = b_->sums.to_host(ctx_);
  std::vector<TaskEpisodes> out(K);
  for (std::size_t t = 0; t < K; ++t) out[t] = {h[at + t], h[at + K + t]};
  if (clear) b_->done_task.fill_bytes_with(ctx_, 0);
  return out;
}

std::vector<EpisodeScore> BatchedEnv::completed_episode_scores() const {
  const std::vector<std::uint32_t> count = b_->done_score_count.to_host(ctx_);
  const std::vector<float> score = b_->done_score.to_host(ctx_);
  const std::vector<std::uint16_t> task = b_->done_score_task.to_host(ctx_);
  std::vector<EpisodeScore> out;
  for (std::size_t e = 0; e < count.size(); ++e)
    for (std::uint32_t k = 0; k < count[e] && k < static_cast<std::uint32_t>(kKeptScores); ++k)
      out.push_back({task[e * kKeptScores + k], score[e * kKeptScores + k]});
  return out;
}

std::int32_t BatchedEnv::task_of(std::int64_t env) const {
  check_env(env, num_envs_);
  std::uint16_t t = 0;
  kernels::download_bytes(ctx_, &t, b_->env_task.data() + env, sizeof t);
  return t;
}

const EnvParams& BatchedEnv::params_of(std::int64_t env) const {
  return task_params_.size() == 1 ? task_params_[0] : task_params_[static_cast<std::size_t>(task_of(env))];
}

std::uint64_t BatchedEnv::state_hash(std::int64_t env) const {
  std::uint64_t h = 1469598103934665603ull;
  const EnvParams& p = compiled_.params;
  const StatLayout& S = p.stats;
  const std::size_t E = static_cast<std::size_t>(num_envs_), HW = static_cast<std::size_t>(cells_per_env_),
                    O = static_cast<std::size_t>(objects_per_env_), C = static_cast<std::size_t>(converters_per_env_),
                    N = p.num_agents, I = p.num_items, T = p.num_tokens;
  auto hash_buf = [&](const void* dev_ptr, std::size_t elem, std::size_t total, bool env_major) {
    std::size_t begin = 0, count = total;
    if (env >= 0) {
      if (!env_major) return;
      count = total / E;
      begin = static_cast<std::size_t>(env) * count;
    }
    std::vector<std::uint8_t> host(count * elem);
    kernels::download_bytes(ctx_, host.data(), static_cast<const std::uint8_t*>(dev_ptr) + begin * elem, count * elem);
    h = fnv1a(h, host.data(), host.size());
  };
#define METTA_HASH(type, name, count) hash_buf(b_->name.data(), sizeof(type), count, true);
  METTA_WORLD_STATE_BUFFERS(METTA_HASH)
#undef METTA_HASH
  hash_buf(b_->agent_stats.data(), sizeof(float), E * N * S.agent_count, true);
  hash_buf(b_->conv_stats.data(), sizeof(float), E * C * S.converter_count, true);
  hash_buf(b_->obs_stats.data(), sizeof(float), E * N * StatLayout::kObsCount, true);
  hash_buf(b_->obs.data(), 1, E * N * T * 3, true);
  hash_buf(b_->rewards.data(), sizeof(float), E * N, true);
  hash_buf(b_->truncations.data(), 1, E * N, true);
  hash_buf(b_->action_success.data(), 1, E * N, true);
  hash_buf(b_->done_agent_stats.data(), sizeof(float), S.agent_count * E, false);
  hash_buf(b_->done_episode.data(), sizeof(float), 2 * E, false);
  hash_buf(b_->done_length.data(), sizeof(float), E, false);
  return h;
}

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> BatchedEnv::save_state() const {
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
  auto add = [&](const char* name, const void* p, std::size_t bytes) {
    std::vector<std::uint8_t> v(bytes);
    kernels::download_bytes(ctx_, v.data(), p, bytes);
    out.push_back({name, std::move(v)});
  };
#define METTA_SAVE(type, name, count) add(#name, b_->name.data(), b_->name.bytes());
  METTA_WORLD_STATE_BUFFERS(METTA_SAVE)
  METTA_OTHER_BUFFERS(METTA_SAVE)
  METTA_INPUT_BUFFERS(METTA_SAVE)
#undef METTA_SAVE
  return out;
}

void BatchedEnv::load_state(const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& state) {
  auto put = [&](const char* name, void* p, std::size_t bytes) {
    // buffers added later (tasks) read as zeros from older files: one task, nothing completed
    const bool added_later = std::strcmp(name, "env_task") == 0 || std::strcmp(name, "done_task") == 0 ||
                             std::strncmp(name, "done_score", 10) == 0 || std::strstr(name, "_derived") != nullptr ||
                             std::strstr(name, "_stat_track") != nullptr || std::strcmp(name, "obs_stat_first") == 0 ||
                             std::strcmp(name, "done_objects") == 0 || std::strcmp(name, "done_length") == 0;
    bool present = false;
    for (auto& [n, v] : state) present = present || n == name;
    if (!present && added_later) {
      kernels::upload_bytes(ctx_, p, std::vector<std::uint8_t>(bytes, 0).data(), bytes);
      return;
    }
    for (auto& [n, v] : state)
      if (n == name) {
        METTA_CHECK(v.size() == bytes, "env state '" << name << "': " << v.size() << " bytes, expected " << bytes
                                                     << " (another config or num_envs?)");
        kernels::upload_bytes(ctx_, p, v.data(), bytes);
        return;
      }
    METTA_FAIL("env state has no '" << name << "'");
  };
#define METTA_LOAD(type, name, count) put(#name, b_->name.data(), b_->name.bytes());
  METTA_WORLD_STATE_BUFFERS(METTA_LOAD)
  METTA_OTHER_BUFFERS(METTA_LOAD)
  METTA_INPUT_BUFFERS(METTA_LOAD)
#undef METTA_LOAD
}

std::size_t BatchedEnv::world_bytes_per_env() const {
  std::size_t total = 0;
#define METTA_BYTES(type, name, count) total += b_->name.bytes();
  METTA_WORLD_STATE_BUFFERS(METTA_BYTES)
#undef METTA_BYTES
  return total / static_cast<std::size_t>(num_envs_);
}

void BatchedEnv::debug_set_agent_inventory(std::int64_t env, int agent, int item, int count) {
  check_env(env, num_envs_);
  const EnvParams& p = compiled_.params;
  METTA_CHECK(agent >= 0 && agent < p.num_agents, "agent " << agent << " out of range [0, " << p.num_agents << ")");
  METTA_CHECK(item >= 0 && item < p.num_items, "item " << item << " out of range [0, " << p.num_items << ")");
  METTA_CHECK(count >= 0 && count <= 255, "count " << count << " out of range [0, 255]");
  const std::uint8_t v = static_cast<std::uint8_t>(count);
  kernels::upload_bytes(ctx_, b_->agent_inv.data() + (env * p.num_agents + agent) * p.num_items + item, &v, 1);
}

void BatchedEnv::debug_set_converter_inventory(std::int64_t env, int converter, int item, int count) {
  check_env(env, num_envs_);
  const EnvParams& p = params_of(env);
  METTA_CHECK(converter >= 0 && converter < p.num_converters,
              "converter " << converter << " out of range [0, " << p.num_converters << ")");
  METTA_CHECK(item >= 0 && item < p.num_items, "item " << item << " out of range [0, " << p.num_items << ")");
  METTA_CHECK(count >= 0 && count <= 255, "count " << count << " out of range [0, 255]");
  const std::uint8_t v = static_cast<std::uint8_t>(count);
  kernels::upload_bytes(ctx_, b_->conv_inv.data() + (env * converters_per_env_ + converter) * p.num_items + item, &v, 1);
}

}  // namespace metta::engine
