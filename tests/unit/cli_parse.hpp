// Parses a command line with CLI11 the way gpucr's main does, for the CLI tests.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace gpucr::fakes {

// Parses `args` (without the program name) on `app`; throws CLI::ParseError subclasses.
inline void parse(CLI::App& app, std::vector<std::string> args) {
  args.insert(args.begin(), "gpucr");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

}  // namespace gpucr::fakes
