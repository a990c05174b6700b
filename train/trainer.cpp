#include "train/trainer.h"

#include "train/checkpoint/checkpoint_dir.h"
#include "train/checkpoint/policy_env_match.h"
#include "train/checkpoint/policy_store.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

namespace metta::train {

using kernels::DeviceBuffer;

struct Trainer::Buffers {
  // experience [S, H, ...]
  DeviceBuffer<std::uint8_t> obs, terminals, truncations;
  DeviceBuffer<std::int32_t> actions;
  DeviceBuffer<float> logp, values, rewards, ratio, h0, c0, adv, returns, epoch_terms, epoch_sums;
  // rollout LSTM state [layers, agents, H], double-buffered (the segment-start state is stored)
  DeviceBuffer<float> h[2], c[2];
  // minibatch [k, H, ...]
  DeviceBuffer<std::uint8_t> mb_obs;
  DeviceBuffer<std::int32_t> mb_actions;
  DeviceBuffer<float> mb_old_logp, mb_old_values, mb_returns, mb_h0, mb_c0, mb_ratio, mb_adv;
  DeviceBuffer<float> d_logp, d_entropy, d_value, ks_dlogits;
  // optimizer
  DeviceBuffer<float> adam_m, adam_v;
  // statistics accumulated on the device: PPO stats then the grad norm
  DeviceBuffer<float> stats;
  // W_init for the l2-init term (allocated only when it is used)
  DeviceBuffer<float> init_params;
};

namespace {
kernels::Context make_context(const TrainerConfig& c) {
  c.validate();
  const kernels::Device d = kernels::parse_device(c.device);
  if (d != kernels::Device::CUDA) return kernels::Context::cpu(c.threads);
  kernels::Context ctx = kernels::Context::cuda();
  ctx.math = c.precision == "tf32"   ? kernels::MathMode::kTf32
             : c.precision == "bf16" ? kernels::MathMode::kBf16
                                     : kernels::MathMode::kFp32;
  ctx.fused_epilogues = c.fused_epilogues;
  return ctx;
}

// The episodes of every rank: counts and reward sums added (per task too); the per-episode stat means
// weighted by each rank's episodes. The stat maps go through rank 0 as JSON, since a rank without
// episodes has none.
engine::CompletedEpisodes reduce_episodes(const distributed::ProcessGroup& group, const engine::CompletedEpisodes& done,
                                          std::vector<engine::TaskEpisodes>& tasks) {
  std::vector<double> sums = {done.episodes, done.mean_reward * done.episodes, done.mean_length * done.episodes};
  for (const engine::TaskEpisodes& t : tasks) {
    sums.push_back(t.episodes);
    sums.push_back(t.reward_sum);
  }
  group.sum_host(sums.data(), static_cast<std::int64_t>(sums.size()));
  engine::CompletedEpisodes out;
  out.episodes = sums[0];
  out.mean_reward = sums[0] > 0 ? sums[1] / sums[0] : 0.0;
  out.mean_length = sums[0] > 0 ? sums[2] / sums[0] : 0.0;
  for (std::size_t t = 0; t < tasks.size(); ++t) tasks[t] = {sums[3 + 2 * t], sums[4 + 2 * t]};
  nlohmann::json mine;
  for (auto [name, map] : {std::pair{"agent", &done.agent}, {"converter", &done.converter}, {"game", &done.game}})
    for (const auto& [k, v] : *map) mine[name][k] = v * done.episodes;
  const std::string text = mine.dump();
  std::vector<std::vector<std::uint8_t>> all = group.gather(std::vector<std::uint8_t>(text.begin(), text.end()));
  std::string merged_text;
  if (group.is_main()) {
    nlohmann::json merged = nlohmann::json::object();
    for (const auto& bytes : all) {
      const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
      if (!j.is_object()) continue;
      for (auto it = j.begin(); it != j.end(); ++it) {
        nlohmann::json& sums = merged[it.key()];
        if (!sums.is_object()) sums = nlohmann::json::object();
        for (auto kv = it->begin(); kv != it->end(); ++kv) sums[kv.key()] = sums.value(kv.key(), 0.0) + kv->get<double>();
      }
    }
    merged_text = merged.dump();
  }
  const std::vector<std::uint8_t> shared = group.broadcast(std::vector<std::uint8_t>(merged_text.begin(), merged_text.end()));
  const nlohmann::json merged = nlohmann::json::parse(shared.begin(), shared.end());
  for (auto [name, map] : {std::pair{"agent", &out.agent}, {"converter", &out.converter}, {"game", &out.game}})
    if (merged.contains(name))
      for (auto kv = merged[name].begin(); kv != merged[name].end(); ++kv)
        (*map)[kv.key()] = out.episodes > 0 ? kv->get<double>() / out.episodes : 0.0;
  return out;
}

std::vector<float> feature_norms(const engine::BatchedEnv& env) {
  std::vector<float> n;
  for (auto& [name, norm] : env.feature_normalizations()) n.push_back(norm);
  return n;
}
}  // namespace

Trainer::Trainer(const TrainerConfig& config, const engine::EnvConfig& env_config, std::int64_t num_envs,
                 const std::string& agent)
    : Trainer(config, std::vector<engine::EnvConfig>{env_config}, num_envs, agent) {}

Trainer::Trainer(const TrainerConfig& config, const std::vector<engine::EnvConfig>& tasks, std::int64_t num_envs,
                 const std::string& agent, const std::vector<double>& task_probabilities)
    : config_(config), num_envs_(num_envs), agent_(agent), ctx_(make_context(config)) {
  const int H = config.bptt_horizon;
  if (num_envs < 1) engine::config_fail("num_envs", std::to_string(num_envs), "a count >= 1");
  distributed::ProcessGroup& group = distributed::ProcessGroup::get();
  group.set_timeout(config.collective_timeout);
  group_ = &group;
  world_ = group.world();
  rank_ = group.rank();
  // batch sizes are global: each rank takes its share (trainer.md §7, scale_batches_by_world_size)
  const std::string ranks = "a multiple of the world size " + std::to_string(world_) + " (" + group.info().launcher + ")";
  if (config.batch_size % world_ != 0) engine::config_fail("trainer.batch_size", std::to_string(config.batch_size), ranks);
  if (config.minibatch_size % world_ != 0)
    engine::config_fail("trainer.minibatch_size", std::to_string(config.minibatch_size), ranks);
  const std::int64_t rank_batch = config.batch_size / world_, rank_minibatch = config.minibatch_size / world_;
  kp_.ppo = ppo_loss_params(config.ppo);
  kp_.advantage = advantage_params(config.ppo);
  kp_.adam = adam_params(config.optimizer);
  kp_.kickstart = kickstarter_params(config.kickstart);
  kp_.max_grad_norm = static_cast<float>(config.ppo.max_grad_norm);
  kp_.prio_alpha = static_cast<float>(config.prioritized_experience_replay.prio_alpha);
  kp_.prio_beta0 = static_cast<float>(config.prioritized_experience_replay.prio_beta0);
  kp_.target_kl = static_cast<float>(config.target_kl);
  kp_.l2_reg_loss_coef = static_cast<float>(config.ppo.l2_reg_loss_coef);
  kp_.l2_init_loss_coef = static_cast<float>(config.ppo.l2_init_loss_coef);
  if ((config_.rollout_graph || config_.update_graph) && ctx_.device == kernels::Device::CUDA) {
    stream_ = std::make_unique<kernels::OwnedStream>(ctx_);
    ctx_ = stream_->context();
  }
  engine::BatchedEnvOptions opt;
  opt.randomize_first_episode = true;
  opt.task_probabilities = task_probabilities;
  opt.env_key_base = static_cast<std::int64_t>(rank_) * num_envs_;
  opt.track_stat_updates = true;  // episode stats with the reference's derived entries
  env_ = std::make_unique<engine::BatchedEnv>(tasks, num_envs_, config_.seed, ctx_, opt);
  agents_ = env_->total_agents();
  // D4: S = k * agents rows, so each rollout is exactly batch_size agent-steps and no row is stale.
  k_ = std::max<std::int64_t>(1, std::llround(static_cast<double>(rank_batch) / (H * agents_)));
  segments_ = k_ * agents_;
  const std::int64_t want = std::max<std::int64_t>(1, rank_minibatch / H);
  mb_segments_ = 1;
  for (std::int64_t d = 1; d <= segments_; ++d)
    if (segments_ % d == 0 && std::llabs(d - want) < std::llabs(mb_segments_ - want)) mb_segments_ = d;

  const nn::PolicyArch arch =
      checkpoint::policy_arch_for(agent_, checkpoint::EnvInterface::of(env_->compiled()));
  const std::int64_t max_rows = std::max<std::int64_t>(agents_, mb_segments_ * H);
  policy_ = std::make_unique<nn::Policy<float>>(ctx_, arch, nn::ActionSpace(env_->action_max_args()),
                                                feature_norms(*env_), config_.seed, max_rows, H,
                                                lstm_backend(config_.lstm));
  policy_->set_sample_row_base(static_cast<std::int64_t>(rank_) * agents_);
  policy_->set_token_conv(config_.first_conv == "tokens");

  b_ = std::make_unique<Buffers>();
  const kernels::Device d = ctx_.device;
  const auto cells = static_cast<std::size_t>(segments_ * H), mb = static_cast<std::size_t>(mb_segments_ * H);
  const int obs_bytes = env_->num_tokens() * 3, state = policy_->state_size();
  b_->obs = DeviceBuffer<std::uint8_t>(d, cells * obs_bytes);
  b_->terminals = DeviceBuffer<std::uint8_t>(d, cells);
  b_->truncations = DeviceBuffer<std::uint8_t>(d, cells);
  b_->actions = DeviceBuffer<std::int32_t>(d, cells * 2);
  for (auto* buf : {&b_->logp, &b_->values, &b_->rewards, &b_->ratio, &b_->adv, &b_->returns})
    *buf = DeviceBuffer<float>(d, cells);
  kernels::fill_floats(ctx_, b_->ratio.data(), static_cast<std::int64_t>(cells), 1.0f);  // cells never sampled: 1
  // the epoch's statistics over the buffer: explained variance's 4 terms, then the experience/ terms
  b_->epoch_terms = DeviceBuffer<float>(d, (4 + kernels::kExperienceTerms) * cells);
  b_->epoch_sums = DeviceBuffer<float>(d, 4 + kernels::kExperienceTerms);
  b_->h0 = DeviceBuffer<float>(d, static_cast<std::size_t>(segments_ * state));
  b_->c0 = DeviceBuffer<float>(d, static_cast<std::size_t>(segments_ * state));
  for (int i = 0; i < 2; ++i) {
    b_->h[i] = DeviceBuffer<float>(d, static_cast<std::size_t>(agents_ * state));
    b_->c[i] = DeviceBuffer<float>(d, static_cast<std::size_t>(agents_ * state));
    b_->h[i].fill_bytes_with(ctx_, 0);
    b_->c[i].fill_bytes_with(ctx_, 0);
  }
  b_->mb_obs = DeviceBuffer<std::uint8_t>(d, mb * obs_bytes);
  b_->mb_actions = DeviceBuffer<std::int32_t>(d, mb * 2);
  for (auto* buf : {&b_->mb_old_logp, &b_->mb_old_values, &b_->mb_returns, &b_->mb_ratio, &b_->mb_adv, &b_->d_logp,
                    &b_->d_entropy, &b_->d_value})
    *buf = DeviceBuffer<float>(d, mb);
  b_->mb_h0 = DeviceBuffer<float>(d, static_cast<std::size_t>(mb_segments_ * state));
  b_->mb_c0 = DeviceBuffer<float>(d, static_cast<std::size_t>(mb_segments_ * state));
  b_->adam_m = DeviceBuffer<float>(d, static_cast<std::size_t>(policy_->num_params()));
  b_->adam_v = DeviceBuffer<float>(d, static_cast<std::size_t>(policy_->num_params()));
  b_->adam_m.fill_bytes_with(ctx_, 0);
  b_->adam_v.fill_bytes_with(ctx_, 0);
  b_->stats = DeviceBuffer<float>(d, kernels::kPpoStatCount + 3);  // PPO stats, grad norm, ks action, ks value

  view_ = kernels::ExperienceView{segments_, H, obs_bytes, state, b_->obs.data(), b_->actions.data(),
                                  b_->logp.data(), b_->values.data(), b_->rewards.data(), b_->terminals.data(),
                                  b_->truncations.data(), b_->ratio.data(), b_->h0.data(), b_->c0.data()};
  if (config_.optimizer.type == "muon") {
    std::vector<kernels::MuonTensor> tensors;
    for (const nn::ParamInfo& p : policy_->table().all())
      tensors.push_back({p.offset, p.shape.size() >= 2 ? p.shape[0] : p.count,
                         p.shape.size() >= 2 ? p.count / p.shape[0] : 1, p.shape.size() >= 2});
    muon_ = kernels::Muon(ctx_, tensors, policy_->num_params());
  }
  ppo_ = kernels::PpoLoss(ctx_, mb_segments_ * H);
  grad_norm_ = kernels::GradNorm(ctx_, policy_->num_params());
  if (kp_.l2_reg_loss_coef != 0 || kp_.l2_init_loss_coef != 0)
    param_moments_ = kernels::VectorMoments(ctx_, policy_->num_params());
  if (kp_.l2_init_loss_coef != 0 || config_.l2_init_weight_update_interval > 0) {
    b_->init_params = DeviceBuffer<float>(d, static_cast<std::size_t>(policy_->num_params()));
    capture_l2_init();
  }
  if (config_.grad_mean_variance_interval > 0) grad_moments_ = kernels::VectorMoments(ctx_, policy_->num_params());
  sampler_ = kernels::PrioritizedSampler(ctx_, segments_, H, mb_segments_);
  epoch_sum_ = kernels::SegmentedSum(ctx_, 4 + kernels::kExperienceTerms, segments_ * H);
  part_timing_ = ctx_.device == kernels::Device::CPU;  // a clock read per part; CUDA would synchronize
}

Trainer::~Trainer() = default;

void Trainer::set_lineage(std::int64_t generation, const std::string& initial_uri) {
  generation_ = generation;
  initial_uri_ = initial_uri;
}

void Trainer::capture_l2_init() {
  if (b_->init_params.size())
    kernels::copy_bytes(ctx_, ctx_.device, b_->init_params.data(), ctx_.device, policy_->params(),
                        b_->init_params.bytes());
}

void Trainer::set_teacher(const std::string& agent, const std::vector<float>& weights) {
  teachers_.clear();
  add_teacher(agent, weights, kp_.kickstart.action_loss_coef, kp_.kickstart.value_loss_coef);
}

void Trainer::add_teacher(const std::string& agent, const std::vector<float>& weights, float action_loss_coef,
                          float value_loss_coef) {
  const nn::PolicyArch arch = checkpoint::policy_arch_for(agent, checkpoint::EnvInterface::of(env_->compiled()));
  auto teacher = std::make_unique<nn::Policy<float>>(ctx_, arch, policy_->action_space(), feature_norms(*env_),
                                                     config_.seed, mb_segments_ * config_.bptt_horizon,
                                                     config_.bptt_horizon);
  teacher->set_token_conv(config_.first_conv == "tokens");
  METTA_CHECK(static_cast<std::int64_t>(weights.size()) == teacher->num_params(),
              "teacher weights: got " << weights.size() << ", expected " << teacher->num_params() << " for '"
                                      << agent << "'");
  kernels::upload_bytes(ctx_, teacher->params(), weights.data(), weights.size() * sizeof(float));
  teachers_.push_back({std::move(teacher), action_loss_coef, value_loss_coef});
  if (b_->ks_dlogits.size() == 0) {
    const std::int64_t rows = mb_segments_ * config_.bptt_horizon;
    kickstart_ = kernels::KickstarterLoss(ctx_, rows);
    b_->ks_dlogits =
        DeviceBuffer<float>(ctx_.device, static_cast<std::size_t>(rows * policy_->action_space().num_logits()));
  }
}

std::string Trainer::describe() const {
  std::ostringstream os;
  os << agents_ << " agents (" << num_envs_ << " envs), agent '" << agent_ << "' ("
     << policy_->num_params() << " parameters), batch " << segments_ * config_.bptt_horizon << " = " << k_ << " x " << agents_
     << " segments x " << config_.bptt_horizon << " steps, minibatch " << mb_segments_ * config_.bptt_horizon
     << " (" << segments_ / mb_segments_ << " per epoch), device " << kernels::device_name(ctx_.device);
  if (world_ > 1)
    os << "; " << group_->describe() << ", global batch " << batch_size() << ", minibatch "
       << mb_segments_ * config_.bptt_horizon * world_;
  return os.str();
}

void Trainer::reset_for_rollout() { rollout_step_ = 0; }

bool Trainer::is_ready_for_training() const { return rollout_step_ >= k_ * config_.bptt_horizon; }

namespace {
// A lap clock over `timing` (off when null) that synchronizes a CUDA context before each reading.
auto part_clock(const kernels::Context& ctx, EpochTiming* timing) {
  return PartClock(timing, [&ctx] {
    if (ctx.device == kernels::Device::CUDA) kernels::synchronize(ctx);
  });
}

// Rollout step `step` (of the rollout's k x H): the policy acts on the env's observations from state
// (h, c), writing the next state to (h_next, c_next), with sampling counter `counter` (plus the device's
// counter_base, when given); the experience buffer stores the step at column step % H of segment block
// step / H; the env steps. Rollout_step and the recorded rollout (timing null) both run it.
void rollout_one_step(const kernels::Context& ctx, nn::Policy<float>& policy, engine::BatchedEnv& env,
                      const kernels::ExperienceView& view, std::int64_t step, int H, std::uint64_t seed,
                      std::uint32_t counter, const std::uint32_t* counter_base, float* h, float* c, float* h_next,
                      float* c_next, EpochTiming* timing) {
  const std::int64_t agents = env.total_agents();
  const nn::PolicyArch& arch = policy.arch();
  auto clock = part_clock(ctx, timing);
  const double sampling_before = timing ? (*timing)[EpochPart::kSampling] : 0.0;
  policy.time_sampling(timing ? &(*timing)[EpochPart::kSampling] : nullptr);
  policy.forward(env.observations(), agents, 1, nullptr, h, c, h_next, c_next, seed, counter, env.actions(),
                 counter_base);
  policy.time_sampling(nullptr);
  clock.lap(EpochPart::kPolicyForward);
  if (timing) (*timing)[EpochPart::kPolicyForward] -= (*timing)[EpochPart::kSampling] - sampling_before;
  kernels::experience_store(ctx, view, (step / H) * agents, agents, static_cast<int>(step % H), env.observations(),
                            env.actions(), policy.logp(), policy.value(), env.rewards(), env.terminals(),
                            env.truncations(), h, c, arch.lstm_layers, arch.hidden);
  clock.lap(EpochPart::kExperienceStore);
  env.step();
  clock.lap(EpochPart::kEnvStep);
}
}  // namespace

std::int64_t Trainer::rollout_step() {
  METTA_CHECK(!is_ready_for_training(), "rollout_step: the experience buffer is full; train first");
  if (config_.rollout_graph && rollout_step_ == 0 && rollout_warmed_) return recorded_rollout();
  // live LSTM state in buffer 0; the step writes the next state into buffer 1, then they swap
  rollout_one_step(ctx_, *policy_, *env_, view_, rollout_step_, config_.bptt_horizon, config_.seed ^ 0x5151u,
                   rollout_counter_++, nullptr, b_->h[0].data(), b_->c[0].data(), b_->h[1].data(), b_->c[1].data(),
                   timing());
  std::swap(b_->h[0], b_->h[1]);
  std::swap(b_->c[0], b_->c[1]);
  ++rollout_step_;
  agent_step_ += agents_ * world_;  // every rank steps as many (trainer.md §10: mask.sum() x world_size)
  if (is_ready_for_training()) rollout_warmed_ = true;
  return agents_ * world_;
}

std::int64_t Trainer::recorded_rollout() {
  const int H = config_.bptt_horizon;
  const std::int64_t steps = k_ * H;
  if (!rollout_graph_) {
    // The recorded work holds only values fixed now (pointers, sizes, step numbers): a CUDA replay
    // repeats the kernels' arguments, and the CPU's re-run of the same closure does the same. Step s
    // reads the live LSTM state from one buffer and writes the next into the other, as rollout_step's
    // swaps do; after an odd number of steps a copy brings the state back to b_->h[0], so every replay
    // starts and ends there. The sampling counter is the device's (counter_dev_) plus s.
    counter_dev_ = DeviceBuffer<std::uint32_t>(ctx_.device, 1);
    counter_dev_value_ = rollout_counter_ + 1;  // not yet uploaded
    const std::size_t state_bytes = b_->h[0].bytes();
    auto work = [ctx = ctx_, policy = policy_.get(), env = env_.get(), view = view_, h0 = b_->h[0].data(),
                 h1 = b_->h[1].data(), c0 = b_->c[0].data(), c1 = b_->c[1].data(), state_bytes, steps, H,
                 seed = config_.seed ^ 0x5151u, counter = counter_dev_.data()] {
      for (std::int64_t s = 0; s < steps; ++s) {
        const bool even = s % 2 == 0;
        rollout_one_step(ctx, *policy, *env, view, s, H, seed, static_cast<std::uint32_t>(s), counter, even ? h0 : h1,
                         even ? c0 : c1, even ? h1 : h0, even ? c1 : c0, nullptr);
      }
      if (steps % 2 == 1) {
        kernels::copy_bytes(ctx, ctx.device, h0, ctx.device, h1, state_bytes);
        kernels::copy_bytes(ctx, ctx.device, c0, ctx.device, c1, state_bytes);
      }
      kernels::advance_counter(ctx, counter, static_cast<std::uint32_t>(steps));
    };
    rollout_graph_ = std::make_unique<kernels::CapturedWork>(ctx_, std::move(work));
  }
  auto clock = part_clock(ctx_, timing());
  if (counter_dev_value_ != rollout_counter_)
    kernels::upload_bytes(ctx_, counter_dev_.data(), &rollout_counter_, sizeof rollout_counter_);
  rollout_graph_->replay();
  clock.lap(EpochPart::kRolloutRecorded);
  rollout_counter_ += static_cast<std::uint32_t>(steps);
  counter_dev_value_ = rollout_counter_;
  rollout_step_ = steps;
  agent_step_ += steps * agents_ * world_;
  return steps * agents_ * world_;
}

engine::CompletedEpisodes Trainer::accumulate_stats() {
  auto clock = part_clock(ctx_, timing());
  // per task before completed_episodes clears them; one task's are the batch's (no second readout)
  if (env_->num_tasks() > 1) {
    task_episodes_ = env_->completed_episodes_by_task(false);
    episode_scores_ = env_->completed_episode_scores();
  }
  const engine::CompletedEpisodes done = env_->completed_episodes();
  if (env_->num_tasks() == 1) task_episodes_ = {{done.episodes, done.mean_reward * done.episodes}};
  if (world_ == 1) {
    clock.lap(EpochPart::kStatsReadout);
    return done;
  }
  if (env_->num_tasks() > 1) {  // every rank's scores, in rank order, on every rank
    std::vector<std::uint8_t> mine(episode_scores_.size() * sizeof(engine::EpisodeScore));
    if (!mine.empty()) std::memcpy(mine.data(), episode_scores_.data(), mine.size());
    std::vector<std::uint8_t> all;
    for (const auto& part : group_->gather(mine)) all.insert(all.end(), part.begin(), part.end());
    all = group_->broadcast(std::move(all));
    episode_scores_.resize(all.size() / sizeof(engine::EpisodeScore));
    if (!all.empty()) std::memcpy(episode_scores_.data(), all.data(), all.size());
  }
  engine::CompletedEpisodes all = reduce_episodes(*group_, done, task_episodes_);
  clock.lap(EpochPart::kStatsReadout);
  return all;
}

void Trainer::reset_training_state() {
  b_->stats.fill_bytes_with(ctx_, 0);
  update_phase_fresh_ = true;  // trainer.update_graph: the next sample_minibatch writes the phase's table
  replayed_ = false;
  current_lr_ = kp_.adam.lr;
  if (config_.lr_scheduler.enabled) {  // torch CosineAnnealingLR, eta_min 0, stepped once per train phase
    const double t_max = static_cast<double>(std::max<std::int64_t>(1, config_.total_timesteps / batch_size()));
    const double e = std::min(static_cast<double>(epoch_), t_max);
    current_lr_ = kp_.adam.lr * 0.5 * (1.0 + std::cos(M_PI * e / t_max));
  }
}

double Trainer::mean_approx_kl() const {
  if (updates_ == 0) return 0.0;
  float kl = 0;
  kernels::download_bytes(ctx_, &kl, b_->stats.data() + kernels::kPpoApproxKl, sizeof(float));
  double sum = kl;
  group_->sum_host(&sum, 1);  // the mean over every rank, so all ranks stop their passes together
  return sum / world_ / static_cast<double>(updates_);
}

bool Trainer::kl_limit_reached() const { return kp_.target_kl > 0 && mean_approx_kl() > kp_.target_kl; }

const float* Trainer::compute_advantages() {
  auto clock = part_clock(ctx_, timing());
  const int H = config_.bptt_horizon;
  // full-buffer advantage with ratio 1 (plain GAE) and the returns it implies
  kernels::compute_advantage(ctx_, kernels::AdvantageArgs{b_->values.data(), b_->rewards.data(), b_->terminals.data(),
                                                          b_->truncations.data(), nullptr, nullptr, segments_, H,
                                                          b_->adv.data()},
                             kp_.advantage);
  kernels::add_arrays(ctx_, b_->adv.data(), b_->values.data(), segments_ * H, b_->returns.data());
  sampler_.set_priorities(ctx_, b_->adv.data(), kp_.prio_alpha);
  clock.lap(EpochPart::kAdvantage);
  return b_->adv.data();
}

double Trainer::anneal_beta() const {
  // from the config's doubles, as the documented API's calculate_anneal_beta computes it
  const PrioritizedExperienceReplayConfig& p = config_.prioritized_experience_replay;
  return kernels::calculate_anneal_beta(epoch_, config_.total_timesteps, batch_size(), p.prio_beta0, p.prio_alpha);
}

namespace {
// The sampler's keys of an update: (epoch * update_epochs + update epoch, minibatch index).
std::uint32_t sample_pass(std::int64_t epoch, int update_epochs, int update_epoch) {
  return static_cast<std::uint32_t>(epoch * update_epochs + update_epoch);
}
}  // namespace

Minibatch Trainer::sample_minibatch(std::int64_t index, int update_epoch, double beta) {
  auto clock = part_clock(ctx_, timing());
  if (replay_update(index, update_epoch, beta)) {
    clock.lap(EpochPart::kUpdateRecorded);
  } else {
    sample_work(index, update_epoch, beta, nullptr);
    clock.lap(EpochPart::kMinibatchGather);
  }
  return Minibatch{sampler_.rows(), sampler_.weights(), mb_segments_};
}

void Trainer::sample_work(std::int64_t index, int update_epoch, double beta,
                          const kernels::UpdateStepScalars* device_step) {
  const nn::PolicyArch& arch = policy_->arch();
  if (device_step)
    sampler_.sample(ctx_, config_.seed, device_step);
  else
    sampler_.sample(ctx_, config_.seed, sample_pass(epoch_, config_.update_epochs, update_epoch),
                    static_cast<std::uint32_t>(index), static_cast<float>(beta));
  kernels::experience_gather(ctx_, view_, sampler_.rows(), mb_segments_, b_->mb_obs.data(), b_->mb_actions.data(),
                             b_->mb_old_logp.data(), b_->mb_old_values.data(), b_->mb_returns.data(),
                             b_->returns.data(), b_->mb_h0.data(), b_->mb_c0.data(), arch.lstm_layers, arch.hidden);
}

const float* Trainer::train_minibatch(const Minibatch& mb) {
  if (replayed_) return ppo_.stats();  // sample_minibatch ran the recorded update whole
  return train_step_work(mb, timing());
}

const float* Trainer::train_step_work(const Minibatch& mb, EpochTiming* timing) {
  auto clock = part_clock(ctx_, timing);
  const int H = config_.bptt_horizon;
  const std::int64_t n = mb.segments * H;
  const bool stored = config_.train_from_rollout_state;
  policy_->forward(b_->mb_obs.data(), mb.segments, H, b_->mb_actions.data(), stored ? b_->mb_h0.data() : nullptr,
                   stored ? b_->mb_c0.data() : nullptr, nullptr, nullptr);
  kernels::importance_ratio(ctx_, policy_->logp(), b_->mb_old_logp.data(), n, b_->mb_ratio.data());
  kernels::compute_advantage(ctx_, kernels::AdvantageArgs{b_->values.data(), b_->rewards.data(), b_->terminals.data(),
                                                          b_->truncations.data(), b_->mb_ratio.data(), mb.rows,
                                                          mb.segments, H, b_->mb_adv.data()},
                             kp_.advantage);
  clock.lap(EpochPart::kTrainForward);
  ppo_.run(ctx_,
           kernels::PpoLossInputs{policy_->logp(), policy_->entropy(), policy_->value(), b_->mb_old_logp.data(),
                                  b_->mb_old_values.data(), b_->mb_returns.data(), b_->mb_adv.data(), mb.weights, n, H},
           kp_.ppo, kernels::PpoLossGrads{b_->d_logp.data(), b_->d_entropy.data(), b_->d_value.data()},
           world_ > 1 ? group_ : nullptr);
  const double ks_factor = teachers_.empty() ? 0.0 : kernels::kickstart_factor(kp_.kickstart, agent_step_);
  const float* extra_dlogits = nullptr;
  if (ks_factor > 0.0) {
    b_->ks_dlogits.fill_bytes_with(ctx_, 0);
    // Teacher j's action term is scaled by the product of its and the later teachers' coefficients (the
    // reference rescales the running sum after each teacher); value terms are scaled by their own.
    for (std::size_t j = 0; j < teachers_.size(); ++j) {
      double action_scale = 1.0;
      for (std::size_t i = j; i < teachers_.size(); ++i) action_scale *= teachers_[i].action_loss_coef * ks_factor;
      nn::Policy<float>& teacher = *teachers_[j].policy;
      teacher.forward(b_->mb_obs.data(), mb.segments, H, b_->mb_actions.data(), nullptr, nullptr, nullptr, nullptr);
      kickstart_.run(ctx_, policy_->logits(), teacher.logits(), policy_->action_space().num_logits(), policy_->value(),
                     teacher.value(), static_cast<float>(action_scale),
                     static_cast<float>(teachers_[j].value_loss_coef * ks_factor), b_->ks_dlogits.data(),
                     b_->d_value.data());
      kernels::accumulate(ctx_, b_->stats.data() + kernels::kPpoStatCount + 1, kickstart_.stats(), 2);
    }
    extra_dlogits = b_->ks_dlogits.data();
  }
  clock.lap(EpochPart::kLoss);
  policy_->zero_grads();
  policy_->backward(b_->d_logp.data(), b_->d_entropy.data(), b_->d_value.data(), extra_dlogits);
  clock.lap(EpochPart::kBackward);
  return ppo_.stats();
}

namespace {
// The optimizer's parameters of this train phase: the config's, at the phase's learning rate.
kernels::AdamParams phase_optimizer(const kernels::AdamParams& config, double current_lr, bool scheduled) {
  kernels::AdamParams opt = config;
  opt.lr = static_cast<float>(current_lr > 0 || scheduled ? current_lr : config.lr);
  return opt;
}
}  // namespace

void Trainer::optimize_step(const Minibatch& mb) {
  if (replayed_) {  // counted by the replay
    replayed_ = false;
    return;
  }
  optimizer_work(mb, ++opt_step_, nullptr, timing());
  update_warmed_ = true;  // lazy workspaces exist now: an update may be recorded
  ++updates_;
  ++total_updates_;
}

void Trainer::optimizer_work(const Minibatch& mb, std::int64_t step, const kernels::UpdateStepScalars* device_step,
                             EpochTiming* timing) {
  auto clock = part_clock(ctx_, timing);
  if (group_->active()) {  // the mean gradient of every rank's minibatch, before clipping
    group_->sum(ctx_, policy_->grads(), policy_->num_params());
    if (world_ > 1) kernels::scale(ctx_, policy_->grads(), policy_->num_params(), 1.0f / static_cast<float>(world_));
  }
  grad_norm_.run(ctx_, policy_->grads());
  const kernels::AdamParams opt = phase_optimizer(kp_.adam, current_lr_, config_.lr_scheduler.enabled);
  if (config_.optimizer.type == "muon")
    muon_.step(ctx_, policy_->params(), policy_->grads(), opt, grad_norm_.norm(), kp_.max_grad_norm);
  else if (device_step)
    kernels::adam_step(ctx_, policy_->params(), policy_->grads(), b_->adam_m.data(), b_->adam_v.data(),
                       policy_->num_params(), opt, device_step, grad_norm_.norm(), kp_.max_grad_norm);
  else
    kernels::adam_step(ctx_, policy_->params(), policy_->grads(), b_->adam_m.data(), b_->adam_v.data(),
                       policy_->num_params(), opt, step, grad_norm_.norm(), kp_.max_grad_norm);
  kernels::experience_scatter(ctx_, view_, mb.rows, mb.segments, policy_->value(), b_->mb_ratio.data());
  kernels::accumulate(ctx_, b_->stats.data(), ppo_.stats(), kernels::kPpoStatCount);
  kernels::accumulate(ctx_, b_->stats.data() + kernels::kPpoStatCount, grad_norm_.norm(), 1);
  clock.lap(EpochPart::kOptimizer);
}

bool Trainer::replay_update(std::int64_t index, int update_epoch, double beta) {
  replayed_ = false;
  const bool teaching = !teachers_.empty() && kernels::kickstart_factor(kp_.kickstart, agent_step_) > 0.0;
  if (!config_.update_graph || !update_warmed_ || world_ > 1 || group_->active() || teaching) return false;
  const int E = config_.update_epochs;
  const std::int64_t M = num_minibatches();
  const kernels::AdamParams opt = phase_optimizer(kp_.adam, current_lr_, config_.lr_scheduler.enabled);
  if (update_phase_fresh_) {
    // The phase's table: entry e * M + m holds what the plain update (e, m) passes as arguments, from
    // the same functions; replays take the entries in that order (the device advances its index).
    update_phase_fresh_ = false;
    update_replays_ = 0;
    update_table_beta_ = beta;
    std::vector<kernels::UpdateStepScalars> table(static_cast<std::size_t>(E * M));
    for (int e = 0; e < E; ++e)
      for (std::int64_t m = 0; m < M; ++m) {
        kernels::UpdateStepScalars& t = table[static_cast<std::size_t>(e * M + m)];
        t.sample_pass = sample_pass(epoch_, E, e);
        t.minibatch = static_cast<std::uint32_t>(m);
        t.beta = static_cast<float>(beta);
        if (config_.optimizer.type != "muon") {
          const kernels::AdamStepScalars a = kernels::adam_step_scalars(opt, opt_step_ + 1 + e * M + m);
          t.adam_step_size = a.step_size;
          t.adam_bc2_sqrt = a.bias_correction2_sqrt;
        }
      }
    if (update_table_.size() != table.size()) {
      update_table_ = DeviceBuffer<kernels::UpdateStepScalars>(ctx_.device, table.size());
      update_current_ = DeviceBuffer<kernels::UpdateStepScalars>(ctx_.device, 1);
      update_index_ = DeviceBuffer<std::uint32_t>(ctx_.device, 1);
      update_graph_.reset();
    }
    update_table_.upload(ctx_, table);
    const std::uint32_t zero = 0;
    kernels::upload_bytes(ctx_, update_index_.data(), &zero, sizeof zero);
  }
  // Only the table's next entry can replay: minibatches out of order, another beta, or a plain update
  // in between end the phase's replays (the plain update serves the rest).
  const bool next = update_replays_ >= 0 && update_replays_ < E * M && update_epoch == update_replays_ / M &&
                    index == update_replays_ % M && beta == update_table_beta_;
  if (!next) {
    update_replays_ = -1;
    return false;
  }
  if (update_graph_ && config_.optimizer.type == "muon" && recorded_lr_ != opt.lr)
    update_graph_.reset();  // Muon's rate is a kernel argument (Adam's is in the table)
  if (!update_graph_) {
    // What the recording reads besides the table stays fixed while it lives: buffers and sizes, the
    // config's coefficients, no active teacher and one rank (checked above), and the learning rate
    // (checked here). Its minibatch is the sampler's buffers, the same every update.
    const Minibatch mb{sampler_.rows(), sampler_.weights(), mb_segments_};
    auto work = [this, mb, table = update_table_.data(), index = update_index_.data(),
                 current = update_current_.data()] {
      kernels::select_update_step(ctx_, table, index, current);
      sample_work(0, 0, 0.0, current);
      train_step_work(mb, nullptr);
      optimizer_work(mb, 0, current, nullptr);
    };
    update_graph_ = std::make_unique<kernels::CapturedWork>(ctx_, std::move(work));
    recorded_lr_ = opt.lr;
  }
  update_graph_->replay();
  ++update_replays_;
  ++total_replays_;
  ++opt_step_;  // the step the table gave it
  ++updates_;
  ++total_updates_;
  replayed_ = true;
  return true;
}

void Trainer::finish_training(EpochStats& out) {
  auto clock = part_clock(ctx_, timing());
  const std::int64_t cells = segments_ * config_.bptt_horizon;
  kernels::explained_variance_terms(ctx_, b_->returns.data(), b_->values.data(), cells, b_->epoch_terms.data());
  kernels::experience_stat_terms(ctx_, view_, b_->epoch_terms.data() + 4 * cells);
  epoch_sum_.run(ctx_, b_->epoch_terms.data(), b_->epoch_sums.data());
  // the only host reads of the epoch: a few scalars (means and sums over the ranks)
  std::vector<double> stats(b_->stats.size()), ev(b_->epoch_sums.size());
  {
    const std::vector<float> s = b_->stats.to_host(ctx_), e = b_->epoch_sums.to_host(ctx_);
    std::copy(s.begin(), s.end(), stats.begin());
    std::copy(e.begin(), e.end(), ev.begin());
  }
  if (world_ > 1) {
    group_->sum_host(stats.data(), static_cast<std::int64_t>(stats.size()));
    for (double& x : stats) x /= world_;
    group_->sum_host(ev.data(), static_cast<std::int64_t>(ev.size()));
    check_ranks_agree();
  }
  const double updates = static_cast<double>(std::max<std::int64_t>(1, updates_));
  for (int s = 0; s < kernels::kPpoStatCount; ++s) out.losses[s] = static_cast<float>(stats[s] / updates);
  out.grad_norm = static_cast<float>(stats[kernels::kPpoStatCount] / updates);
  out.ks_action_loss = static_cast<float>(stats[kernels::kPpoStatCount + 1] / updates);
  out.ks_value_loss = static_cast<float>(stats[kernels::kPpoStatCount + 2] / updates);
  const double n = static_cast<double>(cells) * world_;
  const double var_y = ev[1] / n - (ev[0] / n) * (ev[0] / n), var_d = ev[3] / n - (ev[2] / n) * (ev[2] / n);
  out.explained_variance = var_y > 1e-12 ? 1.0 - var_d / var_y : 0.0;
  const double* x = ev.data() + 4;
  ExperienceStats& xs = out.experience;
  xs.rewards = x[kernels::kExpReward] / n;
  xs.values = x[kernels::kExpValue] / n;
  xs.logprobs = x[kernels::kExpLogp] / n;
  xs.dones = x[kernels::kExpTerminal] / n;
  xs.truncateds = x[kernels::kExpTruncation] / n;
  xs.ratio = x[kernels::kExpRatio] / n;
  xs.actions_mean = x[kernels::kExpActionSum] / (2 * n);
  const double var_a = x[kernels::kExpActionSquares] / (2 * n) - xs.actions_mean * xs.actions_mean;
  xs.actions_std = std::sqrt(std::max(0.0, var_a * (2 * n) / std::max(1.0, 2 * n - 1)));  // unbiased, as torch.std
  // NaN/Inf guard: a non-finite loss or gradient norm means the weights are already poisoned; stop
  // loudly instead of training on (and checkpointing) garbage.
  for (int k = 0; k < kernels::kPpoStatCount; ++k)
    if (!std::isfinite(out.losses[k]))
      METTA_FAIL("training diverged at epoch " << epoch_ + 1 << ": losses/" << kernels::kPpoStatNames[k] << " is "
                                                << out.losses[k]
                                                << " (lower the learning rate, or check the rewards and the config)");
  if (!std::isfinite(out.grad_norm))
    METTA_FAIL("training diverged at epoch " << epoch_ + 1 << ": the gradient norm is " << out.grad_norm);
  updates_ = 0;
  ++epoch_;
  // Optional logged terms (a few more scalars; nothing per agent).
  if (param_moments_.size() > 0) {
    param_moments_.run(ctx_, policy_->params(), b_->init_params.size() ? b_->init_params.data() : nullptr);
    float m[3];
    kernels::download_bytes(ctx_, m, param_moments_.out(), sizeof m);
    out.l2_reg_loss = kp_.l2_reg_loss_coef * m[1];
    out.l2_init_loss = kp_.l2_init_loss_coef * m[2];
  }
  const int update_every = config_.l2_init_weight_update_interval;
  if (update_every > 0 && epoch_ % update_every == 0)
    kernels::ema_blend(ctx_, b_->init_params.data(), policy_->params(), policy_->num_params(), 0.9f);
  const int grad_every = config_.grad_mean_variance_interval;
  if (grad_every > 0 && epoch_ % grad_every == 0) {
    // the gradients of the phase's last update (before clipping), as the reference reads .grad
    grad_moments_.run(ctx_, policy_->grads(), nullptr);
    float m[3];
    kernels::download_bytes(ctx_, m, grad_moments_.out(), sizeof m);
    const double n = static_cast<double>(policy_->num_params());
    out.has_grad_stats = true;
    out.grad_mean = m[0] / n;
    out.grad_variance = n > 1 ? (m[1] - m[0] * (m[0] / n)) / (n - 1) : 0.0;  // unbiased, as torch.var
    out.grad_l2_norm = std::sqrt(static_cast<double>(m[1]));
  }
  clock.lap(EpochPart::kEpochStats);
  out.timing = timing_;
  timing_ = EpochTiming{};
}

void Trainer::check_ranks_agree() const {
  // FNV-1a of the weights' bits: rank 0's hash broadcast, any rank that differs stops them all
  std::vector<float> w(static_cast<std::size_t>(policy_->num_params()));
  kernels::download_bytes(ctx_, w.data(), policy_->params(), w.size() * sizeof(float));
  std::uint64_t h = 1469598103934665603ull;
  for (float x : w) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    h = (h ^ bits) * 1099511628211ull;
  }
  std::vector<std::uint8_t> mine(sizeof h);
  std::memcpy(mine.data(), &h, sizeof h);
  const std::vector<std::uint8_t> main = group_->broadcast(mine);
  if (group_->any(main != mine))
    METTA_FAIL("the ranks' weights differ after epoch " << epoch_ + 1
                                                        << " (they must stay identical: the same seed, config and "
                                                           "build on every rank)");
}

