// metta_cpp._core's part for metta_cpp.api and metta_cpp.train. The documented API's objects
// (api/metta_api.h) are bound as they are; configs cross as nested dicts read through the same field
// tables as the YAML (engine/config_fields.h), so their defaults, types and rules have one source, and
// errors name the dotted field as they do for a YAML file. TrainRunCore is the run object of `metta
// train` (train/run.h over api/config/train_job.h): the same job, the same code, the same weights. Long
// calls release the GIL; nothing here calls back into Python while the GIL is released (the run's
// progress lines are collected and handed over between epochs).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/config/train_job.h"
#include "api/metta_api.h"
#include "engine/config_fields.h"
#include "python/src/bindings.h"
#include "train/run.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace metta::python {
namespace {

// ---- configs: a struct's table as a nested dict (every row, also those the YAML does not name)
class DictWriter {
 public:
  explicit DictWriter(nb::dict& d) : d_(d) {}
  template <class T>
  void operator()(const engine::Field<T>& f) {
    d_[f.key] = nb::cast(f.value);
  }
  void by_code(const char*) {}
  template <class S>
  void group(const char* key, S& s) {
    nb::dict sub;
    DictWriter w(sub);
    visit_fields(s, w);
    d_[key] = sub;
  }
  template <class S>
  void list(const char* key, std::vector<S>& items) {
    nb::list l;
    for (S& item : items) {
      nb::dict sub;
      DictWriter w(sub);
      visit_fields(item, w);
      l.append(sub);
    }
    d_[key] = l;
  }

