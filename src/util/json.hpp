// JSON text that never fails: nlohmann's dump() throws on a string that isn't UTF-8 (a process
// name, a path), which would turn into an internal error; these replace such bytes instead.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace gpucr {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gpucr
