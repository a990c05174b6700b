#include "train/checkpoint/policy_store.h"

#include "train/checkpoint/checkpoint_dir.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "kernels/log.h"

namespace metta::checkpoint {
namespace fs = std::filesystem;

namespace {
// Epoch of a model file name, or -1.
std::int64_t epoch_of(const std::string& name) {
  long long e = -1;
  char tail[32] = {0};
  if (std::sscanf(name.c_str(), "model_%lld.%31s", &e, tail) == 2 && std::string(tail) == "safetensors") return e;
  return -1;
}

SafetensorsFile read_checked(const std::string& path) {
  SafetensorsFile f = parse_safetensors(read_file(path), path);
  auto get = [&](const std::string& key) -> std::string {
    auto it = f.metadata.find(key);
    if (it == f.metadata.end()) throw CheckpointError(path + ": metadata has no '" + key + "' (not a metta-cpp policy?)");
    return it->second;
  };
  if (get("format") != kPolicyFormat)
    throw CheckpointError(path + ": format '" + get("format") + "', expected '" + kPolicyFormat + "'");
  const std::string version = get("format_version");
  if (version != "1" && version != std::to_string(kPolicyFormatVersion))
    throw CheckpointError(path + ": format version " + version + ", this build reads versions 1 to " +
                          std::to_string(kPolicyFormatVersion));
  const std::string sum = version == "1" ? tensors_checksum(f) : file_checksum(f);
  if (get("checksum") != sum)
    throw CheckpointError(path + ": checksum mismatch (stored " + get("checksum") + ", computed " + sum +
                          "): the file is corrupt");
  return f;
}

PolicyMetadata metadata_of(const SafetensorsFile& f, const std::string& path) {
  PolicyMetadata m;
  try {
    m.agent_step = std::stoll(f.metadata.at("agent_step"));
    m.epoch = std::stoll(f.metadata.at("epoch"));
    m.generation = std::stoll(f.metadata.at("generation"));
    m.train_time = std::stod(f.metadata.at("train_time"));
    m.agent = f.metadata.at("agent");
    m.action_names = nlohmann::json::parse(f.metadata.at("action_names")).get<std::vector<std::string>>();
    m.feature_mapping = nlohmann::json::parse(f.metadata.at("original_feature_mapping")).get<std::map<std::string, int>>();
    m.config_json = f.metadata.at("config");
    if (auto it = f.metadata.find("action_max_args"); it != f.metadata.end())
      m.action_max_args = nlohmann::json::parse(it->second).get<std::vector<int>>();
    if (auto it = f.metadata.find("obs_width"); it != f.metadata.end()) m.obs_width = std::stoi(it->second);
    if (auto it = f.metadata.find("obs_height"); it != f.metadata.end()) m.obs_height = std::stoi(it->second);
    if (auto it = f.metadata.find("initial_uri"); it != f.metadata.end()) m.initial_uri = it->second;
    m.user = nlohmann::json::parse(f.metadata.at("user_metadata")).get<std::map<std::string, std::string>>();
  } catch (const std::exception& e) {
    throw CheckpointError(path + ": bad or missing policy metadata (" + e.what() + ")");
  }
  return m;
}
}  // namespace

PolicyStore::PolicyStore(std::string checkpoint_dir, int keep_last) : dir_(std::move(checkpoint_dir)), keep_last_(keep_last) {
  METTA_CHECK(keep_last >= 1, "keep_last: got " << keep_last << ", expected >= 1");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw CheckpointError(dir_ + ": cannot create the checkpoint folder: " + ec.message());
}

std::string PolicyStore::save(const nn::Policy<float>& policy, const PolicyMetadata& meta) const {
  SafetensorsFile f;
  std::vector<float> host(static_cast<std::size_t>(policy.num_params()));
  kernels::download_bytes(policy.context(), host.data(), policy.params(), host.size() * sizeof(float));
  for (const nn::ParamInfo& p : policy.table().all()) {
    Tensor t;
    t.dtype = "F32";
    t.shape = p.shape;
    const auto* src = reinterpret_cast<const std::uint8_t*>(host.data() + p.offset);
    t.bytes.assign(src, src + p.count * sizeof(float));
    f.tensors.push_back({p.name, std::move(t)});
  }
  f.metadata["format"] = kPolicyFormat;
  f.metadata["format_version"] = std::to_string(kPolicyFormatVersion);
  f.metadata["agent_step"] = std::to_string(meta.agent_step);
  f.metadata["epoch"] = std::to_string(meta.epoch);
  f.metadata["generation"] = std::to_string(meta.generation);
  f.metadata["train_time"] = std::to_string(meta.train_time);
  f.metadata["agent"] = meta.agent.empty() ? policy.arch().name : meta.agent;
  f.metadata["action_names"] = nlohmann::json(meta.action_names).dump();
  f.metadata["original_feature_mapping"] = nlohmann::json(meta.feature_mapping).dump();
  if (!meta.action_max_args.empty()) f.metadata["action_max_args"] = nlohmann::json(meta.action_max_args).dump();
  if (meta.obs_width > 0) f.metadata["obs_width"] = std::to_string(meta.obs_width);
  if (meta.obs_height > 0) f.metadata["obs_height"] = std::to_string(meta.obs_height);
  f.metadata["config"] = meta.config_json;
  f.metadata["initial_uri"] = meta.initial_uri;
  f.metadata["user_metadata"] = nlohmann::json(meta.user).dump();
  f.metadata["checksum"] = file_checksum(f);  // last: it covers every other key
  const std::string path = (fs::path(dir_) / model_file_name(meta.epoch)).string();
  write_file_atomic(path, serialize_safetensors(f));
  // keep the newest keep_last model files (never the one just written)
  std::vector<std::pair<std::int64_t, std::string>> models;
  for (auto& e : fs::directory_iterator(dir_)) {
    const std::int64_t ep = epoch_of(e.path().filename().string());
    if (ep >= 0) models.push_back({ep, e.path().string()});
  }
  std::sort(models.rbegin(), models.rend());
  for (std::size_t i = static_cast<std::size_t>(keep_last_); i < models.size(); ++i)
    if (models[i].second != path) fs::remove(models[i].second);
  return path;
}

std::string PolicyStore::latest() const {
  std::vector<std::pair<std::int64_t, std::string>> models;
  for (auto& e : fs::directory_iterator(dir_)) {
    const std::int64_t ep = epoch_of(e.path().filename().string());
    if (ep >= 0) models.push_back({ep, e.path().string()});
  }
  std::sort(models.rbegin(), models.rend());
  for (auto& [ep, path] : models) {
    try {
      read_checked(path);
      return path;
    } catch (const CheckpointError& e) {
      log_message(LogLevel::kWarning, std::string("policy store: skipping ") + e.what());
    }
  }
  return "";
}

PolicyMetadata PolicyStore::read_metadata(const std::string& path) { return open(path).metadata; }

PolicyFile PolicyStore::open(const std::string& path) {
  if (fs::is_directory(path))
    throw CheckpointError(path + ": a folder, expected a model file (resolve_uri picks one from a folder)");
  PolicyFile pf;
  pf.path = path;
  pf.file = read_checked(path);
  pf.metadata = metadata_of(pf.file, path);
  return pf;
}

std::vector<float> PolicyStore::weights_of(const PolicyFile& pf, const nn::ParamTable& table) {
  const SafetensorsFile& f = pf.file;
  const std::string& path = pf.path;
  std::vector<float> host(static_cast<std::size_t>(table.total()));
  if (f.tensors.size() != table.all().size())
    throw CheckpointError(path + ": " + std::to_string(f.tensors.size()) + " tensors (saved from agent '" +
                          pf.metadata.agent + "'), this policy has " + std::to_string(table.all().size()));
  for (const nn::ParamInfo& p : table.all()) {
    const Tensor* t = f.find(p.name);
    if (!t) throw CheckpointError(path + ": no tensor '" + p.name + "' (saved from another agent preset?)");
    if (t->dtype != "F32" || t->shape != p.shape) {
      std::string want, got;
      for (auto d : p.shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
      for (auto d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      throw CheckpointError(path + ": tensor '" + p.name + "' is " + t->dtype + " [" + got + "], expected F32 [" +
                            want + "]");
    }
    std::memcpy(host.data() + p.offset, t->bytes.data(), t->bytes.size());
  }
  return host;
}

PolicyMetadata PolicyStore::load(const std::string& path, nn::Policy<float>& policy) const {
  const PolicyFile pf = open(path);
  const std::vector<float> host = weights_of(pf, policy.table());
  kernels::upload_bytes(policy.context(), policy.params(), host.data(), host.size() * sizeof(float));
  return pf.metadata;
}

std::string PolicyStore::resolve_uri(const std::string& uri, const std::string& type, const std::string& metric) {
  if (type != "latest" && type != "top" && type != "specific")
    throw CheckpointError(uri + ": selection type '" + type + "', expected 'latest', 'top' or 'specific'");
  std::string path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
  if (path.find("://") != std::string::npos)
    throw CheckpointError(uri + ": only file paths and file:// URIs are supported (no wandb:// or s3://)");
  if (!fs::exists(path)) throw CheckpointError(uri + ": no such file or folder");
  if (!fs::is_directory(path)) return path;
  if (type == "specific") throw CheckpointError(uri + ": a folder, but initial_policy.type 'specific' needs a file");
  if (type == "latest") {
    const std::string p = PolicyStore(path).latest();
    if (p.empty()) throw CheckpointError(uri + ": the folder holds no valid model_NNNN.safetensors");
    return p;
  }
  // top: the valid model with the largest metric
  std::string best;
  double best_value = 0;
  for (auto& e : fs::directory_iterator(path)) {
    if (epoch_of(e.path().filename().string()) < 0) continue;
    PolicyMetadata m;
    try {
      m = read_metadata(e.path().string());
    } catch (const CheckpointError& err) {
      log_message(LogLevel::kWarning, std::string("policy store: skipping ") + err.what());
      continue;
    }
    double v = 0;
    if (metric == "epoch") {
      v = static_cast<double>(m.epoch);
    } else if (metric == "agent_step") {
      v = static_cast<double>(m.agent_step);
    } else if (auto it = m.user.find(metric); it != m.user.end()) {
      try {
        v = std::stod(it->second);
      } catch (const std::exception&) {
        continue;
      }
    } else {
      continue;  // the reference skips records without the metric
    }
    if (best.empty() || v > best_value) {
      best = e.path().string();
      best_value = v;
    }
  }
  if (best.empty()) throw CheckpointError(uri + ": no valid model in the folder has the metric '" + metric + "'");
  return best;
}

}  // namespace metta::checkpoint
