// Checkpoints: safetensors round trips, the policy store (atomic writes, keep-last, latest valid file),
// every documented error (truncated, bit-flipped, wrong version, wrong shapes, garbage), a process
// killed mid-save leaving the previous file loadable, and a seeded mutation fuzz of the parser.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "kernels/log.h"
#include "train/checkpoint/policy_store.h"

using namespace metta;
using namespace metta::checkpoint;
namespace fs = std::filesystem;

namespace {
const std::vector<int> kMaxArgs = {0, 1, 3, 0, 0, 9, 0, 0, 3};
const kernels::Context kCpu = kernels::Context::cpu(1);

nn::Policy<float> make_policy(const std::string& preset, std::uint64_t seed) {
  return nn::Policy<float>(kCpu, nn::PolicyArch::by_name(preset, 22), nn::ActionSpace(kMaxArgs),
                           std::vector<float>(22, 1.0f), seed, 2, 1);
}

std::string fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("metta_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d.string();
}

template <class F>
void expect_checkpoint_error(F f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

PolicyMetadata meta(std::int64_t epoch) {
  PolicyMetadata m;
  m.agent_step = epoch * 1000;
  m.epoch = epoch;
  m.generation = 2;
  m.train_time = 12.5;
  m.action_names = {"noop", "move"};
  m.feature_mapping = {{"type_id", 0}, {"inv:heart", 18}};
  m.config_json = R"({"lr": 0.002})";
  return m;
}
}  // namespace

TEST(Safetensors, RoundTripAndLayout) {
  SafetensorsFile f;
  f.metadata["k"] = "v";
  f.tensors.push_back({"a", Tensor{"F32", {2, 3}, std::vector<std::uint8_t>(24, 7)}});
  f.tensors.push_back({"b", Tensor{"I32", {}, std::vector<std::uint8_t>(4, 1)}});
  f.tensors.push_back({"empty", Tensor{"U8", {0, 5}, {}}});
  const std::string bytes = serialize_safetensors(f);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);       // data buffer aligned
  EXPECT_EQ(bytes[8], '{');
  const SafetensorsFile g = parse_safetensors(bytes, "mem");
  EXPECT_EQ(g.metadata.at("k"), "v");
  EXPECT_EQ(g.at("a").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(g.at("a").bytes, f.tensors[0].second.bytes);
  EXPECT_EQ(g.at("b").shape.size(), 0u);
  EXPECT_EQ(g.at("empty").bytes.size(), 0u);
}

TEST(Safetensors, RejectsMalformedFiles) {
  SafetensorsFile f;
  f.tensors.push_back({"a", Tensor{"F32", {4}, std::vector<std::uint8_t>(16, 1)}});
  const std::string good = serialize_safetensors(f);
  expect_checkpoint_error([&] { parse_safetensors(good.substr(0, 5), "x"); }, "shorter than");
  expect_checkpoint_error([&] { parse_safetensors(good.substr(0, good.size() - 4), "x"); }, "outside the file");
  expect_checkpoint_error([&] { parse_safetensors(good + "zz", "x"); }, "stray bytes");
  std::string huge = good;
  huge[7] = 0x7f;
  expect_checkpoint_error([&] { parse_safetensors(huge, "x"); }, "over 100 MB");
  std::string json = good;
  json[8] = '[';
  expect_checkpoint_error([&] { parse_safetensors(json, "x"); }, "x: not a valid safetensors file");
}

TEST(PolicyStore, RoundTripWeightsAndMetadata) {
  PolicyStore store(fresh_dir("rt"));
  nn::Policy<float> a = make_policy("small", 1), b = make_policy("small", 2);
  const std::string path = store.save(a, meta(3));
  EXPECT_EQ(fs::path(path).filename().string(), "model_0003.safetensors");
  const PolicyMetadata m = store.load(path, b);
  EXPECT_EQ(std::vector<float>(a.params(), a.params() + a.num_params()),
            std::vector<float>(b.params(), b.params() + b.num_params()));
  EXPECT_EQ(m.agent_step, 3000);
  EXPECT_EQ(m.generation, 2);
  EXPECT_EQ(m.agent, "small");
  EXPECT_EQ(m.action_names, (std::vector<std::string>{"noop", "move"}));
  EXPECT_EQ(m.feature_mapping.at("inv:heart"), 18);
  EXPECT_EQ(m.config_json, R"({"lr": 0.002})");
  fs::remove_all(store.dir());
}

TEST(PolicyStore, KeepsTheNewestFilesAndPicksTheLatestValidOne) {
  PolicyStore store(fresh_dir("keep"), 3);
  nn::Policy<float> p = make_policy("small", 1);
  for (int e = 1; e <= 6; ++e) store.save(p, meta(e));
  int models = 0;
  for (auto& f : fs::directory_iterator(store.dir())) models += f.path().extension() == ".safetensors";
  EXPECT_EQ(models, 3);
  EXPECT_EQ(fs::path(store.latest()).filename().string(), "model_0006.safetensors");
  // corrupt the newest: latest() falls back to the previous valid file
  std::string bytes = read_file(store.latest());
  bytes[bytes.size() - 3] ^= 0x40;
  write_file_atomic(store.dir() + "/model_0006.safetensors", bytes);
  // the skipped file is reported through the log callback, never printed by the library
  std::vector<std::string> messages;
  LogCallback previous = set_log_callback([&](LogLevel level, const std::string& m) {
    if (level == LogLevel::kWarning) messages.push_back(m);
  });
  EXPECT_EQ(fs::path(store.latest()).filename().string(), "model_0005.safetensors");
  set_log_callback(previous);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("policy store: skipping"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("model_0006.safetensors"), std::string::npos) << messages[0];
  fs::remove_all(store.dir());
}

TEST(PolicyStore, UrisResolveToOneModelFile) {
  PolicyStore store(fresh_dir("uri"), 5);
  nn::Policy<float> p = make_policy("small", 1);
  const double scores[] = {0.5, 0.9, 0.2};  // epochs 1..3
  std::vector<std::string> paths;
  for (int e = 1; e <= 3; ++e) {
    PolicyMetadata m = meta(e);
    m.user["score"] = std::to_string(scores[e - 1]);
    paths.push_back(store.save(p, m));
  }
  EXPECT_EQ(PolicyStore::resolve_uri(paths[0]), paths[0]);
  EXPECT_EQ(PolicyStore::resolve_uri("file://" + paths[1], "specific"), paths[1]);
  EXPECT_EQ(PolicyStore::resolve_uri(store.dir(), "latest"), paths[2]);
  EXPECT_EQ(PolicyStore::resolve_uri("file://" + store.dir(), "top", "epoch"), paths[2]);
  EXPECT_EQ(PolicyStore::resolve_uri(store.dir(), "top", "score"), paths[1]);
  EXPECT_EQ(PolicyStore::resolve_uri(store.dir(), "top", "agent_step"), paths[2]);
  expect_checkpoint_error([&] { PolicyStore::resolve_uri(store.dir(), "top", "win_rate"); },
                          "no valid model in the folder has the metric 'win_rate'");
  expect_checkpoint_error([&] { PolicyStore::resolve_uri(store.dir(), "specific"); }, "needs a file");
  expect_checkpoint_error([&] { PolicyStore::resolve_uri(store.dir() + "/nope.safetensors"); }, "no such file or folder");
  expect_checkpoint_error([&] { PolicyStore::resolve_uri("wandb://run/abc"); }, "only file paths and file:// URIs");
  const std::string empty = fresh_dir("uri_empty");
  fs::create_directories(empty);
  expect_checkpoint_error([&] { PolicyStore::resolve_uri(empty, "latest"); }, "holds no valid model");
  fs::remove_all(empty);
  fs::remove_all(store.dir());
}

TEST(PolicyStore, DocumentedErrors) {
  PolicyStore store(fresh_dir("err"));
  nn::Policy<float> p = make_policy("small", 1);
  const std::string path = store.save(p, meta(1));
  const std::string good = read_file(path);
  const std::string bad = store.dir() + "/bad.safetensors";
  write_file_atomic(bad, good.substr(0, good.size() / 2));
  expect_checkpoint_error([&] { store.load(bad, p); }, "truncated");
  std::string flipped = good;
  flipped[good.size() - 100] ^= 0x01;
  write_file_atomic(bad, flipped);
  expect_checkpoint_error([&] { store.load(bad, p); }, "checksum mismatch");
  std::string version = good;
  const auto pos = version.find("\"format_version\":\"2\"");
  ASSERT_NE(pos, std::string::npos);
  version[pos + 18] = '7';
  write_file_atomic(bad, version);
  expect_checkpoint_error([&] { store.load(bad, p); }, "format version 7");
  nn::Policy<float> other = make_policy("fast", 1);
  expect_checkpoint_error([&] { store.load(path, other); }, "21 tensors (saved from agent 'small'), this policy has 25");
  expect_checkpoint_error([&] { store.load(store.dir() + "/missing.safetensors", p); }, "cannot open");
  fs::remove_all(store.dir());
}

TEST(PolicyStore, KillDuringSaveLeavesThePreviousFileLoadable) {
  PolicyStore store(fresh_dir("kill"));
  nn::Policy<float> p = make_policy("api_default", 1);  // 25 MB: saves take long enough to be interrupted
  const std::string path = store.save(p, meta(1));
  const std::string before = read_file(path);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      nn::Policy<float> q = make_policy("api_default", 2);
      for (;;) store.save(q, meta(1));  // overwrite the same epoch until killed
    }
    usleep(static_cast<useconds_t>(150000 + 100000 * attempt));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    nn::Policy<float> r = make_policy("api_default", 3);
    EXPECT_NO_THROW(store.load(path, r)) << "attempt " << attempt;  // old or new, never torn
  }
  (void)before;
  fs::remove_all(store.dir());
}

