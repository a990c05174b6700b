// The safetensors file format (formats.md §2), written and read by hand: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}} padded
// with spaces to an 8-byte boundary, then the raw little-endian tensor bytes. Readable by Python's
// `safetensors`. The reader validates everything and throws CheckpointError naming the file and the
// problem; it never returns a partially read file. Files are written atomically.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/common.h"

namespace metta::checkpoint {

class CheckpointError : public metta::Error {
 public:
  using metta::Error::Error;
};

struct Tensor {
  std::string dtype;                 // "F32", "I32", "U8", "F64", ...
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;   // C order, little-endian
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, Tensor>> tensors;  // in data-buffer order
  const Tensor& at(const std::string& name) const;
  const Tensor* find(const std::string& name) const;  // nullptr when absent
};

std::string serialize_safetensors(const SafetensorsFile& file);
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& source);

std::size_t dtype_size(const std::string& dtype);  // 0 for an unknown dtype

// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename over the
// target, fsync of the folder. A crash leaves either the old file or the new one, never a mix.
void write_file_atomic(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

// FNV-1a 64 of bytes, as 16 hex digits (the checkpoint checksum).
std::string checksum_hex(const std::uint8_t* data, std::size_t n);
// The same checksum over every tensor's bytes in order (= checksum_hex of the data buffer): format
// version 1 of our files, which left the header unprotected.
std::string tensors_checksum(const SafetensorsFile& file);
// The checksum of format version 2: the whole content, header included — every metadata key and value
// but "checksum" itself, every tensor's name, dtype and shape, then the data buffer — so no byte of a
// file can change what it means without the check failing.
std::string file_checksum(const SafetensorsFile& file);

}  // namespace metta::checkpoint
