// metta_cpp._core: the nanobind module. VecEnvCore binds python/src/vec_env.h: its buffers go out once,
// from views(), as arrays over the engine's own memory (numpy on the CPU, DLPack on CUDA) whose owner is
// the VecEnvCore object, so a view keeps the memory alive however long it is held. step() releases the
// GIL. C++ errors arrive with their messages: engine::ConfigError as metta_cpp.ConfigError (a
// ValueError), other library errors as metta_cpp.Error (a RuntimeError).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <omp.h>

#include <sstream>
#include <stdexcept>

#include "engine/config.h"
#include "kernels/blas_setup.h"
#include "kernels/device.h"
#include "python/src/bindings.h"
#include "python/src/vec_env.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace metta::python {
namespace {

std::string dtype_name(const nb::dlpack::dtype& d) {
  const char* kind = d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Int)      ? "int"
                     : d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::UInt)   ? "uint"
                     : d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float)  ? "float"
                     : d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bool)   ? "bool"
                     : d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bfloat) ? "bfloat"
                                                                                            : "complex";
  if (d.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bool)) return kind;
  return kind + std::to_string(d.bits);
}

const char* device_type_name(int t) {
  return t == nb::device::cpu::value ? "cpu" : t == nb::device::cuda::value ? "cuda" : "another device";
}

nb::dict to_dict(const std::map<std::string, double>& m) {
  nb::dict d;
  for (const auto& [k, v] : m) d[k.c_str()] = v;
  return d;
}

// A view of `count`-shaped device memory owned by `owner`: numpy on the CPU, a DLPack-capable
// nanobind ndarray on CUDA (torch.from_dlpack aliases it).
template <class T>
nb::object view_of(T* data, std::initializer_list<std::size_t> shape, nb::handle owner, bool cuda,
                   nb::dlpack::dtype dtype = nb::dtype<T>()) {
  if (!cuda) {
    nb::ndarray<nb::numpy> a(data, shape, owner, {}, dtype, nb::device::cpu::value);
    return nb::cast(a, nb::rv_policy::reference);
  }
  nb::ndarray<> a(data, shape, owner, {}, dtype, nb::device::cuda::value, 0);
  return nb::cast(a, nb::rv_policy::reference);
}

class VecEnvCore {
 public:
  VecEnvCore(const std::string& source, std::int64_t num_envs, const std::string& device, std::uint64_t seed,
             std::optional<int> threads, std::uintptr_t stream, bool track_stat_updates, std::int64_t env_index) {
    VecEnvOptions o;
    o.device = device;
    o.seed = seed;
    if (threads) {
      if (*threads < 1) throw nb::value_error(("threads: got " + std::to_string(*threads) +
                                               ", expected None (OpenMP's default) or a count >= 1").c_str());
      o.threads = *threads;
    }
    o.stream = reinterpret_cast<void*>(stream);
    o.track_stat_updates = track_stat_updates;
    o.env_index = env_index;
    if (device == "cuda" && !kernels::cuda_compiled())
      throw nb::value_error("device='cuda': this build of metta_cpp has no CUDA backend (built without nvcc); "
                            "use device='cpu'");
    if (device == "cuda" && kernels::cuda_device_count() == 0)
      throw nb::value_error(("device='cuda': no usable GPU (" + kernels::cuda_unavailable_reason() +
                             "); use device='cpu'").c_str());
    if (device != "cpu" && device != "cuda")
      throw nb::value_error(("device: got '" + device + "', expected 'cpu' or 'cuda'").c_str());
    env_ = std::make_unique<VecEnv>(source, num_envs, o);
  }

  VecEnv& env() { return *env_; }
  bool cuda() const { return env_->device() == "cuda"; }