 private:
  nb::dict& d_;
};

template <class S>
nb::dict dict_of(const S& s) {
  nb::dict d;
  DictWriter w(d);
  visit_fields(const_cast<S&>(s), w);  // reads only
  return d;
}

// A Python value as the YAML node a config file would hold, so that the tables' reader checks it.
YAML::Node yaml_of(nb::handle v, const std::string& field) {
  if (v.is_none()) return YAML::Node(YAML::NodeType::Null);
  if (nb::isinstance<nb::bool_>(v)) return YAML::Node(nb::cast<bool>(v) ? "true" : "false");
  if (nb::isinstance<nb::str>(v)) return YAML::Node(nb::cast<std::string>(v));
  if (nb::isinstance<nb::dict>(v)) {
    YAML::Node n(YAML::NodeType::Map);
    for (auto [k, x] : nb::borrow<nb::dict>(v)) {
      const std::string key = nb::cast<std::string>(nb::str(k));
      n[key] = yaml_of(x, engine::join_key(field, key));
    }
    return n;
  }
  if (nb::isinstance<nb::list>(v) || nb::isinstance<nb::tuple>(v)) {
    YAML::Node n(YAML::NodeType::Sequence);
    std::size_t i = 0;
    for (nb::handle x : v) n.push_back(yaml_of(x, field + "[" + std::to_string(i++) + "]"));
    return n;
  }
  if (nb::hasattr(v, "__index__")) return YAML::Node(nb::cast<std::string>(nb::str(v.attr("__index__")())));
  if (nb::hasattr(v, "__float__")) return YAML::Node(engine::shortest_round_trip(nb::cast<double>(v.attr("__float__")())));
  engine::config_fail(field, nb::cast<std::string>(nb::repr(v)), "a number, true or false, a string, a list or a mapping");
}

// The rows the YAML does not name (seed, device, threads: the job's top-level keys there).
template <class T>
void read_api_field(const nb::dict& d, const char* key, T& out) {
  if (!d.contains(key)) return;
  const std::string field = std::string("trainer.") + key;
  const YAML::Node n = yaml_of(d[key], field);
  if (!engine::yaml_scalar(n, out)) engine::yaml_error("", field, engine::yaml_shown(n), engine::yaml_type_name<T>());
}

// A nested dict of trainer keys (any subset: absent keys keep their defaults) read through the table
// and validated: an unknown key names the closest one, a bad value its field and the rule.
train::TrainerConfig trainer_config_of(const nb::dict& d) {
  train::TrainerConfig c;
  YAML::Node node(YAML::NodeType::Map);
  for (auto [k, v] : d) {
    const std::string key = nb::cast<std::string>(nb::str(k));
    if (key != "seed" && key != "device" && key != "threads") node[key] = yaml_of(v, "trainer." + key);
  }
  engine::read_fields(node, "trainer", nullptr, c);
  read_api_field(d, "seed", c.seed);
  read_api_field(d, "device", c.device);
  read_api_field(d, "threads", c.threads);
  c.validate();
  return c;
}

nb::dict stats_dict(const train::EpochStats& s) {
  nb::dict d;
  d["epoch"] = s.epoch;
  d["agent_step"] = s.agent_step;
  d["seconds"] = s.seconds;
  d["rollout_seconds"] = s.rollout_seconds;
  d["train_seconds"] = s.train_seconds;
  d["sps"] = s.sps;
  d["episodes"] = s.episodes;
  d["mean_episode_reward"] = s.mean_episode_reward;
  nb::dict losses;
  for (int i = 0; i < kernels::kPpoStatCount; ++i) losses[kernels::kPpoStatNames[i]] = s.losses[i];
  d["losses"] = losses;
  d["grad_norm"] = s.grad_norm;
  d["explained_variance"] = s.explained_variance;
  d["ks_action_loss"] = s.ks_action_loss;
  d["ks_value_loss"] = s.ks_value_loss;
  return d;
}

nb::dict episodes_dict(const engine::CompletedEpisodes& e) {
  nb::dict d;
  d["episodes"] = e.episodes;
  d["mean_reward"] = e.mean_reward;
  d["mean_length"] = e.mean_length;
  d["agent"] = nb::cast(e.agent);
  d["game"] = nb::cast(e.game);
  d["converter"] = nb::cast(e.converter);
  return d;
}

engine::CompletedEpisodes episodes_of(const nb::dict& d) {
  engine::CompletedEpisodes e;
  auto number = [&](const char* key, double& out) {
    if (d.contains(key)) out = nb::cast<double>(d[key]);
  };
  auto table = [&](const char* key, std::map<std::string, double>& out) {
    if (d.contains(key)) out = nb::cast<std::map<std::string, double>>(d[key]);
  };
  number("episodes", e.episodes);
  number("mean_reward", e.mean_reward);
  number("mean_length", e.mean_length);
  table("agent", e.agent);
  table("game", e.game);
  table("converter", e.converter);
  return e;
}

nb::dict metadata_dict(const checkpoint::PolicyMetadata& m) {
  nb::dict d;
  d["agent_step"] = m.agent_step;
  d["epoch"] = m.epoch;
  d["generation"] = m.generation;
  d["train_time"] = m.train_time;
  d["agent"] = m.agent;
  d["action_names"] = nb::cast(m.action_names);
  d["action_max_args"] = nb::cast(m.action_max_args);
  d["obs_width"] = m.obs_width;
  d["obs_height"] = m.obs_height;
  d["feature_mapping"] = nb::cast(m.feature_mapping);
  d["initial_uri"] = m.initial_uri;
  d["config"] = m.config_json;
  d["user"] = nb::cast(m.user);
  return d;
}

std::pair<std::string, nb::dict> record_of(const api::PolicyRecord& r) { return {r.path, metadata_dict(r.metadata)}; }

using FloatArray = nb::ndarray<nb::numpy, float, nb::ndim<1>>;

FloatArray array_copy(const std::vector<float>& w) {
  auto* data = new std::vector<float>(w);
  nb::capsule owner(data, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  return FloatArray(data->data(), {data->size()}, owner);
}

// The loop's components; close() ends the training (the agent keeps the trained weights).
class TrainingCore {
 public:
  TrainingCore(api::Environment& env, api::Agent& agent, const nb::dict& config, api::PolicyStore* store) {
    const train::TrainerConfig c = trainer_config_of(config);
    nb::gil_scoped_release release;
    t_.emplace(api::TrainingComponents::create(env, agent, c, store));
  }
  api::TrainingComponents& t() {
    if (!t_) throw metta::Error("TrainingComponents: used after close()");
    return *t_;
  }
  void close() { t_.reset(); }
  bool closed() const { return !t_.has_value(); }

 private:
  std::optional<api::TrainingComponents> t_;
};

class TrainRunCore {
 public:
  TrainRunCore(const std::string& config, const std::vector<std::string>& overrides) {
    config::TrainJob job = config::load_train_job(config, overrides);
    run_dir_ = job.run_dir;
    auto lines = lines_;
    run_ = std::make_unique<train::Run>(config::run_spec(job, [lines](const std::string& l) { lines->push_back(l); }));
  }
  train::Run& run() {
    if (!run_) throw metta::Error("TrainRun: used after close()");
    return *run_;
  }
  std::vector<std::string> take_lines() { return std::exchange(*lines_, {}); }
  std::string close() {
    const train::RunEnd end = run().close();
    run_.reset();
    return end == train::RunEnd::kDone ? "done" : end == train::RunEnd::kOutOfTime ? "out_of_time" : "interrupted";
  }
  const std::string& run_dir() const { return run_dir_; }

 private:
  std::shared_ptr<std::vector<std::string>> lines_ = std::make_shared<std::vector<std::string>>();
  std::unique_ptr<train::Run> run_;
  std::string run_dir_;
};

}  // namespace

void bind_api(nb::module_& m) {
  m.def("trainer_config_defaults", [] { return dict_of(train::TrainerConfig{}); },
        "Every trainer key with its default (the field table's), as a nested dict.");
  m.def("teacher_config_defaults", [] { return dict_of(train::TeacherConfig{}); },
        "The keys of an item of kickstart.additional_teachers with their defaults.");
  m.def("trainer_config_checked", [](const nb::dict& d) { return dict_of(trainer_config_of(d)); }, "config"_a,
        "Reads a nested dict of trainer keys through the field table and validates it (ConfigError naming the "
        "field); returns every key as the trainer will use it.");
  m.def(
      "create_default_trainer_config",
      [](int num_workers, std::int64_t total_timesteps, std::int64_t batch_size, std::int64_t minibatch_size) {
        return dict_of(api::create_default_trainer_config(num_workers, total_timesteps, batch_size, minibatch_size));
      },
      "num_workers"_a = 1, "total_timesteps"_a = 10'000'000'000, "batch_size"_a = 524'288, "minibatch_size"_a = 16'384);
  m.def("calculate_anneal_beta", &api::calculate_anneal_beta, "epoch"_a, "total_timesteps"_a, "batch_size"_a,
        "prio_alpha"_a, "prio_beta0"_a, "The prioritized-replay beta of an epoch (trainer.md §7).");
  nb::dict types;
  types["TYPE_AGENT"] = api::TYPE_AGENT;
  types["TYPE_WALL"] = api::TYPE_WALL;
  types["TYPE_MINE_RED"] = api::TYPE_MINE_RED;
  types["TYPE_MINE_BLUE"] = api::TYPE_MINE_BLUE;
  types["TYPE_MINE_GREEN"] = api::TYPE_MINE_GREEN;
  types["TYPE_GENERATOR_RED"] = api::TYPE_GENERATOR_RED;
  types["TYPE_GENERATOR_BLUE"] = api::TYPE_GENERATOR_BLUE;
  types["TYPE_GENERATOR_GREEN"] = api::TYPE_GENERATOR_GREEN;
  types["TYPE_ALTAR"] = api::TYPE_ALTAR;
  types["TYPE_ARMORY"] = api::TYPE_ARMORY;
  types["TYPE_LASERY"] = api::TYPE_LASERY;
  types["TYPE_LAB"] = api::TYPE_LAB;
  types["TYPE_FACTORY"] = api::TYPE_FACTORY;
  types["TYPE_TEMPLE"] = api::TYPE_TEMPLE;
  types["TYPE_BLOCK"] = api::TYPE_BLOCK;
  m.attr("object_types") = types;

  nb::class_<api::Environment>(m, "EnvironmentCore", "api::Environment (use metta_cpp.api.Environment).")
      .def(nb::init<const std::string&, std::int64_t, int, std::int64_t, const std::string&, bool>(),
           "curriculum_path"_a = "/env/mettagrid/simple", "num_envs"_a = 64, "num_workers"_a = 1, "batch_size"_a = 0,
           "device"_a = "cpu", "zero_copy"_a = true)
      .def_prop_ro("num_envs", &api::Environment::num_envs)
      .def_prop_ro("num_agents", &api::Environment::num_agents)
      .def_prop_ro("device", &api::Environment::device)
      .def_prop_ro("curriculum_path", &api::Environment::curriculum_path)
      .def_prop_ro("num_tasks", [](const api::Environment& e) { return e.task_configs().size(); });

  nb::class_<api::Agent>(m, "AgentCore", "api::Agent (use metta_cpp.api.Agent).")
      .def(
          "__init__",
          [](api::Agent* self, const api::Environment& env, const std::string& preset, int hidden_dim, int lstm_layers,
             const std::string& device, std::uint64_t seed) {
            new (self) api::Agent(env, api::AgentConfig{preset, hidden_dim, lstm_layers}, device, seed);
          },
          "env"_a, "preset"_a = "api_default", "hidden_dim"_a = 0, "lstm_layers"_a = 0, "device"_a = "cpu", "seed"_a = 1)
      .def_prop_ro("preset", &api::Agent::preset)
      .def_prop_ro("device", &api::Agent::device)
      .def_prop_ro("num_params", &api::Agent::num_params)
      .def("weights", [](const api::Agent& a) { return array_copy(a.weights()); },
           "A copy of the current weights, flat in parameter order (the trained ones while training).")
      .def(
          "set_weights",
          [](api::Agent& a, nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu> w) {
            a.set_weights(std::vector<float>(w.data(), w.data() + w.shape(0)));
          },
          "weights"_a)
      .def("parameters", [](const api::Agent& a) {
        std::vector<std::pair<std::string, std::vector<std::int64_t>>> out;
        for (const nn::ParamInfo& p : a.table().all()) out.emplace_back(p.name, p.shape);
        return out;
      }, "(name, shape) of each parameter, in the order of weights().");

  nb::class_<api::PolicyStore>(m, "PolicyStoreCore", "checkpoint::PolicyStore (use metta_cpp.api.PolicyStore).")
      .def(nb::init<std::string, int>(), "checkpoint_dir"_a, "keep_last"_a = 5)
      .def_prop_ro("dir", &api::PolicyStore::dir)
      .def("latest", &api::PolicyStore::latest)
      .def_static("read_metadata", [](const std::string& path) { return metadata_dict(api::PolicyStore::read_metadata(path)); },
                  "path"_a);

  nb::class_<api::Advantages>(m, "Advantages", "The advantages of the last rollout (on the training device).");
  nb::class_<api::Loss>(m, "Loss", "A minibatch's loss statistics (on the training device).");
  nb::class_<train::Minibatch>(m, "Minibatch", "A sampled minibatch (rows and weights on the training device).")
      .def_prop_ro("segments", [](const train::Minibatch& mb) { return mb.segments; });

  using Release = nb::call_guard<nb::gil_scoped_release>;
  nb::class_<TrainingCore>(m, "TrainingCore", "api::TrainingComponents (use metta_cpp.api.TrainingComponents).")
      .def(nb::init<api::Environment&, api::Agent&, const nb::dict&, api::PolicyStore*>(), "vecenv"_a, "policy"_a,
           "trainer_config"_a, "policy_store"_a.none(), nb::keep_alive<1, 2>(), nb::keep_alive<1, 5>())
      .def_prop_rw("agent_step", [](TrainingCore& c) { return c.t().agent_step; },
                   [](TrainingCore& c, std::int64_t v) { c.t().agent_step = v; })
      .def_prop_ro("epoch", [](TrainingCore& c) { return c.t().epoch(); })
      .def_prop_ro("experience", [](TrainingCore& c) {
        const auto& e = c.t().experience;
        nb::dict d;
        d["num_minibatches"] = e.num_minibatches;
        d["segments"] = e.segments;
        d["minibatch_segments"] = e.minibatch_segments;
        d["bptt_horizon"] = e.bptt_horizon;
        d["batch_size"] = e.batch_size;
        return d;
      })
      .def_prop_ro("optimizer", [](TrainingCore& c) {
        nb::dict d;
        d["type"] = c.t().optimizer.type;
        d["learning_rate"] = c.t().optimizer.learning_rate;
        return d;
      })
      .def_prop_ro("kickstarter", [](TrainingCore& c) {
        nb::dict d;
        d["enabled"] = c.t().kickstarter.enabled;
        d["teacher_paths"] = nb::cast(c.t().kickstarter.teacher_paths);
        return d;
      })
      .def_prop_ro("timer", [](TrainingCore& c) {
        nb::dict d;
        d["rollout_seconds"] = c.t().timer.rollout_seconds;
        d["train_seconds"] = c.t().timer.train_seconds;
        return d;
      })
      .def_prop_ro("last_losses", [](TrainingCore& c) { return stats_dict(c.t().losses.last); })
      .def("reset_for_rollout", [](TrainingCore& c) { c.t().reset_for_rollout(); }, Release())
      .def("is_ready_for_training", [](TrainingCore& c) { return c.t().is_ready_for_training(); })
      .def("rollout_step",
           [](TrainingCore& c) {
             api::TrainingComponents& t = c.t();
             std::pair<std::int64_t, engine::CompletedEpisodes> r;
             {
               nb::gil_scoped_release release;
               r = t.rollout_step();
             }
             return std::make_pair(r.first, episodes_dict(r.second));
           })
      .def("accumulate_stats", [](TrainingCore& c, const nb::dict& infos) { c.t().accumulate_stats(episodes_of(infos)); },
           "infos"_a)
      .def("reset_training_state", [](TrainingCore& c) { c.t().reset_training_state(); }, Release())
      .def("compute_advantages", [](TrainingCore& c) { return c.t().compute_advantages(); }, Release())
      .def("sample_minibatch",
           [](TrainingCore& c, const api::Advantages& a, std::int64_t index, std::int64_t total, double beta, int update_epoch) {
             return c.t().sample_minibatch(a, index, total, beta, update_epoch);
           },
           "advantages"_a, "index"_a, "total_minibatches"_a, "anneal_beta"_a, "update_epoch"_a = 0, Release())
      .def("train_minibatch",
           [](TrainingCore& c, const train::Minibatch& mb, const api::Advantages& a) { return c.t().train_minibatch(mb, a); },
           "minibatch"_a, "advantages"_a, Release())
      .def("optimize_step", [](TrainingCore& c, const api::Loss& l, int n) { c.t().optimize_step(l, n); }, "loss"_a,
           "accumulate_steps"_a = 1, Release())
      .def("finish_epoch",
           [](TrainingCore& c) {
             api::TrainingComponents& t = c.t();
             train::EpochStats s;
             {
               nb::gil_scoped_release release;
               s = t.finish_epoch();
             }
             return stats_dict(s);
           })
      .def("stats", [](TrainingCore& c) { return c.t().stats(); })
      .def("curriculum_stats", [](TrainingCore& c) { return c.t().curriculum_stats(); })
      .def("load_curriculum_state", [](TrainingCore& c, const std::string& s) { c.t().load_curriculum_state(s); }, "state"_a)
      .def("config_json", [](TrainingCore& c) { return c.t().config_json(); })
      .def("close", &TrainingCore::close, Release())
      .def_prop_ro("closed", &TrainingCore::closed);

  m.def(
      "save_checkpoint",
      [](TrainingCore& c, api::PolicyStore& store, std::int64_t epoch, const std::map<std::string, std::string>& meta) {
        api::PolicyRecord r;
        {
          nb::gil_scoped_release release;
          r = api::save_checkpoint(c.t(), store, epoch, meta);
        }
        return record_of(r);
      },
      "training"_a, "policy_store"_a, "epoch"_a = -1, "metadata"_a = std::map<std::string, std::string>{});
  m.def(
      "load_checkpoint",
      [](api::PolicyStore& store, const std::string& path, api::Agent& agent) {
        return record_of(api::load_checkpoint(store, path, agent));
      },
      "policy_store"_a, "path"_a, "agent"_a);

  nb::class_<TrainRunCore>(m, "TrainRunCore", "train::Run of a metta train job (use metta_cpp.train).")
      .def(
          "__init__",
          [](TrainRunCore* self, const std::string& config, const std::vector<std::string>& overrides) {
            nb::gil_scoped_release release;
            new (self) TrainRunCore(config, overrides);
          },
          "config"_a, "overrides"_a)
      .def("finished", [](TrainRunCore& r) { return r.run().finished(); })
      .def(
          "run_epoch",
          [](TrainRunCore& r, bool stop) {
            train::Run& run = r.run();
            train::EpochStats s;
            {
              nb::gil_scoped_release release;
              s = run.run_epoch(stop);
            }
            return stats_dict(s);
          },
          "stop_requested"_a = false)
      .def("last_metrics", [](TrainRunCore& r) { return r.run().last_metrics(); })
      .def("take_lines", &TrainRunCore::take_lines, "The progress lines written since the last call.")
      .def("close", &TrainRunCore::close, Release(), "Saves the last epoch; 'done', 'out_of_time' or 'interrupted'.")
      .def_prop_ro("run_dir", &TrainRunCore::run_dir);
}

}  // namespace metta::python
