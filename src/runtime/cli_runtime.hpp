// The real runtime: runc or crun run through their command line (argv vectors, never a shell).
#pragma once

#include "runtime/runtime.hpp"

#include <optional>

namespace gpucr::runtime {

class CliRuntime : public Runtime {
 public:
  CliRuntime(fs::path path, std::vector<std::string> globals)
      : path_(std::move(path)), globals_(std::move(globals)) {}
  std::string name() const override;
  fs::path path() const override { return path_; }
  std::vector<std::string> globals() const override { return globals_; }
  Result<ContainerState> state(const std::string& id) override;
  Result<std::unique_ptr<Running>> start(const std::vector<std::string>& args, const Env& env = {},
                                         const Started& started = {}) override;

 private:
  fs::path path_;
  std::vector<std::string> globals_;
};

class CliRuntimeFactory : public RuntimeFactory {
 public:
  std::unique_ptr<Runtime> open(const fs::path& path, const std::vector<std::string>& globals) override {
    return std::make_unique<CliRuntime>(path, globals);
  }
};

// Resolves --runtime (a name searched in PATH, or a path) to an executable. Refuses gpucr itself
// (its wrapper names included): gpucr would then lock and orchestrate twice.
Result<fs::path> resolve_runtime(const std::string& name_or_path);

// The real runtime behind the wrapper invoked as `gpucr-NAME`: $GPUCR_RUNTIME when set (a name
// or a path), else NAME in PATH, skipping every candidate that is this gpucr binary.
Result<fs::path> resolve_wrapped_runtime(const std::string& name);

// True when `p` resolves to the running gpucr executable (/proc/self/exe).
bool is_self(const fs::path& p);

}  // namespace gpucr::runtime