  nb::dict views(nb::handle self) {
    engine::BatchedEnv& e = env_->env();
    const auto n = static_cast<std::size_t>(e.total_agents());
    const auto t = static_cast<std::size_t>(e.num_tokens());
    const bool c = cuda();
    nb::dict d;
    d["observations"] = view_of(const_cast<std::uint8_t*>(e.observations()), {n, t, 3}, self, c);
    d["rewards"] = view_of(const_cast<float*>(e.rewards()), {n}, self, c);
    // the engine's 0/1 bytes, seen as bool (one byte each)
    d["terminals"] = view_of(const_cast<std::uint8_t*>(e.terminals()), {n}, self, c, nb::dtype<bool>());
    d["truncations"] = view_of(const_cast<std::uint8_t*>(e.truncations()), {n}, self, c, nb::dtype<bool>());
    d["masks"] = view_of(env_->masks(), {n}, self, c, nb::dtype<bool>());
    d["actions"] = view_of(e.actions(), {n, 2}, self, c);
    d["action_success"] = view_of(const_cast<std::uint8_t*>(e.action_success()), {n}, self, c, nb::dtype<bool>());
    return d;
  }

  // Checks what the caller passed and steps; actions=None steps with the actions view as it is. True when
  // some episode ended at this step (a scan of the host's flags, cheaper here than numpy's two any()
  // calls; always false on CUDA, where it would read the device each step).
  bool step(std::optional<nb::ndarray<nb::ro>> actions) {
    engine::BatchedEnv& e = env_->env();
    if (!actions) {
      nb::gil_scoped_release release;
      env_->step();
      return ended();
    }
    const nb::ndarray<nb::ro>& a = *actions;
    const std::int64_t n = e.total_agents();
    if (a.dtype() != nb::dtype<std::int32_t>())
      throw nb::type_error(("actions: got dtype " + dtype_name(a.dtype()) + ", expected int32 [" +
                            std::to_string(n) + ", 2] (action type, argument)").c_str());
    if (a.ndim() != 2 || static_cast<std::int64_t>(a.shape(0)) != n || a.shape(1) != 2) {
      std::ostringstream shape;
      shape << "(";
      for (std::size_t i = 0; i < a.ndim(); ++i) shape << (i ? ", " : "") << a.shape(i);
      shape << (a.ndim() == 1 ? ",)" : ")");
      throw nb::value_error(("actions: got shape " + shape.str() + ", expected (" + std::to_string(n) +
                             ", 2): one (type, argument) row per agent of the batch").c_str());
    }
    const auto* data = static_cast<const std::int32_t*>(a.data());
    if (a.device_type() == nb::device::cpu::value) {
      if (data == e.actions()) {  // the actions view itself: nothing to copy or check
        nb::gil_scoped_release release;
        env_->step();
        return ended();
      }
      const std::int64_t rs = a.stride(0), cs = a.stride(1);
      nb::gil_scoped_release release;
      try {
        env_->set_actions(data, rs, cs);
      } catch (const std::out_of_range& err) {
        nb::gil_scoped_acquire acquire;
        throw nb::value_error(err.what());
      }
      env_->step();
      return ended();
    }
    if (a.device_type() != nb::device::cuda::value || !cuda())
      throw nb::type_error((std::string("actions: got an array on ") + device_type_name(a.device_type()) +
                            ", expected one on the CPU" + (cuda() ? " or on the env's GPU" : "") +
                            " (this VecEnv runs on " + env_->device() + ")").c_str());
    if (a.stride(1) != 1 || a.stride(0) != 2)
      throw nb::value_error("actions: a CUDA array must be contiguous [agents, 2] int32 (it is read in place); "
                            "call .contiguous() first");
    // Read in place on the env's stream; out-of-range values are the game's invalid actions here
    // (checking them would need a device readout per step).
    nb::gil_scoped_release release;
    env_->step(data);
    return false;
  }

  bool ended() {
    if (cuda()) return false;  // the flags are device memory
    const engine::BatchedEnv& e = env_->env();
    const std::int64_t n = e.total_agents();
    const std::uint8_t *t = e.terminals(), *u = e.truncations();
    std::uint8_t any = 0;
    for (std::int64_t i = 0; i < n; ++i) any |= static_cast<std::uint8_t>(t[i] | u[i]);
    return any != 0;
  }

