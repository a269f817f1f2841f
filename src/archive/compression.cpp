#include "archive/compression.hpp"

namespace gpucr::archive {

Result<Compression> parse_compression(std::string_view text) {
  if (text == "zstd") return Compression::zstd;
  if (text == "gzip") return Compression::gzip;
  if (text == "none") return Compression::none;
  return fail(Error("--compress: '" + std::string(text) + "' is not one of zstd, gzip, none", Exit::usage));
}

std::string to_string(Compression c) {
  switch (c) {
    case Compression::zstd: return "zstd";
    case Compression::gzip: return "gzip";
    case Compression::none: return "none";
  }
  return "?";
}

}  // namespace gpucr::archive
