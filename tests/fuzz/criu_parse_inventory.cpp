// criu::parse_inventory (src/criu/inventory.cpp): inventory.img as `gpucr inspect` and restore
// read it (read_inventory), then what they do with it: the plugins field, its rewrite after a
// dump (record_plugins: set_plugins + serialize_inventory) and inspect's text and JSON output.
// Properties: an unchanged inventory serializes to the very bytes read; a rewritten one parses
// again, lists exactly the names set, and keeps img_version.
#include "core/inspect.hpp"
#include "criu/inventory.hpp"
#include "fuzz_support.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::as_text(data, size);
  auto inv = criu::parse_inventory(bytes, "inventory.img");
  if (!inv) {
    FUZZ_CHECK(inv.error().exit == Exit::bad_input);
    return 0;
  }
  FUZZ_CHECK(criu::serialize_inventory(*inv) == bytes);
  (void)criu::to_string(inv->plugins_field());
  (void)inv->plugins();

  // `gpucr inspect` (text and --json) over this inventory.
  InspectReport r;
  r.inventory = *inv;
  r.pstree.emplace_back().set_pid(1);
  (void)to_text(r);
  (void)to_json(r).dump(2);  // gpucr writes no string that dump() refuses

  // The rewrite after a dump, for each of the three states of the field.
  for (const std::vector<std::string>& names :
       {std::vector<std::string>{}, std::vector<std::string>{"cuda_plugin"},
        std::vector<std::string>{"cuda_plugin", "amdgpu_plugin"}}) {
    criu::Inventory edited = *inv;
    edited.set_plugins(names);
    std::string out = criu::serialize_inventory(edited);
    auto again = criu::parse_inventory(out, "inventory.img (rewritten)");
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->plugins_field() == (names.empty() ? criu::PluginsField::empty : criu::PluginsField::listed));
    FUZZ_CHECK(again->plugins() == names);
    FUZZ_CHECK(again->entry.img_version() == inv->entry.img_version());
  }
  return 0;
}
