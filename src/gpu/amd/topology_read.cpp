#include "gpu/amd/topology_read.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace gpucr::amd {

Props parse_props(std::string_view text) {
  Props p;
  for (const auto& line : split(text, '\n')) {
    auto f = split_ws(line);
    if (f.size() != 2 || f[1].empty() || f[1].find_first_not_of("0123456789") != std::string::npos) continue;
    // KFD names its properties in [a-z0-9_]; anything else is not one (and could not be a key
    // of the manifest's string-keyed maps, which must be UTF-8).
    if (f[0].find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) continue;
    errno = 0;
    std::uint64_t v = std::strtoull(f[1].c_str(), nullptr, 10);
    if (errno == 0) p[f[0]] = v;
  }
  return p;
}

namespace {

// Numeric entries of `dir`, in numeric order; a missing directory has none.
Result<std::vector<std::uint32_t>> numeric_entries(const Files& files, const fs::path& dir) {
  std::vector<std::uint32_t> ids;
  if (!files.exists(dir)) return ids;
  for (const auto& name : GPUCR_TRY(files.list(dir))) {
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    ids.push_back(static_cast<std::uint32_t>(std::strtoul(name.c_str(), nullptr, 10)));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<Bank>> read_banks(const Files& files, const fs::path& dir) {
  std::vector<Bank> out;
  for (auto id : GPUCR_TRY(numeric_entries(files, dir))) {
    auto text = GPUCR_TRY(files.read(dir / std::to_string(id) / "properties"));
    out.push_back(Bank{id, parse_props(text)});
  }
  return out;
}

Error unreadable(Error e, std::uint32_t node) {
  return std::move(e)
      .context("KFD topology node " + std::to_string(node))
      .with_exit(Exit::missing_dependency)
      .with_hint("the amdgpu driver's topology must be readable (CRIU's amdgpu plugin reads the same files)");
}

Result<Node> read_node(const Files& files, const fs::path& dir, std::uint32_t id, std::uint32_t gpu_id) {
  Node n;
  n.id = id;
  n.gpu_id = gpu_id;
  if (auto name = files.read(dir / "name")) n.name = std::string(trim(*name));
  auto props = files.read(dir / "properties");
  if (!props) return fail(unreadable(std::move(props).error(), id));
  n.props = parse_props(*props);
  auto links = read_banks(files, dir / "io_links");
  if (!links) return fail(unreadable(std::move(links).error(), id));
  for (auto& b : *links) n.io_links.push_back(Link{b.id, std::move(b.props)});
  auto banks = read_banks(files, dir / "mem_banks");
  if (n.is_gpu()) {
    if (!banks) return fail(unreadable(std::move(banks).error(), id));
    n.mem_banks = std::move(*banks);
    if (n.vram_size() == 0) {
      return fail(unreadable(Error("GPU " + gpu_name(gpu_id) + " has no device-memory bank in " +
                                   (dir / "mem_banks").string()),
                             id));
    }
  } else if (banks) {
    n.mem_banks = std::move(*banks);  // informative only for CPU nodes
  }
  if (auto caches = read_banks(files, dir / "caches")) n.caches = std::move(*caches);
  return n;
}

}  // namespace

Result<Topology> read_topology(const Files& files, const fs::path& root) {
  Topology t;
  fs::path nodes = root / "nodes";
  if (!files.exists(nodes)) return t;
  for (auto id : GPUCR_TRY(numeric_entries(files, nodes))) {
    fs::path dir = nodes / std::to_string(id);
    auto text = files.read(dir / "gpu_id");
    if (!text) {
      t.hidden.push_back({id, text.error().what});
      continue;
    }
    auto gpu_id = parse_int(trim(*text), "gpu_id");
    if (!gpu_id || *gpu_id < 0) {
      t.hidden.push_back({id, "gpu_id is not a number: '" + std::string(trim(*text)) + "'"});
      continue;
    }
    t.nodes.push_back(GPUCR_TRY(read_node(files, dir, id, static_cast<std::uint32_t>(*gpu_id))));
  }
  return t;
}

}  // namespace gpucr::amd
