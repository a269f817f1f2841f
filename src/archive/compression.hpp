// The compression of a checkpoint archive, named as podman names it (`--compress`).
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace gpucr::archive {

enum class Compression { zstd, gzip, none };

// "zstd", "gzip" or "none"; anything else is a usage error naming the choices.
Result<Compression> parse_compression(std::string_view text);
std::string to_string(Compression c);

}  // namespace gpucr::archive
