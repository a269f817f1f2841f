#include "criu/stats.hpp"

#include <sys/stat.h>

namespace gpucr::criu {

template <class Message>
static Result<std::vector<Message>> parse_all(const std::vector<std::string>& entries, const fs::path& path) {
  std::vector<Message> out;
  for (const auto& e : entries) {
    Message m;
    if (!m.ParsePartialFromString(e)) {  // partial: no protobuf log line on stderr for a bad image
      return fail(Error(path.string() + " is not a valid CRIU image: an entry does not parse", Exit::bad_input));
    }
    if (!m.IsInitialized()) {
      return fail(Error(path.string() + " is not a valid CRIU image: an entry lacks " + m.InitializationErrorString(),
                        Exit::bad_input));
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::optional<StatsEntry>> read_stats(const fs::path& dir, const std::string& file) {
  fs::path p = dir / file;
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::optional<StatsEntry>();
  auto entries = GPUCR_TRY(read_entries(p, {kMagicService, kMagicStats}));
  auto parsed = GPUCR_TRY(parse_all<StatsEntry>(entries, p));
  if (parsed.size() != 1) {
    return fail(Error(p.string() + " is not a valid CRIU stats file: " + std::to_string(parsed.size()) + " entries",
                      Exit::bad_input));
  }
  return std::optional<StatsEntry>(std::move(parsed[0]));
}

Result<std::vector<PstreeEntry>> read_pstree(const fs::path& image_dir) {
  fs::path p = image_dir / "pstree.img";
  auto entries = GPUCR_TRY(read_entries(p, {kMagicCommon, kMagicPstree}));
  auto tree = GPUCR_TRY(parse_all<PstreeEntry>(entries, p));
  if (tree.empty()) return fail(Error(p.string() + " holds no process", Exit::bad_input));
  return tree;
}

}  // namespace gpucr::criu
