// criu::split_entries (src/criu/image.cpp): the framing of every CRIU image gpucr reads, with
// the magics it reads them with (inventory.img, pstree.img, stats-dump/stats-restore).
// Property: an image that splits frames back to the same bytes (join_entries).
#include "criu/image.hpp"
#include "fuzz_support.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::as_text(data, size);
  for (criu::ImageMagic m : {criu::ImageMagic{0, criu::kMagicInventory}, criu::ImageMagic{criu::kMagicCommon, criu::kMagicPstree},
                             criu::ImageMagic{criu::kMagicService, criu::kMagicStats}}) {
    auto entries = criu::split_entries(bytes, m, "fuzz.img");
    if (!entries) {
      FUZZ_CHECK(entries.error().exit == Exit::bad_input);
      continue;
    }
    FUZZ_CHECK(criu::join_entries(m, *entries) == bytes);
  }
  return 0;
}