TEST(Safetensors, SeededMutationFuzzNeverCrashes) {
  PolicyStore store(fresh_dir("fuzz"));
  nn::Policy<float> p = make_policy("small", 1);
  const std::string good = read_file(store.save(p, meta(1)));
  std::mt19937 rng(12345);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = good;
    switch (rng() % 4) {
      case 0: m.resize(rng() % m.size()); break;                                  // truncate
      case 1: for (int k = 0; k < 4; ++k) m[rng() % 200] = static_cast<char>(rng()); break;  // header bytes
      case 2: m[rng() % m.size()] ^= static_cast<char>(1 << (rng() % 8)); break;   // one bit anywhere
      default: m.insert(rng() % m.size(), std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
    }
    try {
      parse_safetensors(m, "fuzz");
    } catch (const CheckpointError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
  fs::remove_all(store.dir());
}

// Writes a known file for tests/check_safetensors.py (the Python `safetensors` reader).
TEST(Safetensors, WritePythonSample) {
  const char* out = std::getenv("METTA_SAFETENSORS_SAMPLE");
  if (!out) GTEST_SKIP() << "METTA_SAFETENSORS_SAMPLE not set (the Python check sets it)";
  nn::Policy<float> p = make_policy("small", 1);
  PolicyStore store(out);
  store.save(p, meta(1));
}

#include "train/logging/tensorboard.h"

TEST(TensorBoard, Crc32cVectorAndRecordsRoundTrip) {
  EXPECT_EQ(logging::crc32c("123456789", 9), 0xE3069283u);
  const std::string dir = fresh_dir("tb");
  fs::create_directories(dir);
  std::string path;
  {
    logging::TensorBoardWriter w(dir);
    w.add_scalars(100, {{"losses/policy_loss", -0.25}, {"overview/sps", 1234.0}});
    w.add_scalars(200, {{"losses/policy_loss", 0.5}});
    path = w.path();
  }
  EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
  const auto events = logging::read_event_file(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[1].step, 100);
  EXPECT_FLOAT_EQ(events[1].values.at("losses/policy_loss"), -0.25f);
  EXPECT_FLOAT_EQ(events[1].values.at("overview/sps"), 1234.0f);
  EXPECT_EQ(events[2].step, 200);
  // a flipped byte is caught by the CRC
  std::string bytes = read_file(path);
  bytes[bytes.size() - 6] ^= 0x10;
  write_file_atomic(path, bytes);
  EXPECT_THROW(logging::read_event_file(path), metta::Error);
  fs::remove_all(dir);
}

// The checksum covers the whole file (format 2): single-byte changes of a model's header (300 spread over
// it: metadata values such as agent_step or the action names, tensor names, dtypes, shapes, offsets, the
// padding) are refused.
TEST(PolicyStore, HeaderChangesAreRefused) {
  PolicyStore store(fresh_dir("header"));
  nn::Policy<float> p = make_policy("small", 1);
  const std::string path = store.save(p, meta(3));
  const std::string good = read_file(path);
  std::uint64_t header = 0;
  std::memcpy(&header, good.data(), 8);
  ASSERT_LT(header + 8, good.size());
  const std::string bad = store.dir() + "/flipped.safetensors";
  int accepted = 0;
  for (std::size_t k = 0; k < 300; ++k) {  // 300 positions spread over the header
    const std::size_t i = 8 + k * header / 300;
    std::string flipped = good;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    write_file_atomic(bad, flipped);
    try {
      PolicyStore::open(bad);
      ++accepted;
      ADD_FAILURE() << "a flip at header byte " << i << " ('" << good[i] << "') was accepted";
    } catch (const CheckpointError&) {
    }
    if (accepted > 5) break;
  }
  EXPECT_EQ(accepted, 0);
  // a changed value that is still valid JSON and a valid number: refused by the checksum
  std::string steps = good;
  const auto at = steps.find("\"agent_step\":\"3000\"");
  ASSERT_NE(at, std::string::npos);
  steps[at + 14] = '4';
  write_file_atomic(bad, steps);
  expect_checkpoint_error([&] { PolicyStore::open(bad); }, "checksum mismatch");
  fs::remove_all(store.dir());
}

// A failed write of the TensorBoard file fails loudly (a full disk: /dev/full), like a checkpoint write.
TEST(TensorBoard, AFailedWriteIsAnError) {
  try {
    logging::TensorBoardWriter w = logging::TensorBoardWriter::at_path("/dev/full");
    w.add_scalars(1, {{"overview/sps", 1.0}});
    ADD_FAILURE() << "no error";
  } catch (const metta::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write the TensorBoard event file"), std::string::npos) << e.what();
  }
}