Trainer::MemoryBytes Trainer::memory_bytes() const {
  MemoryBytes m;
  const Buffers& b = *b_;
  for (std::size_t bytes : {b.obs.bytes(), b.terminals.bytes(), b.truncations.bytes(), b.actions.bytes(), b.logp.bytes(),
                            b.values.bytes(), b.rewards.bytes(), b.ratio.bytes(), b.h0.bytes(), b.c0.bytes(),
                            b.adv.bytes(), b.returns.bytes(), b.epoch_terms.bytes()})
    m.experience += static_cast<double>(bytes);
  for (std::size_t bytes : {b.mb_obs.bytes(), b.mb_actions.bytes(), b.mb_old_logp.bytes(), b.mb_old_values.bytes(),
                            b.mb_returns.bytes(), b.mb_h0.bytes(), b.mb_c0.bytes(), b.mb_ratio.bytes(), b.mb_adv.bytes(),
                            b.d_logp.bytes(), b.d_entropy.bytes(), b.d_value.bytes(), b.ks_dlogits.bytes()})
    m.minibatch += static_cast<double>(bytes);
  const double params = static_cast<double>(policy_->num_params()) * sizeof(float);
  m.optimizer = static_cast<double>(b.adam_m.bytes() + b.adam_v.bytes()) + (config_.optimizer.type == "muon" ? params : 0.0);
  m.parameters = 2 * params;  // weights and gradients
  return m;
}

