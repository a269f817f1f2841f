#include "criu/inventory.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace gpucr::criu {

namespace {

constexpr std::uint32_t kPluginsFieldNumber = 12;

struct FieldSpan {
  std::uint32_t number;
  size_t begin, end;
};

// The top-level fields of a serialized message, in file order, with their byte spans; false
// when the bytes are not a well-formed protobuf message.
bool scan_fields(std::string_view msg, std::vector<FieldSpan>& out) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(msg.data()),
                                            static_cast<int>(msg.size()));
  while (static_cast<size_t>(in.CurrentPosition()) < msg.size()) {
    auto begin = static_cast<size_t>(in.CurrentPosition());
    std::uint32_t tag = in.ReadTag();
    if ((tag >> 3) == 0 || !google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) return false;
    out.push_back({tag >> 3, begin, static_cast<size_t>(in.CurrentPosition())});
  }
  return true;
}

// Field 12 (length-delimited) holding `entry.plugins_entry()`.
std::string plugins_field_bytes(const InventoryEntry& entry) {
  std::string body = entry.plugins_entry().SerializeAsString();
  std::string out(1, static_cast<char>(kPluginsFieldNumber << 3 | 2));
  for (size_t n = body.size(); ; n >>= 7) {
    out.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
    if (n <= 0x7f) break;
  }
  return out + body;
}

bool same_plugins(const InventoryEntry& a, const InventoryEntry& b) {
  return a.has_plugins_entry() == b.has_plugins_entry() &&
         a.plugins_entry().SerializeAsString() == b.plugins_entry().SerializeAsString();
}

// `inv.raw` with its plugins field(s) replaced by the one in `inv.entry`, at the place of the
// first one, or where field order puts it (before the first higher field number).
std::string splice_plugins(const Inventory& inv) {
  std::vector<FieldSpan> fields;
  scan_fields(inv.raw, fields);  // parse_inventory checked that the bytes scan
  std::string field = inv.entry.has_plugins_entry() ? plugins_field_bytes(inv.entry) : std::string();
  std::string out;
  bool placed = false;
  for (const auto& f : fields) {
    if (!placed && f.number >= kPluginsFieldNumber) {
      out += field;
      placed = true;
    }
    if (f.number != kPluginsFieldNumber) out.append(inv.raw, f.begin, f.end - f.begin);
  }
  if (!placed) out += field;
  return out;
}

}  // namespace

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
  std::vector<FieldSpan> fields;
  // Partial parse: a missing required field gets its own message below, not protobuf's log line.
  if (!scan_fields(entries[0], fields) || !inv.entry.ParsePartialFromString(entries[0])) {
    return corrupt("the entry does not parse");
  }
  inv.raw = std::move(entries[0]);
  if (!inv.entry.has_img_version()) return corrupt("img_version is missing");
  return inv;
}

std::string serialize_inventory(const Inventory& inv) {
  if (inv.raw.empty()) return join_entries({0, kMagicInventory}, {inv.entry.SerializeAsString()});
  InventoryEntry original;
  original.ParsePartialFromString(inv.raw);
  if (same_plugins(original, inv.entry)) return join_entries({0, kMagicInventory}, {inv.raw});
  return join_entries({0, kMagicInventory}, {splice_plugins(inv)});
}

Result<Inventory> read_inventory(const fs::path& image_dir) {
  fs::path p = image_dir / kInventoryFile;
  auto bytes = read_untrusted(p, {.max_bytes = kMaxImageBytes});
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
  auto recording = [](Error e) { return fail(std::move(e).context("recording the plugins field")); };
  auto before = read_untrusted(p, {.max_bytes = kMaxImageBytes});
  if (!before) return recording(std::move(before).error().with_exit(Exit::bad_input));
  auto inv = parse_inventory(*before, p.string());
  if (!inv) return recording(std::move(inv).error());
  inv->set_plugins(names);
  std::string after = serialize_inventory(*inv);
  if (after == *before) return {};
  auto st = write_file_atomic(p, after, 0600);
  if (!st) return recording(std::move(st).error());
  return {};
}

}  // namespace gpucr::criu