 private:
  std::unique_ptr<VecEnv> env_;
};

nb::dict report_dict(const EpisodeReport& r) {
  nb::dict d;
  d["episodes"] = r.episodes.episodes;
  d["mean_reward"] = r.episodes.mean_reward;
  d["mean_length"] = r.episodes.mean_length;
  d["agent"] = to_dict(r.episodes.agent);
  d["game"] = to_dict(r.episodes.game);
  d["converter"] = to_dict(r.episodes.converter);
  if (!r.curriculum.empty()) d["curriculum"] = to_dict(r.curriculum);
  return d;
}

nb::dict build_info() {
  nb::dict d;
  d["version"] = METTA_CPP_VERSION;
  nb::list backends;
  backends.append("cpu");
  if (kernels::cuda_compiled()) backends.append("cuda");
  d["backends"] = backends;
  d["cuda_compiled"] = kernels::cuda_compiled();
  d["cuda_devices"] = kernels::cuda_device_count();
  d["cuda_unavailable_reason"] = kernels::cuda_unavailable_reason();
#ifdef METTA_WITH_CUDNN
  d["cudnn"] = true;
#else
  d["cudnn"] = false;
#endif
#ifdef METTA_WITH_MPI
  d["mpi"] = true;
#else
  d["mpi"] = false;
#endif
  d["openmp_max_threads"] = omp_get_max_threads();
  d["openmp_version"] = _OPENMP;
  d["blas"] = "OpenBLAS " + kernels::blas_core_name();
  d["compiler"] = __VERSION__;
  d["nanobind"] = std::to_string(NB_VERSION_MAJOR) + "." + std::to_string(NB_VERSION_MINOR) + "." +
                  std::to_string(NB_VERSION_PATCH);
  return d;
}

}  // namespace
}  // namespace metta::python

