// FakeHandlerProbe: a host with exactly the GPU handlers a test says, counting the probes.
#pragma once

#include "criu/plugins.hpp"

#include <map>

namespace gpucr::fakes {

class FakeHandlerProbe : public criu::HandlerProbe {
 public:
  std::map<std::string, criu::Availability, std::less<>> handlers;  // absent: not available
  mutable int probes = 0;

  criu::Availability probe(std::string_view plugin, const fs::path&) const override {
    ++probes;
    auto it = handlers.find(plugin);
    if (it != handlers.end()) return it->second;
    return {false, std::string(plugin) + " handler not installed (fake host)", "install the " + std::string(plugin) + " handler"};
  }
};

}  // namespace gpucr::fakes
