// JSON helpers for text gpucr writes and documents it reads back.
// - json_text never fails: nlohmann's dump() throws on a string that isn't UTF-8 (a process name,
//   a path), which would turn into an internal error; it replaces such bytes instead.
// - make_printable rewrites every string of a document with printable_utf8 (\xNN for bytes that
//   aren't printable UTF-8), for output built from names read in images.
// - json_int reads an integer member exactly: nlohmann's value<int>() casts a float with a plain
//   cast (undefined outside the type's range) and accepts 4.2 as 4. A float, a string, or a value
//   outside T's range is a JsonShapeError naming the member; an absent member is the fallback.
#pragma once

#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpucr {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline void make_printable(nlohmann::json& j) {
  if (j.is_string()) {
    j = printable_utf8(j.get_ref<const std::string&>());
  } else if (j.is_structured()) {
    for (auto& v : j) make_printable(v);
  }
}

struct JsonShapeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
T json_int_value(const nlohmann::json& v, const std::string& what) {
  using L = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(L::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    if (L::is_signed ? (i >= static_cast<std::int64_t>(L::min()) && i <= static_cast<std::int64_t>(L::max()))
                     : (i >= 0 && static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(L::max()))) {
      return static_cast<T>(i);
    }
  } else {
    throw JsonShapeError(what + " is not an integer: " + json_text(v));
  }
  throw JsonShapeError(what + " is out of range: " + json_text(v));
}

template <class T>
T json_int(const nlohmann::json& obj, const char* key, T fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  return json_int_value<T>(*it, std::string("\"") + key + "\"");
}

template <class T>
std::vector<T> json_int_array(const nlohmann::json& obj, const char* key) {
  std::vector<T> out;
  auto it = obj.find(key);
  if (it == obj.end()) return out;
  if (!it->is_array()) throw JsonShapeError(std::string("\"") + key + "\" is not an array");
  for (const auto& v : *it) out.push_back(json_int_value<T>(v, std::string("an entry of \"") + key + "\""));
  return out;
}

}  // namespace gpucr
