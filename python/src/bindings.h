// The parts of the metta_cpp._core module, each bound in its own file and called from NB_MODULE
// (module.cpp): the batched env (module.cpp), the documented API and the training run (api_bindings.cpp).
#pragma once

#include <nanobind/nanobind.h>

namespace metta::python {

// metta_cpp.api's C++ side: configs as dicts read through the field tables, Environment, Agent,
// TrainingComponents, PolicyStore, checkpoints; and TrainRun, the run object of metta_cpp.train.
void bind_api(nanobind::module_& m);

}  // namespace metta::python
