// The LSTM cell's arithmetic for one hidden unit j of one row (torch's gate order i, f, g, o), shared by
// the generic launchers of nn/ops_impl.h (float and double, CPU and CUDA) and the vectorised CPU float
// rows of nn/vec_math_cpu.cpp, which pass their own sigmoid and tanh.
#pragma once

#include "kernels/common.h"

namespace metta::nn {

// g: the row's 4h gate pre-activations, replaced by the activated gates; c_out, h_out: the new state.
template <class T, class Sigmoid, class Tanh>
METTA_HD inline void lstm_cell_unit_forward(T* g, const T* b_ih, const T* b_hh, int h, int j, T c_prev, T& c_out,
                                            T& h_out, Sigmoid sigmoid_fn, Tanh tanh_fn) {
  const T i = sigmoid_fn(g[j] + b_ih[j] + b_hh[j]);
  const T f = sigmoid_fn(g[h + j] + b_ih[h + j] + b_hh[h + j]);
  const T gg = tanh_fn(g[2 * h + j] + b_ih[2 * h + j] + b_hh[2 * h + j]);
  const T o = sigmoid_fn(g[3 * h + j] + b_ih[3 * h + j] + b_hh[3 * h + j]);
  g[j] = i;
  g[h + j] = f;
  g[2 * h + j] = gg;
  g[3 * h + j] = o;
  const T c = f * c_prev + i * gg;
  c_out = c;
  h_out = o * tanh_fn(c);
}

// g: the activated gates; dc_next: the cell gradient from step t+1 (0 at the last step); dg: the row's
// 4h gate gradients; dc_prev: the cell gradient passed to step t-1.
template <class T, class Tanh>
METTA_HD inline void lstm_cell_unit_backward(const T* g, int h, int j, T c_prev, T c_out, T dh, T dc_next, T* dg,
                                             T& dc_prev, Tanh tanh_fn) {
  const T i = g[j], f = g[h + j], gg = g[2 * h + j], o = g[3 * h + j];
  const T tc = tanh_fn(c_out);
  const T dc = dh * o * (T(1) - tc * tc) + dc_next;
  dg[j] = dc * gg * i * (T(1) - i);
  dg[h + j] = dc * c_prev * f * (T(1) - f);
  dg[2 * h + j] = dc * i * (T(1) - gg * gg);
  dg[3 * h + j] = dh * tc * o * (T(1) - o);
  dc_prev = dc * f;
}

}  // namespace metta::nn
