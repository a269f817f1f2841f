#include "criu/inventory.hpp"

namespace gpucr::criu {

const char* to_string(PluginsField f) {
  switch (f) {
    case PluginsField::missing: return "missing";
    case PluginsField::empty: return "empty";
    case PluginsField::listed: return "listed";
  }
  return "?";
}

PluginsField Inventory::plugins_field() const {
  if (!entry.has_plugins_entry()) return PluginsField::missing;
  return entry.plugins_entry().plugins_size() == 0 ? PluginsField::empty : PluginsField::listed;
}

std::vector<std::string> Inventory::plugins() const {
  const auto& p = entry.plugins_entry().plugins();
  return {p.begin(), p.end()};
}

void Inventory::set_plugins(const std::vector<std::string>& names) {
  auto* pe = entry.mutable_plugins_entry();
  pe->clear_plugins();
  for (const auto& n : names) pe->add_plugins(n);
}

Result<Inventory> parse_inventory(std::string_view bytes, const std::string& name) {
  auto entries = GPUCR_TRY(split_entries(bytes, {0, kMagicInventory}, name));
  auto corrupt = [&](const std::string& why) {
    return fail(Error(name + " is not a valid CRIU inventory: " + why, Exit::bad_input)
                    .with_hint("the image directory is damaged or incomplete; checkpoint again or use an intact copy"));
  };
  if (entries.size() != 1) return corrupt("expected one entry, found " + std::to_string(entries.size()));
  Inventory inv;
  if (!inv.entry.ParseFromString(entries[0])) return corrupt("the entry does not parse");
  if (!inv.entry.has_img_version()) return corrupt("img_version is missing");
  return inv;
}

std::string serialize_inventory(const Inventory& inv) {
  return join_entries({0, kMagicInventory}, {inv.entry.SerializeAsString()});
}

Result<Inventory> read_inventory(const fs::path& image_dir) {
  fs::path p = image_dir / kInventoryFile;
  auto bytes = read_file(p);
  if (!bytes) {
    return fail(std::move(bytes).error().with_exit(Exit::bad_input).with_hint(
        "is " + image_dir.string() + " a CRIU image directory? it has no readable " + kInventoryFile));
  }
  return parse_inventory(*bytes, p.string());
}

Status write_inventory(const fs::path& image_dir, const Inventory& inv) {
  return write_file_atomic(image_dir / kInventoryFile, serialize_inventory(inv), 0600);
}

Status record_plugins(const fs::path& image_dir, const std::vector<std::string>& names) {
  fs::path p = image_dir / kInventoryFile;
  auto before = read_file(p);
  if (!before) return fail(std::move(before).error().with_exit(Exit::bad_input));
  Inventory inv = GPUCR_TRY(parse_inventory(*before, p.string()));
  inv.set_plugins(names);
  std::string after = serialize_inventory(inv);
  if (after == *before) return {};
  return write_file_atomic(p, after, 0600);
}

}  // namespace gpucr::criu
