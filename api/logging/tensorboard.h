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
  explicit TensorBoardWriter(const std::string& log_dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  void add_scalars(std::int64_t step, const std::map<std::string, double>& values);
  const std::string& path() const { return path_; }

 private:
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

}  // namespace metta::logging