void Trainer::run_update_passes() {
  const double beta = anneal_beta();
  for (int e = 0; e < config_.update_epochs; ++e) {
    for (std::int64_t m = 0; m < num_minibatches(); ++m) {
      const Minibatch mb = sample_minibatch(m, e, beta);
      train_minibatch(mb);
      optimize_step(mb);
    }
    if (kl_limit_reached()) break;  // trainer.target_kl
  }
}

EpochStats Trainer::run_epoch() {
  using clock = std::chrono::steady_clock;
  EpochStats out;
  const auto t0 = clock::now();
  reset_for_rollout();
  while (!is_ready_for_training()) rollout_step();
  const engine::CompletedEpisodes done = accumulate_stats();
  kernels::synchronize(ctx_);
  const auto t1 = clock::now();
  reset_training_state();
  compute_advantages();
  run_update_passes();
  finish_training(out);
  kernels::synchronize(ctx_);
  const auto t2 = clock::now();
  out.epoch = epoch_;
  out.agent_step = agent_step_;
  out.rollout_seconds = std::chrono::duration<double>(t1 - t0).count();
  out.train_seconds = std::chrono::duration<double>(t2 - t1).count();
  out.seconds = out.rollout_seconds + out.train_seconds;
  out.sps = batch_size() / std::max(out.seconds, 1e-9);
  out.episodes = done.episodes;
  out.mean_episode_reward = done.mean_reward;
  return out;
}

}  // namespace metta::train

