#include "train/checkpoint/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace metta::checkpoint {
namespace {
[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw CheckpointError(source + ": not a valid safetensors file: " + what);
}
}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

const Tensor& SafetensorsFile::at(const std::string& name) const {
  if (const Tensor* t = find(name)) return *t;
  throw CheckpointError("no tensor named '" + name + "'");
}

std::size_t dtype_size(const std::string& d) {
  if (d == "BOOL" || d == "U8" || d == "I8" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  if (d == "U16" || d == "I16" || d == "F16" || d == "BF16") return 2;
  if (d == "U32" || d == "I32" || d == "F32") return 4;
  if (d == "U64" || d == "I64" || d == "F64") return 8;
  return 0;
}

std::string serialize_safetensors(const SafetensorsFile& file) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::uint64_t offset = 0;
  for (auto& [name, t] : file.tensors) {
    METTA_CHECK(dtype_size(t.dtype) != 0, "tensor '" << name << "': unknown dtype '" << t.dtype << "'");
    std::uint64_t count = 1;
    for (auto d : t.shape) count *= static_cast<std::uint64_t>(d);
    METTA_CHECK(count * dtype_size(t.dtype) == t.bytes.size(),
                "tensor '" << name << "': " << t.bytes.size() << " bytes for shape of " << count << " elements");
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string json = header.dump();
  while ((8 + json.size()) % 8) json.push_back(' ');  // data buffer 8-byte aligned
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  out += json;
  out.reserve(out.size() + offset);
  for (auto& [name, t] : file.tensors) out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  return out;
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 8) bad(source, "shorter than the 8-byte header length (" + std::to_string(bytes.size()) + " bytes)");
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[i])) << (8 * i);
  if (n > 100'000'000) bad(source, "header length " + std::to_string(n) + " over 100 MB");
  if (n > bytes.size() - 8) bad(source, "header length " + std::to_string(n) + " past the end of the file (truncated?)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    bad(source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) bad(source, "header is not a JSON object");
  const std::uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  SafetensorsFile out;
  struct Range {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) bad(source, "__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) bad(source, "metadata '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const nlohmann::json& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      bad(source, "tensor '" + it.key() + "' lacks dtype, shape or data_offsets");
    Tensor t;
    t.dtype = e["dtype"].get<std::string>();
    const std::size_t es = dtype_size(t.dtype);
    if (es == 0) bad(source, "tensor '" + it.key() + "' has unknown dtype '" + t.dtype + "'");
    std::uint64_t count = 1;
    for (auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) bad(source, "tensor '" + it.key() + "' has a bad shape");
      const std::uint64_t v = d.get<std::uint64_t>();
      if (v != 0 && count > (~0ull) / v) bad(source, "tensor '" + it.key() + "' shape overflows");
      count *= v;
      t.shape.push_back(static_cast<std::int64_t>(v));
    }
    if (!e["data_offsets"][0].is_number_unsigned() || !e["data_offsets"][1].is_number_unsigned())
      bad(source, "tensor '" + it.key() + "' has bad data_offsets");
    const std::uint64_t b = e["data_offsets"][0].get<std::uint64_t>(), en = e["data_offsets"][1].get<std::uint64_t>();
    if (b > en || en > data_size) bad(source, "tensor '" + it.key() + "' data range outside the file (truncated?)");
    if (count > (~0ull) / es || en - b != count * es)
      bad(source, "tensor '" + it.key() + "' data range does not match its dtype and shape");
    t.bytes.assign(data + b, data + en);
    ranges.push_back({b, en, it.key()});
    out.tensors.push_back({it.key(), std::move(t)});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::uint64_t pos = 0;
  for (auto& r : ranges) {
    if (r.begin != pos) bad(source, "tensor data has a hole or an overlap at '" + r.name + "'");
    pos = r.end;
  }
  if (pos != data_size) bad(source, "tensor data does not cover the data buffer (" + std::to_string(data_size - pos) + " stray bytes)");
  // data-buffer order
  std::vector<std::pair<std::string, Tensor>> ordered;
  for (auto& r : ranges)
    for (auto& t : out.tensors)
      if (t.first == r.name) ordered.push_back(std::move(t));
  out.tensors = std::move(ordered);
  return out;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw CheckpointError(tmp + ": cannot create: " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw CheckpointError(tmp + ": write failed: " + why);
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw CheckpointError(tmp + ": fsync/close failed: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw CheckpointError(path + ": rename failed: " + std::strerror(errno));
  }
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  const int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {  // make the rename itself durable
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::uint64_t fnv1a(std::uint64_t h, const std::uint8_t* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  return h;
}
std::string hex64(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}
constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;
}  // namespace

std::string checksum_hex(const std::uint8_t* data, std::size_t n) { return hex64(fnv1a(kFnvOffset, data, n)); }

std::string tensors_checksum(const SafetensorsFile& file) {
  std::uint64_t h = kFnvOffset;
  for (auto& [name, t] : file.tensors) h = fnv1a(h, t.bytes.data(), t.bytes.size());
  return hex64(h);
}

std::string file_checksum(const SafetensorsFile& file) {
  std::uint64_t h = kFnvOffset;
  auto add = [&h](const std::string& s) {
    h = fnv1a(h, reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    const std::uint8_t end = 0;  // separator: "ab" + "c" differs from "a" + "bc"
    h = fnv1a(h, &end, 1);
  };
  for (auto& [key, value] : file.metadata) {
    if (key == "checksum") continue;
    add(key);
    add(value);
  }
  add("__tensors__");
  for (auto& [name, t] : file.tensors) {
    add(name);
    add(t.dtype);
    std::string shape;
    for (auto d : t.shape) shape += std::to_string(d) + ",";
    add(shape);
  }
  for (auto& [name, t] : file.tensors) h = fnv1a(h, t.bytes.data(), t.bytes.size());
  return hex64(h);
}

}  // namespace metta::checkpoint
