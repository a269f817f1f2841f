// Finding criu and knowing what it can do.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace gpucr::criu {

struct Version {
  int major = 0;
  int minor = 0;
  int sublevel = 0;
  auto operator<=>(const Version&) const = default;
  std::string str() const;
};

// Parses `criu --version` output ("Version: 4.1.1" [+ "GitID: ..."]).
Result<Version> parse_version(std::string_view text);

struct Binary {
  std::filesystem::path path;
  Version version;
  std::string source;  // "--criu", "$GPUCR_CRIU" or "PATH", for messages
};

// criu from `flag` (--criu PATH), else $GPUCR_CRIU, else `criu` in PATH; runs `criu --version`.
Result<Binary> locate(const std::optional<std::filesystem::path>& flag);

// Fails with a clear message when `bin` is older than `min` (`needed_for` says why).
Status require_version(const Binary& bin, Version min, const std::string& needed_for);

// The oldest criu gpucr supports at all (>= 4.0: older ones fail on current kernels and lack
// the features gpucr builds on).
inline constexpr Version kMinimum{4, 0, 0};
// CRIU writes and honours the inventory `plugins` field from 4.1 on.
inline constexpr Version kPluginsField{4, 1, 0};

}  // namespace gpucr::criu
