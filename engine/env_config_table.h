// The env config's tables (engine/config_fields.h says how tables are used): one row per fixed key of
// the `game:` schema, with its range. The YAML reader (config_yaml.cpp) and compile_env's validation both
// run over these rows. Keys named after inventory items (`<item>_max`, `input_<item>`, rewards), keyed
// maps (groups, objects, actions) and the map builder (chosen by its _target_) are by_code rows: the
// reader reads them with the same error format.
#pragma once

#include "engine/config.h"
#include "engine/config_fields.h"
#include "engine/params.h"

namespace metta::engine {

template <class V>
void visit_fields(EnvConfig& c, V& v) {
  v(field("num_agents", c.num_agents).given().range(1, 65535, integer_in(1, 65535)));
  v(field("obs_width", c.obs_width).range(1, 15, "an odd integer in [1, 15]"));  // odd: compile_env
  v(field("obs_height", c.obs_height).range(1, 15, "an odd integer in [1, 15]"));
  v(field("num_observation_tokens", c.num_observation_tokens).range(1, 65535, integer_in(1, 65535)));
  v(field("max_steps", c.max_steps).range(0, 1 << 30, integer_in(0, 1 << 30)));
  v.by_code("inventory_item_names");
  v.by_code("agent");
  v.by_code("groups");
  v.by_code("objects");
  v.by_code("actions");
  v.by_code("map_builder");
}

// game.agent, and a group's props layered over it.
template <class V>
void visit_fields(AgentProps& a, V& v) {
  v(field("default_item_max", a.default_item_max).range(0, 255, integer_in(0, 255)));
  v(field("freeze_duration", a.freeze_duration).range(-1, 32767, integer_in(-1, 32767)));
  v.by_code("rewards");  // <item>, <item>_max, action_failure_penalty
}

template <class V>
void visit_fields(GroupConfig& g, V& v) {
  v(field("id", g.id).given().range(0, kMaxGroups - 1, integer_in(0, kMaxGroups - 1)));
  v(field("sprite", g.sprite));
  v(field("group_reward_pct", g.group_reward_pct).range(0, 1, "a number in [0, 1]"));
  v.by_code("props");
}

// Walls take type_id, swappable and color; any converter key makes the object a converter.
template <class V>
void visit_fields(ObjectConfig& o, V& v) {
  v(field("type_id", o.type_id).given().range(1, kMaxTypes - 1, integer_in(1, kMaxTypes - 1)));
  v(field("swappable", o.swappable));
  v(field("max_output", o.max_output).range(-1, 1 << 20, integer_in(-1, 1 << 20)));
  v(field("conversion_ticks", o.conversion_ticks).range(0, 1 << 20, integer_in(0, 1 << 20)));
  v(field("cooldown", o.cooldown).range(0, 1 << 20, integer_in(0, 1 << 20)));
  v(field("initial_items", o.initial_items).range(0, 255, integer_in(0, 255)));
  v(field("color", o.color).range(0, 255, integer_in(0, 255)));
}
inline const char* const kConverterKeys[] = {"max_output", "conversion_ticks", "cooldown", "initial_items"};

template <class V>
void visit_fields(ActionConfig& a, V& v) {
  v(field("enabled", a.enabled));
  v(field("consumed_resources", a.consumed_resources));
  v(field("required_resources", a.required_resources));  // empty: the consumed ones
  v(field("defense_resources", a.defense_resources));    // attack only
}

// The map builder's keys depend on its kind (read from _target_ first).
template <class V>
void visit_fields(MapBuilderConfig& b, V& v) {
  v.by_code("_target_");
  switch (b.kind) {
    case MapBuilderConfig::Kind::kRandom:
      v(field("width", b.width).given());  // ranges: build_layout, which knows the whole room
      v(field("height", b.height).given());
      v(field("border_width", b.border_width));
      v(field("border_object", b.border_object));
      v.by_code("agents");
      v.by_code("objects");
      break;
    case MapBuilderConfig::Kind::kMultiRoom:
      v(field("num_rooms", b.num_rooms).given());
      v.by_code("room");
      v(field("layout", b.layout));
      v(field("border_width", b.border_width));
      v(field("border_object", b.border_object));
      break;
    case MapBuilderConfig::Kind::kAscii:
      v.by_code("map");
      v.by_code("legend");
      break;
  }
}

}  // namespace metta::engine
