#include "train/eval/replay.h"

#include <zlib.h>

#include "train/checkpoint/safetensors.h"
#include "kernels/common.h"

namespace metta::eval {
namespace {
nlohmann::json pairs_of(const std::uint8_t* items, int n) {
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i < n; ++i)
    if (items[i] > 0) out.push_back({i, items[i]});
  return out;
}
}  // namespace

void ReplayWriter::Series::add(std::int64_t step, const nlohmann::json& v) {
  if (!pairs.empty() && pairs.back()[1] == v) return;
  pairs.push_back({step, v});
}

nlohmann::json ReplayWriter::Series::finish() const {
  if (pairs.size() == 1 && !always_series) return pairs[0][1];
  return pairs;
}

ReplayWriter::ReplayWriter(const engine::BatchedEnv& batch, std::int64_t env) : env_(env) {
  METTA_CHECK(env >= 0 && env < batch.num_envs(), "replay: env " << env << " of " << batch.num_envs());
  const engine::CompiledEnv& c = batch.compiled();
  header_["version"] = 2;
  header_["num_agents"] = batch.num_agents();
  header_["map_size"] = {batch.width_of(env), batch.height_of(env)};
  header_["action_names"] = batch.action_names();
  header_["item_names"] = batch.inventory_item_names();
  for (std::size_t k = 0; k < batch.inventory_item_names().size(); ++k)
    item_ids_["inv:" + batch.inventory_item_names()[k]] = static_cast<int>(k);
  header_["type_names"] = batch.object_type_names();
  header_["group_names"] = c.group_names;
  total_reward_.assign(static_cast<std::size_t>(batch.num_agents()), 0.0);
  log_objects(batch, nullptr);
}

void ReplayWriter::log_step(const engine::BatchedEnv& batch, const std::vector<std::int32_t>& actions) {
  ++steps_;
  log_objects(batch, &actions);
}

void ReplayWriter::log_objects(const engine::BatchedEnv& batch, const std::vector<std::int32_t>* actions) {
  const engine::EnvParams& p = batch.compiled().params;
  const std::vector<engine::GridObject> objs = batch.grid_objects(env_);
  if (objects_.empty()) objects_.resize(objs.size());
  METTA_CHECK(objs.size() == objects_.size(), "replay: the env's object count changed (" << objects_.size() << " -> "
                                                                                         << objs.size() << ")");
  std::vector<float> rewards;
  std::vector<std::uint8_t> success;
  if (actions) {
    rewards = batch.rewards_host();
    success = batch.action_success_host();
  }
  const std::int64_t first_agent = env_ * batch.num_agents();
  for (std::size_t i = 0; i < objs.size(); ++i) {
    const engine::GridObject& g = objs[i];
    Object& o = objects_[i];
    const auto kind = static_cast<engine::ObjectKind>(p.type_kind[g.type_id]);
    if (steps_ == 0) {  // constants
      o.constants["id"] = static_cast<int>(i) + 1;  // dense ids, list position + 1
      o.constants["type_id"] = g.type_id;
      o.constants["inventory_max"] = 0;
      o.constants["is_swappable"] = g.feature("swappable") != 0;
      o.fields["location"].always_series = true;
      o.fields["inventory"].always_series = true;
      if (kind == engine::ObjectKind::kAgent) {
        const int group = g.feature("agent:group");
        o.constants["is_agent"] = true;
        o.constants["agent_id"] = g.agent_id;
        o.constants["group_id"] = group;
        o.constants["vision_size"] = p.obs_width;
        o.constants["freeze_duration"] = p.freeze_duration[group];
      } else if (kind == engine::ObjectKind::kConverter) {
        o.constants["input_resources"] = pairs_of(p.recipe_input[g.type_id], p.num_items);
        o.constants["output_resources"] = pairs_of(p.recipe_output[g.type_id], p.num_items);
        o.constants["output_limit"] = p.max_output[g.type_id];
        o.constants["conversion_duration"] = p.conversion_ticks[g.type_id];
        o.constants["cooldown_duration"] = p.cooldown[g.type_id];
      }
    }
    const std::int64_t s = steps_;
    o.fields["location"].add(s, {g.c, g.r, g.layer});
    nlohmann::json inv = nlohmann::json::array();
    for (const auto& [name, value] : g.features)
      if (value > 0)
        if (auto it = item_ids_.find(name); it != item_ids_.end()) inv.push_back({it->second, value});
    o.fields["inventory"].add(s, inv);
    o.fields["color"].add(s, g.feature("agent:color"));
    if (kind == engine::ObjectKind::kAgent) {
      const std::int64_t a = first_agent + g.agent_id;
      o.fields["orientation"].add(s, g.feature("agent:orientation"));
      o.fields["is_frozen"].add(s, g.feature("agent:frozen") != 0);
      const double r = actions ? rewards[static_cast<std::size_t>(a)] : 0.0;
      total_reward_[static_cast<std::size_t>(g.agent_id)] += r;
      o.fields["current_reward"].add(s, r);
      o.fields["total_reward"].add(s, total_reward_[static_cast<std::size_t>(g.agent_id)]);
      o.fields["action_id"].add(s, actions ? (*actions)[static_cast<std::size_t>(2 * a)] : 0);
      o.fields["action_param"].add(s, actions ? (*actions)[static_cast<std::size_t>(2 * a + 1)] : 0);
      o.fields["action_success"].add(s, actions ? success[static_cast<std::size_t>(a)] != 0 : false);
    } else {
      o.fields["orientation"].add(s, 0);
      if (kind == engine::ObjectKind::kConverter) o.fields["is_converting"].add(s, g.feature("converting") != 0);
    }
  }
}

nlohmann::json ReplayWriter::to_json() const {
  nlohmann::json j = header_;
  j["max_steps"] = steps_;
  nlohmann::json objects = nlohmann::json::array();
  for (const Object& o : objects_) {
    nlohmann::json obj = o.constants;
    for (const auto& [name, series] : o.fields) obj[name] = series.finish();
    objects.push_back(std::move(obj));
  }
  j["objects"] = std::move(objects);
  return j;
}

void ReplayWriter::write(const std::string& path) const {
  checkpoint::write_file_atomic(path, zlib_compress(to_json().dump()));
}

std::string zlib_compress(const std::string& data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()),
                           static_cast<uLong>(data.size()), Z_BEST_COMPRESSION);
  METTA_CHECK(rc == Z_OK, "zlib compress2 failed with " << rc);
  out.resize(size);
  return out;
}

std::string zlib_decompress(const std::string& data) {
  z_stream z{};
  METTA_CHECK(inflateInit(&z) == Z_OK, "zlib inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 15];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("zlib: the data is not a complete zlib stream (code " + std::to_string(rc) + ")");
  return out;
}

}  // namespace metta::eval
