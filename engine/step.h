// One env step (game-rules.md §5.1, §3, §7): an env flagged done is reset instead; otherwise clear the
// step buffers, advance the clock, run due converter events, validate action types, resolve actions by
// priority in a per-step shuffled agent order (counter RNG keyed by (seed, env, episode, step)), share
// group rewards, and flag truncation. Sequential inside the env; the launcher runs envs in parallel.
#pragma once

#include "engine/actions.h"
#include "engine/reset.h"

namespace metta::engine {

METTA_HD inline void shuffle_agent_order(const EnvRef& env) {
  const int N = env.p.num_agents;
  std::uint16_t* order = env.w.agent_order + env.agent0;
  for (int a = 0; a < N; ++a) order[a] = static_cast<std::uint16_t>(a);
  RngStream rng{env.w.seed, static_cast<std::uint32_t>(env.w.env_key_base + env.e), env.w.env_episode[env.e],
                static_cast<std::uint32_t>(env.now()), kernels::RngPurpose::kAgentOrder};
  for (int i = N - 1; i > 0; --i) {
    const int j = static_cast<int>(kernels::uniform_below(rng.word(static_cast<std::uint32_t>(N - 1 - i)),
                                                          static_cast<std::uint32_t>(i + 1)));
    const std::uint16_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

// What each agent's step needs before the env's sequential pass, independent of every other agent and
// of the converters' events (which touch converters only): clear the step's reward and success, record
// the submitted action, flag an invalid type (its stat and penalty). The device step runs it one thread
// per agent; step_env runs it inline otherwise.
METTA_HD inline void prepare_agent(const EnvRef& env, int a) {
  const WorldView& w = env.w;
  const EnvParams& p = env.p;
  const std::int64_t ga = env.agent(a);
  w.agent_step_reward[ga] = 0.0f;
  w.action_success[ga] = 0;
  const std::int32_t type = w.actions[ga * 2], arg = w.actions[ga * 2 + 1];
  w.agent_last_action[ga * 2] = type;
  w.agent_last_action[ga * 2 + 1] = arg;
  const bool invalid = type < 0 || type >= p.num_actions;
  w.agent_skip[ga] = invalid ? 1 : 0;
  if (invalid) {
    env.add_agent_stat(a, p.stats.invalid_type, 1.0f);
    w.agent_step_reward[ga] -= p.failure_penalty[w.agent_group[ga]];
  }
}

// agents_prepared: prepare_agent already ran for this env's agents (the device step's own pass).
METTA_HD inline void step_env(const WorldView& w, std::int64_t e, bool agents_prepared = false) {
  if (w.env_needs_reset[e]) {
    reset_env(w, e);
    return;
  }
  EnvRef env(w, e);
  const EnvParams& p = env.p;
  const int N = p.num_agents;
  if (!agents_prepared)
    for (int a = 0; a < N; ++a) prepare_agent(env, a);
  w.env_step[e] += 1;
  process_due_events(env);

  shuffle_agent_order(env);
  const std::uint16_t* order = w.agent_order + env.agent0;
  for (int prio = p.max_priority; prio >= 0; --prio) {
    for (int k = 0; k < N; ++k) {
      const int a = order[k];
      const std::int64_t ga = env.agent(a);
      if (w.agent_skip[ga]) continue;
      const std::int32_t type = w.actions[ga * 2], arg = w.actions[ga * 2 + 1];
      if (p.action_priority[type] != prio) continue;
      if (arg < 0 || arg > p.action_max_arg[type]) {
        env.add_agent_stat(a, p.stats.invalid_arg, 1.0f);
        const std::int32_t beyond = arg - p.action_max_arg[type] - 1;  // 0 for max_arg + 1
        if (arg > 0 && beyond < kInvalidArgKeys)
          env.add_agent_stat(a, p.stats.invalid_arg_keyed + type * kInvalidArgKeys + beyond, 1.0f);
        w.agent_step_reward[ga] -= p.failure_penalty[w.agent_group[ga]];
        continue;
      }
      w.action_success[ga] = handle_action(env, a, type, arg) ? 1 : 0;
    }
  }

  float pool[kMaxGroups];
  for (int g = 0; g < kMaxGroups; ++g) pool[g] = 0.0f;
  bool any_reward = false;
  for (int a = 0; a < N; ++a) {
    const std::int64_t ga = env.agent(a);
    const float r = w.agent_step_reward[ga];
    w.agent_episode_reward[ga] += r;
    w.rewards[ga] = r;
    if (r != 0.0f) {
      any_reward = true;
      const int g = w.agent_group[ga];
      const float pct = p.group_reward_pct[g];
      if (pct != 0.0f) {
        w.rewards[ga] = r * (1.0f - pct);
        pool[g] += r * pct / static_cast<float>(p.group_size[g]);
      }
    }
  }
  if (any_reward)
    for (int a = 0; a < N; ++a) w.rewards[env.agent(a)] += pool[w.agent_group[env.agent(a)]];

  const bool truncated = w.env_max_steps[e] > 0 && w.env_step[e] >= w.env_max_steps[e];
  for (int a = 0; a < N; ++a) {
    w.truncations[env.agent(a)] = truncated ? 1 : 0;
    w.terminals[env.agent(a)] = 0;
  }
  if (truncated) w.env_needs_reset[e] = 1;
}

}  // namespace metta::engine
