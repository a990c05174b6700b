// The policy's parameters as one flat buffer: a table of named tensors (torch names and shapes, so the
// safetensors export is a copy) with their offsets, and the reference's initialization (trainer.md §3):
// orthogonal weights (gain sqrt(2) before Tanh, else 1), zero biases, LSTM biases 1, the action embedding
// orthogonal then scaled to max |w| = 0.1, the bilinear head uniform(+-1/sqrt(in)). Initialization is
// done on the host in double from the counter RNG, so it is the same on both backends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace metta::nn {

struct ParamInfo {
  std::string name;
  std::vector<std::int64_t> shape;
  std::int64_t offset = 0, count = 0;
};

class ParamTable {
 public:
  std::int64_t add(const std::string& name, std::vector<std::int64_t> shape);
  const ParamInfo& at(const std::string& name) const;
  const std::vector<ParamInfo>& all() const { return params_; }
  std::int64_t total() const { return total_; }

 private:
  std::vector<ParamInfo> params_;
  std::int64_t total_ = 0;
};

// Fills rows x cols (row-major) with an orthogonal matrix times gain: orthonormal rows when rows <= cols,
// orthonormal columns otherwise (Gram-Schmidt of a Gaussian matrix; signs as QR with positive diag(R)).
void init_orthogonal(double* w, std::int64_t rows, std::int64_t cols, double gain, std::uint64_t seed,
                     std::uint32_t stream);
void init_uniform(double* w, std::int64_t n, double bound, std::uint64_t seed, std::uint32_t stream);

}  // namespace metta::nn
