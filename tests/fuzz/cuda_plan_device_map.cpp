// cuda::plan_device_map (src/gpu/cuda/device_map.cpp): `--device-map OLD=NEW,...` (and
// GPUCR_DEVICE_MAP for the runtime wrapper) parsed against the checkpoint host's GPUs (from the
// manifest) and this host's, and completed into the full one-to-one map the driver needs.
// Input (text):
//   line 1   the checkpoint host's GPUs: tokens CHIP+N, e.g. "a1 a2 b3" (chip 'a', UUID number N)
//   line 2   this host's GPUs, the same way
//   line 3   the UUID numbers the CUDA processes used, e.g. "1 3"
//   rest     the --device-map text; without a fourth line, no --device-map
// Properties (UUIDs distinct on each host): a plan pairs every checkpointed GPU, in order, with a
// distinct local GPU of the same chip (or the same GPU) and uses every local GPU; its describe() text, given as
// --device-map, plans the same pairs; an empty plan means every needed GPU is here.
#include "fuzz_support.hpp"
#include "gpu/cuda/device_map.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <set>

using namespace gpucr;

namespace {

cuda::Uuid uuid_number(unsigned n) {
  cuda::Uuid u;
  u.bytes[0] = 0x86;
  u.bytes[14] = static_cast<std::uint8_t>(n >> 8);
  u.bytes[15] = static_cast<std::uint8_t>(n);
  return u;
}

unsigned number(std::string_view s) {
  unsigned n = 0;
  for (char c : s) n = (n * 10 + static_cast<unsigned>(c - '0')) & 0xffff;
  return n;
}

std::vector<cuda::GpuInfo> gpus(const std::string& line) {
  std::vector<cuda::GpuInfo> out;
  for (const auto& tok : split_ws(line)) {
    if (out.size() == 16) break;
    cuda::GpuInfo g;
    g.index = static_cast<int>(out.size());
    g.name = std::string("chip-") + tok[0];
    g.uuid = uuid_number(number(tok.substr(1)));
    out.push_back(std::move(g));
  }
  return out;
}

bool distinct(const std::vector<cuda::GpuInfo>& v) {
  std::set<cuda::Uuid> s;
  for (const auto& g : v) s.insert(g.uuid);
  return s.size() == v.size();
}

const cuda::GpuInfo* find(const std::vector<cuda::GpuInfo>& v, const cuda::Uuid& u) {
  for (const auto& g : v) {
    if (g.uuid == u) return &g;
  }
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) {
    size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (nl == std::string_view::npos) break;
  }
  lines.resize(3);
  bool has_map = size > 0 && std::count(data, data + size, '\n') >= 3;
  std::optional<std::string> user_map;
  if (has_map) user_map = std::string(text);

  auto old_gpus = gpus(lines[0]);
  auto local = gpus(lines[1]);
  std::vector<cuda::Uuid> needed;
  for (const auto& tok : split_ws(lines[2])) {
    if (needed.size() < 16) needed.push_back(uuid_number(number(tok)));
  }

  auto plan = cuda::plan_device_map(old_gpus, needed, local, user_map);
  if (!plan) {
    auto e = plan.error().exit;
    FUZZ_CHECK(e == Exit::usage || e == Exit::bad_input || e == Exit::missing_dependency);
    return 0;
  }
  if (plan->pairs.empty()) {
    // No map: none asked for, `auto` finding the same GPUs here (identity), or no GPUs at all.
    bool automatic = !user_map || *user_map == "auto";
    FUZZ_CHECK(automatic || old_gpus.empty());
    if (automatic) {
      for (const auto& u : needed) FUZZ_CHECK(find(local, u) != nullptr);
    }
    return 0;
  }
  if (!distinct(old_gpus) || !distinct(local)) return 0;
  FUZZ_CHECK(plan->pairs.size() == old_gpus.size());
  FUZZ_CHECK(local.size() == old_gpus.size());
  std::set<cuda::Uuid> used;
  for (size_t i = 0; i < plan->pairs.size(); ++i) {
    const auto& p = plan->pairs[i];
    FUZZ_CHECK(p.old_gpu == old_gpus[i].uuid);
    const cuda::GpuInfo* n = find(local, p.new_gpu);
    // Same chip, or the very GPU (same UUID: the name may differ between driver versions).
    FUZZ_CHECK(n != nullptr && (n->name == old_gpus[i].name || n->uuid == old_gpus[i].uuid));
    FUZZ_CHECK(used.insert(p.new_gpu).second);
  }
  auto again = cuda::plan_device_map(old_gpus, needed, local, plan->describe());
  FUZZ_CHECK(again.ok() && again->describe() == plan->describe());
  return 0;
}
