// Map builders (game-rules.md §8) on the host: a builder config becomes a layout — a template of cell
// names plus rooms whose contents are shuffled anew at every reset on the device. Random rooms halve
// object counts until they fit in 2/3 of the area; MultiRoom places rooms on a grid with an outer
// border; ASCII maps are fixed templates.
#pragma once

#include <string>
#include <vector>

#include "engine/config.h"

namespace metta::engine {

struct MapLayout {
  int height = 0, width = 0;
  std::vector<std::string> cells;  // [height * width] cell names, "" = empty
  struct Room {
    int r0, c0, h, w;
    std::vector<std::string> symbols;  // placed in the first cells, then shuffled over h*w
  };
  std::vector<Room> rooms;
  std::vector<std::string> labels;
};

MapLayout build_layout(const MapBuilderConfig& b);

}  // namespace metta::engine