NB_MODULE(_core, m) {
  using metta::python::VecEnvCore;
  m.doc() = "metta-cpp's engine: batched MettaGrid environments over zero-copy views (see metta_cpp)";

  static nb::object error = nb::steal(PyErr_NewExceptionWithDoc(
      "metta_cpp.Error", "An error of the metta-cpp library (its C++ message, unchanged).", PyExc_RuntimeError, nullptr));
  static nb::object config_error = nb::steal(PyErr_NewExceptionWithDoc(
      "metta_cpp.ConfigError", "A bad config value: the message names the field, the value and what was expected "
      "(and file:line for YAML).", PyExc_ValueError, nullptr));
  m.attr("Error") = error;
  m.attr("ConfigError") = config_error;
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const metta::engine::ConfigError& e) {
      PyErr_SetString(config_error.ptr(), e.what());
    } catch (const metta::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });

  metta::python::bind_api(m);

  m.def("build_info", &metta::python::build_info,
        "What this build has: version, backends, CUDA devices (and why none), cuDNN, MPI, OpenMP threads, BLAS, "
        "compiler, nanobind.");

  nb::class_<VecEnvCore>(m, "VecEnvCore",
                         "The engine's batch; metta_cpp.VecEnv wraps it (use that). Views from views() alias the "
                         "engine's memory and keep this object alive.")
      .def(nb::init<const std::string&, std::int64_t, const std::string&, std::uint64_t, std::optional<int>,
                    std::uintptr_t, bool, std::int64_t>(),
           "source"_a, "num_envs"_a, "device"_a = "cpu", "seed"_a = 0, "threads"_a = nb::none(), "stream"_a = 0,
           "track_stat_updates"_a = false, "env_index"_a = 0)
      .def("views", [](nb::handle self) { return nb::cast<VecEnvCore&>(self).views(self); },
           "The buffers as arrays over the engine's memory: observations uint8 [agents, tokens, 3], rewards "
           "float32 [agents], terminals, truncations, masks, action_success bool [agents], actions int32 "
           "[agents, 2]. Call once and keep them: every step rewrites them in place.")
      .def("reset", [](VecEnvCore& v, std::optional<std::uint64_t> seed) { v.env().reset(seed); }, "seed"_a = nb::none())
      .def("step", &VecEnvCore::step, "actions"_a = nb::none(),
           "Steps every env (releases the GIL). actions: int32 [agents, 2] from numpy or torch (any strides on the "
           "CPU; contiguous on the env's GPU, read in place), or None for the actions view as it is. Returns "
           "whether some episode ended at this step (always False on CUDA).")
      .def("completed_episodes", [](VecEnvCore& v) { return metta::python::report_dict(v.env().completed_episodes()); },
           "Episodes completed since the last call (count, mean reward and length, per-key means of the agent, game "
           "and converter stats) and, with a curriculum, its stats after it heard of them (clears).")
      .def("close", [](VecEnvCore& v) { v.env().close(); })
      .def_prop_ro("closed", [](VecEnvCore& v) { return v.env().closed(); })
      .def("buffer_addresses",
           [](VecEnvCore& v) {
             metta::engine::BatchedEnv& e = v.env().env();
             nb::dict d;
             d["observations"] = reinterpret_cast<std::uintptr_t>(e.observations());
             d["rewards"] = reinterpret_cast<std::uintptr_t>(e.rewards());
             d["terminals"] = reinterpret_cast<std::uintptr_t>(e.terminals());
             d["truncations"] = reinterpret_cast<std::uintptr_t>(e.truncations());
             d["actions"] = reinterpret_cast<std::uintptr_t>(e.actions());
             d["masks"] = reinterpret_cast<std::uintptr_t>(v.env().masks());
             return d;
           },
           "The engine's own buffer addresses (device pointers on CUDA): the views' data pointers equal them.")
      .def("state_hash", [](VecEnvCore& v, std::int64_t env) { return v.env().env().state_hash(env); }, "env"_a = -1)
      .def_prop_ro("num_envs", [](VecEnvCore& v) { return v.env().env().num_envs(); })
      .def_prop_ro("agents_per_env", [](VecEnvCore& v) { return v.env().env().num_agents(); })
      .def_prop_ro("total_agents", [](VecEnvCore& v) { return v.env().env().total_agents(); })
      .def_prop_ro("num_tokens", [](VecEnvCore& v) { return v.env().env().num_tokens(); })
      .def_prop_ro("num_tasks", [](VecEnvCore& v) { return v.env().env().num_tasks(); })
      .def_prop_ro("seed", [](VecEnvCore& v) { return v.env().env().seed(); })
      .def_prop_ro("device", [](VecEnvCore& v) { return v.env().device(); })
      .def_prop_ro("source", [](VecEnvCore& v) { return v.env().source(); })
      .def_prop_ro("has_curriculum", [](VecEnvCore& v) { return v.env().has_curriculum(); })
      .def_prop_ro("action_names", [](VecEnvCore& v) { return v.env().env().action_names(); })
      .def_prop_ro("action_max_args", [](VecEnvCore& v) { return v.env().env().action_max_args(); })
      .def_prop_ro("max_action_arg", [](VecEnvCore& v) { return v.env().max_action_arg(); })
      .def_prop_ro("object_type_names", [](VecEnvCore& v) { return v.env().env().object_type_names(); })
      .def_prop_ro("inventory_item_names", [](VecEnvCore& v) { return v.env().env().inventory_item_names(); })
      .def_prop_ro("feature_normalizations", [](VecEnvCore& v) { return v.env().env().feature_normalizations(); })
      .def_prop_ro("map_height", [](VecEnvCore& v) { return v.env().env().height(); })
      .def_prop_ro("map_width", [](VecEnvCore& v) { return v.env().env().width(); })
      .def_prop_ro("max_steps", [](VecEnvCore& v) { return v.env().env().compiled().params.max_steps; });
}
