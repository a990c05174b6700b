// Names of the engine's statistics, read only on the host: the row layouts of engine/params.h
// (StatLayout) turned into the reference's keys ("action.move.success", "ore_red.gained",
// "conversions.started", "tokens_written", ...).
#pragma once

#include <string>
#include <vector>

#include "engine/config.h"

namespace metta::engine {

std::vector<std::string> agent_stat_names(const CompiledEnv& env);      // size stats.agent_count
std::vector<std::string> converter_stat_names(const CompiledEnv& env);  // size stats.converter_count
std::vector<std::string> obs_stat_names();                              // size StatLayout::kObsCount
// The suffixes of a key's derived entries (kStatDerived, in the order reset.h's add_derived writes).
inline constexpr const char* kDerivedStatSuffixes[kStatDerived] = {
    ".updates", ".first_step", ".last_step", ".rate", ".avg", ".activity_rate", ".min", ".max"};
// True for a derived entry's key ("heart.gained.rate"), false for a base key ("heart.gained").
inline bool is_derived_stat_key(const std::string& key) {
  for (const char* s : kDerivedStatSuffixes) {
    const std::string suffix(s);
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
  }
  return false;
}

}  // namespace metta::engine
