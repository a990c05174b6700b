#include "engine/map_plan.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace metta::engine {
namespace {

MapLayout with_border(MapLayout inner, int border, const std::string& border_object) {
  if (border == 0) return inner;
  MapLayout out;
  out.height = inner.height + 2 * border;
  out.width = inner.width + 2 * border;
  out.cells.assign(static_cast<std::size_t>(out.height) * out.width, border_object);
  for (int r = 0; r < inner.height; ++r)
    for (int c = 0; c < inner.width; ++c)
      out.cells[(r + border) * out.width + c + border] = inner.cells[r * inner.width + c];
  for (auto& room : inner.rooms) {
    room.r0 += border;
    room.c0 += border;
    out.rooms.push_back(std::move(room));
  }
  out.labels = std::move(inner.labels);
  return out;
}

MapLayout build_random(const MapBuilderConfig& b) {
  config_check_range(b.path + ".width", b.width, 1, 4096);
  config_check_range(b.path + ".height", b.height, 1, 4096);
  config_check_range(b.path + ".border_width", b.border_width, 0, 1024);
  const long area = static_cast<long>(b.width) * b.height;
  long agents = 0;
  for (auto& [name, n] : b.agents) {
    if (n < 0) config_fail(b.path + ".agents." + name, std::to_string(n), "a count >= 0");
    agents += n;
  }
  std::vector<int> counts;
  for (auto& [name, n] : b.objects) {
    if (n < 0) config_fail(b.path + ".objects." + name, std::to_string(n), "a count >= 0");
    counts.push_back(n);
  }
  auto total = [&] {
    long t = agents;
    for (int n : counts) t += n;
    return t;
  };
  // Halve every object count (minimum 1) until objects + agents fit in 2/3 of the area.
  while (3 * total() > 2 * area) {
    bool changed = false;
    for (int& n : counts) {
      const int h = std::max(1, n / 2);
      if (n > 0 && h != n) {
        n = h;
        changed = true;
      }
    }
    if (!changed) {
      std::ostringstream os;
      os << total() << " objects and agents in a " << b.width << "x" << b.height << " room";
      config_fail(b.path + ".objects", os.str(), "at most 2/3 of the room's cells (" + std::to_string(2 * area / 3) + ")");
    }
  }
  MapLayout inner;
  inner.height = b.height;
  inner.width = b.width;
  inner.cells.assign(static_cast<std::size_t>(area), "");
  MapLayout::Room room{0, 0, b.height, b.width, {}};
  for (std::size_t i = 0; i < b.objects.size(); ++i)
    room.symbols.insert(room.symbols.end(), static_cast<std::size_t>(counts[i]), b.objects[i].first);
  for (auto& [name, n] : b.agents) room.symbols.insert(room.symbols.end(), static_cast<std::size_t>(n), name);
  inner.rooms.push_back(std::move(room));
  inner.labels = {"random", area < 4000 ? "small" : area < 6000 ? "medium" : "large"};
  return with_border(std::move(inner), b.border_width, b.border_object);
}

MapLayout build_multi_room(const MapBuilderConfig& b) {
  config_check_range(b.path + ".num_rooms", b.num_rooms, 1, 4096);
  config_check_range(b.path + ".border_width", b.border_width, 0, 1024);
  if (b.layout != "grid") config_fail(b.path + ".layout", "'" + b.layout + "'", "'grid'");
  if (b.room.size() != 1) config_fail(b.path + ".room", "nothing", "one room builder");
  std::vector<MapLayout> rooms;
  int cell_h = 0, cell_w = 0;
  for (int i = 0; i < b.num_rooms; ++i) {
    rooms.push_back(build_layout(b.room[0]));
    cell_h = std::max(cell_h, rooms.back().height);
    cell_w = std::max(cell_w, rooms.back().width);
  }
  const int rows = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(b.num_rooms))));
  const int cols = (b.num_rooms + rows - 1) / rows;
  MapLayout inner;
  inner.height = rows * cell_h;
  inner.width = cols * cell_w;
  inner.cells.assign(static_cast<std::size_t>(inner.height) * inner.width, "");
  inner.labels = rooms[0].labels;
  for (int i = 0; i < b.num_rooms; ++i) {
    MapLayout& room = rooms[i];
    const int r0 = (i / cols) * cell_h + (cell_h - room.height) / 2;
    const int c0 = (i % cols) * cell_w + (cell_w - room.width) / 2;
    for (int r = 0; r < room.height; ++r)
      for (int c = 0; c < room.width; ++c) inner.cells[(r0 + r) * inner.width + c0 + c] = room.cells[r * room.width + c];
    for (auto& sub : room.rooms) {
      sub.r0 += r0;
      sub.c0 += c0;
      inner.rooms.push_back(std::move(sub));
    }
    std::vector<std::string> keep;
    for (auto& l : inner.labels)
      if (std::find(room.labels.begin(), room.labels.end(), l) != room.labels.end()) keep.push_back(l);
    inner.labels = keep;
  }
  return with_border(std::move(inner), b.border_width, b.border_object);
}

MapLayout build_ascii(const MapBuilderConfig& b) {
  if (b.rows.empty()) config_fail(b.path + ".map", "an empty map", "at least one row");
  MapLayout out;
  out.height = static_cast<int>(b.rows.size());
  out.width = static_cast<int>(b.rows[0].size());
  if (out.width == 0) config_fail(b.path + ".map", "an empty first row", "rows of at least one character");
  config_check_range(b.path + ".map (rows)", out.height, 1, 4096);
  config_check_range(b.path + ".map (columns)", out.width, 1, 4096);
  std::map<char, std::string> legend = default_ascii_legend();
  for (auto& [ch, name] : b.legend) legend[ch] = name;
  for (int r = 0; r < out.height; ++r) {
    const std::string& row = b.rows[r];
    if (static_cast<int>(row.size()) != out.width)
      config_fail(b.path + ".map row " + std::to_string(r), std::to_string(row.size()) + " characters",
           std::to_string(out.width) + " (the width of row 0)");
    for (int c = 0; c < out.width; ++c) {
      auto it = legend.find(row[c]);
      if (it == legend.end())
        config_fail(b.path + ".map row " + std::to_string(r) + " column " + std::to_string(c), std::string("'") + row[c] + "'",
             "a character of the legend (add it under " + b.path + ".legend)");
      out.cells.push_back(it->second == "empty" || it->second == "." ? "" : it->second);
    }
  }
  out.labels = {"ascii"};
  return out;
}

}  // namespace

std::map<char, std::string> default_ascii_legend() {
  return {{'#', "wall"}, {'b', "block"}, {'a', "altar"}, {'m', "mine_red"}, {'g', "generator_red"},
          {'A', "agent.agent"}, {'.', ""}, {' ', ""}};
}

MapLayout build_layout(const MapBuilderConfig& b) {
  switch (b.kind) {
    case MapBuilderConfig::Kind::kRandom: return build_random(b);
    case MapBuilderConfig::Kind::kMultiRoom: return build_multi_room(b);
    case MapBuilderConfig::Kind::kAscii: return build_ascii(b);
  }
  throw ConfigError(b.path + ": unknown map builder kind");
}

}  // namespace metta::engine
