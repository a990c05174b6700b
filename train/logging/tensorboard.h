// TensorBoard event files written by hand (formats.md §3): a TFRecord container (length, masked CRC32C
// of the length, data, masked CRC32C of the data) of Event protobufs — a first Event carrying
// file_version "brain.Event:2", then one Event per step with a Summary of scalar values. Readable by
// TensorBoard's EventAccumulator. Also a reader of the same records, for tests.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace metta::logging {

std::uint32_t crc32c(const void* data, std::size_t n);
std::uint32_t masked_crc32c(const void* data, std::size_t n);

class TensorBoardWriter {
 public:
  // A new event file events.out.tfevents.<time>.<host> in log_dir.
  explicit TensorBoardWriter(const std::string& log_dir);
  // An event file at exactly `path` (appended to), for tests.
  static TensorBoardWriter at_path(const std::string& path);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  TensorBoardWriter(TensorBoardWriter&& o) noexcept : path_(std::move(o.path_)), file_(o.file_) { o.file_ = nullptr; }
  // One event; every write is checked and flushed (throws metta::Error naming the file on failure).
  void add_scalars(std::int64_t step, const std::map<std::string, double>& values);
  const std::string& path() const { return path_; }

 private:
  TensorBoardWriter() = default;
  void open(const std::string& path);
  void write_record(const std::string& data);
  std::string path_;
  std::FILE* file_ = nullptr;
};

struct ScalarEvent {
  double wall_time = 0;
  std::int64_t step = 0;
  std::string file_version;
  std::map<std::string, float> values;
};
// Parses an event file, checking every CRC; throws metta::Error on a bad record.
std::vector<ScalarEvent> read_event_file(const std::string& path);
// Keeps the events whose step is at most `max_step` (and drops a torn or damaged tail: a write cut short
// by a kill); the rewrite is atomic. Returns how many records were dropped. Used on resume, so that the
// steps after the resumed checkpoint are not recorded twice.
std::size_t truncate_event_file(const std::string& path, std::int64_t max_step);

}  // namespace metta::logging
