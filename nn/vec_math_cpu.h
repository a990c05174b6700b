// Vectorised single-precision row kernels for the CPU backend: the exp-heavy elementwise steps of the
// policy (tanh rows, the LSTM cell forward and backward) written as plain loops over one row, compiled
// for AVX-512, AVX2 and baseline x86-64 and picked at load time by the CPU (GCC target_clones), with
// expf taken from glibc's vector math library so the loops vectorise. Elsewhere (another compiler, libc
// or architecture) the same loops are compiled once for the default target with scalar expf.
// Results are deterministic on a machine; they may differ in the last bits from the scalar formulas
// that the CUDA backend and the double-precision checks use (vector expf is accurate to ~4 ulp).
#pragma once

#include <cstdint>

namespace metta::nn::cpu {

// y[j] = tanh(y[j]) for j < n.
void tanh_inplace_f32(float* y, std::int64_t n);

// One row of the LSTM cell (the layout of lstm_cell_forward in ops.h): g holds the 4h gate
// pre-activations (i, f, g, o), replaced by the activated gates; c_out, h_out get the new state.
void lstm_cell_forward_row_f32(float* g, const float* b_ih, const float* b_hh, const float* c_prev, float* c_out,
                               float* h_out, int h);

// One row of lstm_cell_backward (ops.h); dc_next may be null.
void lstm_cell_backward_row_f32(const float* g, const float* c_prev, const float* c_out, const float* dh,
                                const float* dc_next, float* dg, float* dc_prev, int h);

}  // namespace metta::nn::cpu
