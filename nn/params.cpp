#include "nn/params.h"

#include <cmath>

#include "kernels/common.h"
#include "kernels/rng.h"

namespace metta::nn {

std::int64_t ParamTable::add(const std::string& name, std::vector<std::int64_t> shape) {
  METTA_CHECK(!name.empty(), "parameter without a name");
  for (auto& p : params_) METTA_CHECK(p.name != name, "parameter '" << name << "' added twice");
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  params_.push_back({name, std::move(shape), total_, count});
  total_ += count;
  return params_.back().offset;
}

const ParamInfo& ParamTable::at(const std::string& name) const {
  for (auto& p : params_)
    if (p.name == name) return p;
  METTA_FAIL("no parameter named '" << name << "'");
}

namespace {
// Standard normal from two counter-RNG words (Box-Muller).
double normal(std::uint64_t seed, std::uint32_t stream, std::uint64_t i) {
  const kernels::U32x4 r = kernels::rng_draw(seed, stream, static_cast<std::uint32_t>(i),
                                             static_cast<std::uint32_t>(i >> 32), kernels::RngPurpose::kInit, 0);
  const double u1 = (static_cast<double>(r.v[0]) + 1.0) / 4294967296.0;  // (0, 1]
  const double u2 = static_cast<double>(r.v[1]) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}
}  // namespace

void init_orthogonal(double* w, std::int64_t rows, std::int64_t cols, double gain, std::uint64_t seed,
                     std::uint32_t stream) {
  // Orthonormalize the shorter dimension's vectors (each of length `len`).
  const bool by_rows = rows <= cols;
  const std::int64_t count = by_rows ? rows : cols, len = by_rows ? cols : rows;
  std::vector<double> q(static_cast<std::size_t>(count * len));
  for (std::int64_t i = 0; i < count * len; ++i) q[i] = normal(seed, stream, static_cast<std::uint64_t>(i));
  for (std::int64_t a = 0; a < count; ++a) {
    double* va = &q[a * len];
    for (std::int64_t b = 0; b < a; ++b) {  // modified Gram-Schmidt
      const double* vb = &q[b * len];
      double d = 0;
      for (std::int64_t k = 0; k < len; ++k) d += va[k] * vb[k];
      for (std::int64_t k = 0; k < len; ++k) va[k] -= d * vb[k];
    }
    double norm = 0;
    for (std::int64_t k = 0; k < len; ++k) norm += va[k] * va[k];
    norm = std::sqrt(norm);
    METTA_CHECK(norm > 1e-12, "orthogonal init: degenerate random matrix");
    for (std::int64_t k = 0; k < len; ++k) va[k] /= norm;
  }
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) w[r * cols + c] = gain * (by_rows ? q[r * len + c] : q[c * len + r]);
}

void init_uniform(double* w, std::int64_t n, double bound, std::uint64_t seed, std::uint32_t stream) {
  for (std::int64_t i = 0; i < n; ++i) {
    const kernels::U32x4 r = kernels::rng_draw(seed, stream, static_cast<std::uint32_t>(i), 0xFFFFFFFFu,
                                               kernels::RngPurpose::kInit, 0);
    w[i] = bound * (2.0 * (static_cast<double>(r.v[0]) / 4294967296.0) - 1.0);
  }
}

}  // namespace metta::nn
