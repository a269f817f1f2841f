#include "cli/commands.hpp"
#include "version.hpp"

#include <google/protobuf/stubs/common.h>

#include <cstdio>

namespace gpucr::cli {

void add_version(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("version", "Print gpucr's version");
  sub->callback([&action] {
    action = [] {
      std::printf("gpucr %s\n", kVersion);
      return 0;
    };
  });
}

}  // namespace gpucr::cli
