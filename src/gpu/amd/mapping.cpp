#include "gpu/amd/mapping.hpp"

#include "gpu/amd/mapping_explain.hpp"
#include "gpu/amd/mapping_search.hpp"

#include <algorithm>

namespace gpucr::amd {

std::string describe_gpu(const Node& n) { return gpu_name(n.gpu_id) + " (node " + std::to_string(n.id) + ")"; }

Mapping map_gpus(const Topology& checkpointed, const Topology& local, const Checks& checks) {
  Mapping m;
  Search s(checkpointed, local, checks);
  if (s.run()) {
    m.ok = true;
    m.gpus = s.gpus();
    m.cpus = s.cpus();
    auto order = [&](const GpuPair& a, const GpuPair& b) {
      return checkpointed.gpu(a.checkpointed)->id < checkpointed.gpu(b.checkpointed)->id;
    };
    std::sort(m.gpus.begin(), m.gpus.end(), order);
    std::sort(m.cpus.begin(), m.cpus.end(), [](auto& a, auto& b) { return a.checkpointed < b.checkpointed; });
    return m;
  }
  m.mismatches = explain(checkpointed, local, checks);
  return m;
}

std::vector<std::string> mismatch_table(const std::vector<Mismatch>& rows) {
  std::vector<std::vector<std::string>> cells = {
      {"CHECKPOINTED", "LOCAL", "PROPERTY", "CHECKPOINT", "LOCAL VALUE", "RULE"}};
  for (const auto& r : rows) {
    cells.push_back({r.checkpointed, r.local, r.property, r.checkpointed_value, r.local_value, r.rule});
  }
  std::vector<size_t> width(6, 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::vector<std::string> out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.push_back(line);
  }
  return out;
}

}  // namespace gpucr::amd
