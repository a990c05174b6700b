// CUDA build of the engine launchers (grid-stride kernels).
#define METTA_BACKEND_NS cuda
#include "engine/env_impl.h"
