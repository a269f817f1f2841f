// What the command line turns --export, --import and `inspect FILE` into (core/portable.hpp).
// "-" is stdout (--export) or stdin (--import, inspect): the descriptor is duplicated for the
// archive, and fd 1 is pointed at stderr (fd 0 at /dev/null), so nothing gpucr prints and
// nothing its children (criu, the runtime, a restored tree) write or read can touch the stream.
#pragma once

#include "core/request.hpp"

#include <string>

namespace gpucr::cli {

Result<ArchiveOut> archive_out(const std::string& file, const std::string& compress);
Result<ArchiveIn> archive_in(const std::string& file);

}  // namespace gpucr::cli