// ---- checkpoints

namespace metta::train {
namespace {
constexpr const char* kStateFormat = "metta-cpp.trainer_state";
// 2: the checksum covers the whole file; 3: the env's stat rows gained action.invalid_arg.<type>.<arg>
// and the game keys' derived entries (2026-11-29), so an older file's env state no longer fits.
constexpr int kStateVersion = 3;

checkpoint::Tensor bytes_tensor(std::vector<std::uint8_t> bytes) {
  checkpoint::Tensor t;
  t.dtype = "U8";
  t.shape = {static_cast<std::int64_t>(bytes.size())};
  t.bytes = std::move(bytes);
  return t;
}

std::vector<std::uint8_t> download(const kernels::Context& ctx, const float* p, std::size_t n) {
  std::vector<std::uint8_t> v(n * sizeof(float));
  kernels::download_bytes(ctx, v.data(), p, v.size());
  return v;
}

}  // namespace

std::string Trainer::save_checkpoint(const std::string& dir, const std::string& config_json,
                                     const std::map<std::string, std::string>& user_metadata) const {
  const checkpoint::PolicyStore store(dir);  // creates the folder
  latest_saved_epoch_ = epoch_;
  checkpoint::SafetensorsFile st;
  const std::size_t P = static_cast<std::size_t>(policy_->num_params());
  st.tensors.push_back({"adam_m", bytes_tensor(download(ctx_, b_->adam_m.data(), P))});
  st.tensors.push_back({"adam_v", bytes_tensor(download(ctx_, b_->adam_v.data(), P))});
  if (config_.optimizer.type == "muon") st.tensors.push_back({"muon_m", bytes_tensor(download(ctx_, muon_.momentum(), P))});
  if (b_->init_params.size())
    st.tensors.push_back({"l2_init_params", bytes_tensor(download(ctx_, b_->init_params.data(), P))});
  // this rank's own part: the rollout LSTM state and its envs
  checkpoint::SafetensorsFile own;
  own.tensors.push_back({"lstm_h", bytes_tensor(download(ctx_, b_->h[0].data(), b_->h[0].size()))});
  own.tensors.push_back({"lstm_c", bytes_tensor(download(ctx_, b_->c[0].data(), b_->c[0].size()))});
  for (auto& [name, bytes] : env_->save_state()) own.tensors.push_back({"env." + name, bytes_tensor(bytes)});
  if (world_ > 1) {  // rank 0 writes every rank's part; the others only send theirs
    const std::vector<std::vector<std::uint8_t>> parts =
        group_->gather(rank_ == 0 ? std::vector<std::uint8_t>{} : [&] {
          const std::string s = checkpoint::serialize_safetensors(own);
          return std::vector<std::uint8_t>(s.begin(), s.end());
        }());
    if (rank_ != 0) {
      group_->barrier_within(distributed::ProcessGroup::kSlowWorkSeconds);  // once rank 0 has written the files
      return dir + "/" + checkpoint::model_file_name(epoch_);
    }
    for (int r = 1; r < world_; ++r) {
      const std::string source = "the checkpoint state of rank " + std::to_string(r);
      checkpoint::SafetensorsFile part = checkpoint::parse_safetensors(std::string(parts[r].begin(), parts[r].end()), source);
      for (auto& [name, t] : part.tensors) own.tensors.push_back({"rank" + std::to_string(r) + "." + name, std::move(t)});
    }
    st.metadata["world_size"] = std::to_string(world_);
  }
  for (auto& entry : own.tensors) st.tensors.push_back(std::move(entry));
  st.metadata["format"] = kStateFormat;
  st.metadata["format_version"] = std::to_string(kStateVersion);
  st.metadata["agent_step"] = std::to_string(agent_step_);
  st.metadata["epoch"] = std::to_string(epoch_);
  st.metadata["opt_step"] = std::to_string(opt_step_);
  st.metadata["rollout_counter"] = std::to_string(rollout_counter_);
  st.metadata["policy_path"] = checkpoint::model_file_name(epoch_);  // relative: the folder may move
  st.metadata["optimizer"] = config_.optimizer.type;
  st.metadata["train_time"] = std::to_string(train_time_);
  st.metadata["checksum"] = checkpoint::file_checksum(st);  // last: it covers every other key
  // The state first, then the model: a kill between the two leaves a state without its model, which a
  // resume skips (the checkpoint was never completed); a model without a state only arises when states
  // are deleted, and is reported.
  checkpoint::write_file_atomic(dir + "/" + checkpoint::state_file_name(epoch_), checkpoint::serialize_safetensors(st));
  checkpoint::PolicyMetadata meta;
  meta.agent_step = agent_step_;
  meta.epoch = epoch_;
  meta.agent = agent_;
  meta.generation = generation_;
  meta.train_time = train_time_;
  meta.initial_uri = initial_uri_;
  checkpoint::record_env_interface(checkpoint::EnvInterface::of(env_->compiled()), meta);
  meta.config_json = config_json;
  meta.user = user_metadata;
  const std::string model = store.save(*policy_, meta);
  // the states of models the store rotated away, and an older layout's single state, are superseded
  for (const checkpoint::CheckpointEntry& e : checkpoint::list_checkpoints(dir))
    if (e.epoch < epoch_ && !e.state.empty() && (e.model.empty() || e.state.find(checkpoint::kLegacyStateName) != std::string::npos))
      std::filesystem::remove(e.state);
  if (world_ > 1) group_->barrier_within(distributed::ProcessGroup::kSlowWorkSeconds);
  return model;
}

std::vector<float> Trainer::optimizer_state() const {
  const std::size_t P = static_cast<std::size_t>(policy_->num_params());
  std::vector<float> out(config_.optimizer.type == "muon" ? P : 2 * P);
  if (config_.optimizer.type == "muon") {
    kernels::download_bytes(ctx_, out.data(), muon_.momentum(), P * sizeof(float));
  } else {
    kernels::download_bytes(ctx_, out.data(), b_->adam_m.data(), P * sizeof(float));
    kernels::download_bytes(ctx_, out.data() + P, b_->adam_v.data(), P * sizeof(float));
  }
  return out;
}

namespace {
// A trainer state read and checked: format, version and checksum.
checkpoint::SafetensorsFile read_state(const std::string& path) {
  const checkpoint::SafetensorsFile st = checkpoint::parse_safetensors(checkpoint::read_file(path), path);
  auto meta = [&](const std::string& k) {
    auto it = st.metadata.find(k);
    if (it == st.metadata.end()) throw checkpoint::CheckpointError(path + ": metadata has no '" + k + "'");
    return it->second;
  };
  const std::string version = meta("format_version");
  if (meta("format") == kStateFormat && (version == "1" || version == "2"))
    throw checkpoint::CheckpointError(
        path + ": trainer state version " + version + " holds the environment's statistics in an older layout (before " +
        "version " + std::to_string(kStateVersion) + " added action.invalid_arg.<type>.<arg> and the game keys' " +
        "derived entries), so this build cannot continue it: start a new run; its model files still load as " +
        "trainer.initial_policy");
  if (meta("format") != kStateFormat || version != std::to_string(kStateVersion))
    throw checkpoint::CheckpointError(path + ": format " + meta("format") + " version " + version + ", expected " +
                                      kStateFormat + " version " + std::to_string(kStateVersion));
  const std::string sum = checkpoint::file_checksum(st);
  if (meta("checksum") != sum) throw checkpoint::CheckpointError(path + ": checksum mismatch: the file is corrupt");
  return st;
}

// True when both files of a checkpoint read and check cleanly (for suggesting an older one).
bool checkpoint_is_sound(const checkpoint::CheckpointEntry& e) {
  if (e.model.empty() || e.state.empty()) return false;
  try {
    read_state(e.state);
    checkpoint::PolicyStore::open(e.model);
    return true;
  } catch (const checkpoint::CheckpointError&) {
    return false;
  }
}
}  // namespace

bool Trainer::resume(const std::string& dir, const std::string& resume_from) {
  const std::vector<checkpoint::CheckpointEntry> entries = checkpoint::list_checkpoints(dir);
  // complete checkpoints: a state without its model is one a kill interrupted (the model is written last)
  std::vector<checkpoint::CheckpointEntry> states;
  for (const auto& e : entries)
    if (!e.state.empty() && !e.model.empty()) states.push_back(e);
  if (world_ > 1) {  // every rank must see rank 0's checkpoints: one run folder, shared by all of them
    const std::int64_t mine = states.empty() ? -1 : states.front().epoch;
    std::vector<std::uint8_t> bytes(sizeof mine);
    std::memcpy(bytes.data(), &mine, sizeof mine);
    const std::vector<std::uint8_t> main = group_->broadcast(bytes);
    if (group_->any(main != bytes)) {
      std::int64_t theirs = 0;
      std::memcpy(&theirs, main.data(), sizeof theirs);
      throw checkpoint::CheckpointError(dir + ": the ranks see different checkpoints (rank 0's newest: epoch " +
                                        std::to_string(theirs) + ", rank " + std::to_string(rank_) + "'s: " +
                                        std::to_string(mine) + ", -1 = none); the run folder must be on a filesystem "
                                        "every rank sees");
    }
  }
  if (states.empty()) {
    if (!resume_from.empty())
      throw checkpoint::CheckpointError("trainer.resume_from: got '" + resume_from + "', but " + dir +
                                        " holds no trainer state to resume from");
    for (const auto& e : entries)
      if (!e.model.empty())
        throw checkpoint::CheckpointError(
            dir + " holds model files (newest " + std::filesystem::path(e.model).filename().string() +
            ") but no trainer state (trainer_state_NNNN.safetensors), so this run cannot continue where it stopped. "
            "To start a new run from its newest policy: run=<new name> trainer.initial_policy.uri=" + dir +
            "; to set this run aside and start over here: existing_run=archive (or existing_run=overwrite to delete it)");
    return false;
  }
  const checkpoint::CheckpointEntry* chosen = &states.front();
  if (!resume_from.empty()) {
    const std::int64_t want = checkpoint::resume_from_epoch(resume_from, dir);
    chosen = nullptr;
    for (const auto& e : states)
      if (e.epoch == want) chosen = &e;
    if (!chosen) {
      std::string have;
      for (const auto& e : states) have += (have.empty() ? "" : ", ") + std::to_string(e.epoch);
      throw checkpoint::CheckpointError("trainer.resume_from: got '" + resume_from + "' (epoch " + std::to_string(want) +
                                        "), expected an epoch with a trainer state in " + dir + ": " + have);
    }
  }
  try {
    restore_checkpoint(*chosen);
  } catch (const checkpoint::CheckpointError& e) {
    // name the damaged checkpoint and the ways to continue (an older sound one, or deleting this one)
    std::string msg = std::string(e.what()) + "\n  the checkpoint of epoch " + std::to_string(chosen->epoch) +
                      " cannot be resumed.";
    const checkpoint::CheckpointEntry* older = nullptr;
    for (const auto& o : states)
      if (o.epoch < chosen->epoch && checkpoint_is_sound(o)) {
        older = &o;
        break;
      }
    if (older)
      msg += " To continue from the newest sound one (epoch " + std::to_string(older->epoch) +
             "): trainer.resume_from=" + older->model + " (newer checkpoints are then moved to " + dir +
             "/abandoned), or delete " + chosen->state + (chosen->model.empty() ? "" : " and " + chosen->model) +
             " and run again.";
    else
      msg += " No older checkpoint of this run is sound; start over with existing_run=archive, or start a new run "
             "from a policy with trainer.initial_policy.uri.";
    throw checkpoint::CheckpointError(msg);
  }
  group_->barrier();  // every rank has read the files before rank 0 moves any
  if (!resume_from.empty() && rank_ == 0) {
    // the run continues from an older checkpoint: the newer ones belong to the abandoned continuation
    const std::filesystem::path aside = std::filesystem::path(dir) / "abandoned";
    for (const auto& e : entries)
      if (e.epoch > chosen->epoch)
        for (const std::string& f : {e.model, e.state})
          if (!f.empty()) {
            std::filesystem::create_directories(aside);
            std::filesystem::rename(f, aside / std::filesystem::path(f).filename());
          }
  }
  return true;
}

void Trainer::restore_checkpoint(const checkpoint::CheckpointEntry& entry) {
  const std::string& state_path = entry.state;
  const checkpoint::SafetensorsFile st = read_state(state_path);
  auto meta = [&](const std::string& k) {
    auto it = st.metadata.find(k);
    if (it == st.metadata.end()) throw checkpoint::CheckpointError(state_path + ": metadata has no '" + k + "'");
    return it->second;
  };
  const std::string saved_world = st.metadata.count("world_size") ? st.metadata.at("world_size") : "1";
  if (saved_world != std::to_string(world_))
    throw checkpoint::CheckpointError(state_path + ": saved by a run of " + saved_world + " rank(s), this run has " +
                                      std::to_string(world_) + "; resume with the same number of ranks");
  if (meta("optimizer") != config_.optimizer.type)
    throw checkpoint::CheckpointError(state_path + ": saved with optimizer '" + meta("optimizer") + "', this run uses '" +
                                      config_.optimizer.type + "'");
  const std::string model = (std::filesystem::path(state_path).parent_path() / meta("policy_path")).string();
  if (!std::filesystem::exists(model))
    throw checkpoint::CheckpointError(state_path + ": its model " + model + " is missing");
  const checkpoint::PolicyFile pf = checkpoint::PolicyStore::open(model);
  const checkpoint::PolicyMetadata& pm = pf.metadata;
  const std::vector<float> weights = checkpoint::weights_for_env(pf, policy_->table(),
                                                                 checkpoint::EnvInterface::of(env_->compiled()),
                                                                 checkpoint::FeatureOrder::kSame);
  kernels::upload_bytes(ctx_, policy_->params(), weights.data(), weights.size() * sizeof(float));
  if (pm.epoch != std::stoll(meta("epoch")))
    throw checkpoint::CheckpointError(model + ": epoch " + std::to_string(pm.epoch) + " does not match the trainer state");
  auto restore = [&](const std::string& name, void* dst, std::size_t bytes) {
    const checkpoint::Tensor* t = st.find(name);
    if (!t) throw checkpoint::CheckpointError(state_path + ": no tensor '" + name + "'");
    if (t->bytes.size() != bytes)
      throw checkpoint::CheckpointError(state_path + ": '" + name + "' has " + std::to_string(t->bytes.size()) +
                                        " bytes, this run needs " + std::to_string(bytes) +
                                        " (another agent, env or size?)");
    kernels::upload_bytes(ctx_, dst, t->bytes.data(), bytes);
  };
  const std::size_t P = static_cast<std::size_t>(policy_->num_params()) * sizeof(float);
  restore("adam_m", b_->adam_m.data(), P);
  restore("adam_v", b_->adam_v.data(), P);
  if (config_.optimizer.type == "muon") restore("muon_m", muon_.momentum(), P);
  if (b_->init_params.size()) {
    // a run that starts using the l2-init term keeps its current W_init when the state has none
    if (st.find("l2_init_params") != nullptr) restore("l2_init_params", b_->init_params.data(), P);
  }
  // this rank's part (rank 0's under the plain names)
  const std::string own = rank_ == 0 ? "" : "rank" + std::to_string(rank_) + ".";
  restore(own + "lstm_h", b_->h[0].data(), b_->h[0].bytes());
  restore(own + "lstm_c", b_->c[0].data(), b_->c[0].bytes());
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> env_state;
  for (auto& [name, t] : st.tensors)
    if (name.rfind(own + "env.", 0) == 0) env_state.push_back({name.substr(own.size() + 4), t.bytes});
  try {
    env_->load_state(env_state);
  } catch (const metta::Error& e) {
    throw checkpoint::CheckpointError(state_path + ": " + e.what());
  }
  try {
    agent_step_ = std::stoll(meta("agent_step"));
    epoch_ = std::stoll(meta("epoch"));
    latest_saved_epoch_ = epoch_;
    opt_step_ = std::stoll(meta("opt_step"));
    rollout_counter_ = static_cast<std::uint32_t>(std::stoul(meta("rollout_counter")));
    train_time_ = st.metadata.count("train_time") ? std::stod(st.metadata.at("train_time")) : pm.train_time;
  } catch (const std::logic_error&) {
    throw checkpoint::CheckpointError(state_path + ": a counter in its metadata is not a number");
  }
  generation_ = pm.generation;
  initial_uri_ = pm.initial_uri;
}

}  // namespace metta::train
