// CPU build of the engine launchers (OpenMP).
#define METTA_BACKEND_NS cpu
#include "engine/env_impl.h"
