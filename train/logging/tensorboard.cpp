#include "train/logging/tensorboard.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "train/checkpoint/safetensors.h"
#include "kernels/common.h"

namespace metta::logging {
namespace {
// Castagnoli polynomial, reflected.
const std::uint32_t* crc_table() {
  static std::uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  return table;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
template <class T>
void put_fixed(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts (x86-64, aarch64)
  out.append(b, sizeof(T));
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_varint(out, static_cast<std::uint64_t>(field) << 3 | 2);
  put_varint(out, bytes.size());
  out += bytes;
}
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::uint64_t get_varint(const std::string& s, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    METTA_CHECK(pos < s.size(), "event protobuf: varint past the end");
    const std::uint8_t b = static_cast<std::uint8_t>(s[pos++]);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  METTA_FAIL("event protobuf: varint too long");
}
// A TFRecord: length, masked CRC of the length, data, masked CRC of the data.
std::string frame_record(const std::string& data) {
  std::string rec;
  const std::uint64_t len = data.size();
  put_fixed<std::uint64_t>(rec, len);
  put_fixed<std::uint32_t>(rec, masked_crc32c(rec.data(), 8));
  rec += data;
  put_fixed<std::uint32_t>(rec, masked_crc32c(data.data(), data.size()));
  return rec;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t n) {
  const std::uint32_t* t = crc_table();
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t masked_crc32c(const void* data, std::size_t n) {
  const std::uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  std::ostringstream name;
  name << log_dir << "/events.out.tfevents." << static_cast<long long>(now_seconds()) << "." << host;
  open(name.str());
}

TensorBoardWriter TensorBoardWriter::at_path(const std::string& path) {
  TensorBoardWriter w;
  w.open(path);
  return w;
}

void TensorBoardWriter::open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) METTA_FAIL(path_ << ": cannot create the TensorBoard event file: " << std::strerror(errno));
  std::string ev;
  put_varint(ev, 1 << 3 | 1);  // wall_time
  put_fixed<double>(ev, now_seconds());
  put_bytes(ev, 3, "brain.Event:2");
  write_record(ev);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::write_record(const std::string& data) {
  const std::string rec = frame_record(data);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size() || std::fflush(file_) != 0)
    METTA_FAIL(path_ << ": cannot write the TensorBoard event file: " << std::strerror(errno));
}

void TensorBoardWriter::add_scalars(std::int64_t step, const std::map<std::string, double>& values) {
  std::string summary;
  for (auto& [tag, v] : values) {
    std::string value;
    put_bytes(value, 1, tag);
    put_varint(value, 2 << 3 | 5);  // simple_value, 32-bit
    put_fixed<float>(value, static_cast<float>(v));
    put_bytes(summary, 1, value);
  }
  std::string ev;
  put_varint(ev, 1 << 3 | 1);
  put_fixed<double>(ev, now_seconds());
  put_varint(ev, 2 << 3 | 0);
  put_varint(ev, static_cast<std::uint64_t>(step));
  put_bytes(ev, 5, summary);
  write_record(ev);
}

namespace {
// The records of an event file, each CRC-checked. With `stop_at_damage`, a truncated or damaged record
// ends the list (a write cut short by a kill) instead of failing.
std::vector<std::string> read_records(const std::string& path, bool stop_at_damage) {
  std::ifstream in(path, std::ios::binary);
  METTA_CHECK(in, path << ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  std::vector<std::string> out;
  std::size_t pos = 0;
  auto damaged = [&](const std::string& why) {
    if (!stop_at_damage) METTA_FAIL(path << ": " << why << " at " << pos);
  };
  while (pos < s.size()) {
    if (pos + 12 > s.size()) {
      damaged("truncated record header");
      break;
    }
    std::uint64_t len;
    std::uint32_t lcrc;
    std::memcpy(&len, s.data() + pos, 8);
    std::memcpy(&lcrc, s.data() + pos + 8, 4);
    if (lcrc != masked_crc32c(s.data() + pos, 8)) {
      damaged("bad length CRC");
      break;
    }
    if (len > s.size() || pos + 12 + len + 4 > s.size()) {
      damaged("truncated record");
      break;
    }
    std::string data = s.substr(pos + 12, len);
    std::uint32_t dcrc;
    std::memcpy(&dcrc, s.data() + pos + 12 + len, 4);
    if (dcrc != masked_crc32c(data.data(), data.size())) {
      damaged("bad data CRC");
      break;
    }
    pos += 12 + len + 4;
    out.push_back(std::move(data));
  }
  return out;
}

ScalarEvent parse_event(const std::string& data, const std::string& path);
}  // namespace

std::vector<ScalarEvent> read_event_file(const std::string& path) {
  std::vector<ScalarEvent> out;
  for (const std::string& data : read_records(path, false)) out.push_back(parse_event(data, path));
  return out;
}

std::size_t truncate_event_file(const std::string& path, std::int64_t max_step) {
  const std::vector<std::string> records = read_records(path, true);
  std::string kept;
  std::size_t dropped = 0;
  for (const std::string& data : records) {
    ScalarEvent ev;
    try {
      ev = parse_event(data, path);
    } catch (const metta::Error&) {
      ++dropped;
      continue;
    }
    if (ev.step > max_step) {
      ++dropped;
      continue;
    }
    kept += frame_record(data);
  }
  checkpoint::write_file_atomic(path, kept);
  return dropped;
}

namespace {
ScalarEvent parse_event(const std::string& data, const std::string& path) {
  ScalarEvent ev;
    std::size_t p = 0;
    while (p < data.size()) {
      const std::uint64_t key = get_varint(data, p);
      const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
      if (field == 1 && wire == 1) {
        std::memcpy(&ev.wall_time, data.data() + p, 8);
        p += 8;
      } else if (field == 2 && wire == 0) {
        ev.step = static_cast<std::int64_t>(get_varint(data, p));
      } else if (wire == 2) {
        const std::uint64_t n = get_varint(data, p);
        const std::string sub = data.substr(p, n);
        p += n;
        if (field == 3) ev.file_version = sub;
        if (field == 5) {  // Summary: repeated Value {1: tag, 2: simple_value}
          std::size_t q = 0;
          while (q < sub.size()) {
            get_varint(sub, q);
            const std::uint64_t vn = get_varint(sub, q);
            const std::string val = sub.substr(q, vn);
            q += vn;
            std::size_t r = 0;
            std::string tag;
            float f = 0;
            while (r < val.size()) {
              const std::uint64_t k = get_varint(val, r);
              if ((k >> 3) == 1) {
                const std::uint64_t tn = get_varint(val, r);
                tag = val.substr(r, tn);
                r += tn;
              } else {
                std::memcpy(&f, val.data() + r, 4);
                r += 4;
              }
            }
            ev.values[tag] = f;
          }
        }
      } else {
        METTA_FAIL(path << ": unexpected protobuf field " << field << " wire type " << wire);
      }
    }
  return ev;
}
}  // namespace

}  // namespace metta::logging
