// recovery::load_journal (src/recovery/journal.cpp): RUN_DIR/ops/ID.json as recovery, the
// guardian, criu's action script and a container's poststop hook read it (read, JSON parse,
// journal_from_json), then what recovery does with its fields (src/recovery/recover.cpp): the
// freezer record as a pb::FreezerRecord (freezer_step), the device map's UUID pairs (parse_map),
// the container id.
// Property: a journal read writes back (to_json) to a document that reads to the same journal.
#include "freezer/keeper.hpp"
#include "fuzz_support.hpp"
#include "recovery/journal.hpp"
#include "runtime/container_id.hpp"
#include "util/strings.hpp"

#include <google/protobuf/util/json_util.h>

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const fs::path path = fuzz::private_dir() / "ops" / "checkpoint-1-00000000.json";
  fuzz::put(path, fuzz::as_text(data, size));
  auto d = recovery::load_journal(path);
  if (!d) {
    FUZZ_CHECK(d.error().exit == Exit::bad_input);
    return 0;
  }
  // Round trip: what gpucr would write for this journal reads back the same.
  nlohmann::json written = recovery::to_json(*d);
  auto again = recovery::journal_from_json(nlohmann::json::parse(written.dump(1)), "rewritten");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(recovery::to_json(*again) == written);

  // recover.cpp's freezer_step: the record through protobuf's JSON parser.
  if (!d->freezer.is_null()) {
    pb::FreezerRecord rec;
    if (google::protobuf::util::JsonStringToMessage(d->freezer.dump(), &rec).ok()) {
      (void)freezer::from_record(rec).describe();
    }
  }
  // recover.cpp's parse_map: "OLD=NEW,..." of GPU UUIDs.
  if (!d->device_map.empty()) {
    for (const auto& item : split(d->device_map, ',')) {
      auto eq = item.find('=');
      if (eq == std::string::npos) break;
      if (!cuda::parse_uuid(item.substr(0, eq)) || !cuda::parse_uuid(item.substr(eq + 1))) break;
    }
  }
  for (const auto& p : d->processes) (void)cuda::to_string(p.target);
  if (d->container) (void)runtime::check_container_id(d->container->id);
  return 0;
}
