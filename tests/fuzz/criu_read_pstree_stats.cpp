// criu::read_pstree and criu::read_stats (src/criu/stats.cpp): pstree.img, stats-dump and
// stats-restore read from an image directory, as `gpucr inspect` and restore read them, then
// inspect's text and JSON output of what was read. The first byte picks the file; the rest is
// its content, written to a file of that name in a private image directory.
#include "core/inspect.hpp"
#include "criu/stats.hpp"
#include "fuzz_support.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const fs::path dir = fuzz::private_dir() / "image";
  static const char* const kFiles[] = {"pstree.img", "stats-dump", "stats-restore"};
  const std::string file = kFiles[data[0] % 3];
  fuzz::put(dir / file, fuzz::as_text(data + 1, size - 1));

  InspectReport r;
  r.pstree.emplace_back().set_pid(1);
  if (file == "pstree.img") {
    auto tree = criu::read_pstree(dir);
    if (!tree) {
      FUZZ_CHECK(tree.error().exit == Exit::bad_input);
      return 0;
    }
    FUZZ_CHECK(!tree->empty());
    r.pstree = std::move(*tree);
  } else {
    auto stats = criu::read_stats(dir, file);
    if (!stats) {
      FUZZ_CHECK(stats.error().exit == Exit::bad_input);
      return 0;
    }
    FUZZ_CHECK(stats->has_value());
    (file == "stats-dump" ? r.dump_stats : r.restore_stats) = std::move(*stats);
  }
  (void)to_text(r);
  (void)to_json(r).dump(2);  // gpucr writes no string that dump() refuses
  return 0;
}
