// The one error type of gpucr, and the exit codes it maps to. See ARCHITECTURE.md, "Errors".
#pragma once

#include <string>
#include <vector>

namespace gpucr {

// Process exit codes (documented in man/gpucr.1 and README.md). Stable: scripts depend on them.
enum class Exit : int {
  ok = 0,
  failed = 1,              // the operation failed; every process and cgroup is as it was
  usage = 2,               // bad command line
  bad_input = 3,           // target, image, JSON or file given is unusable
  missing_dependency = 4,  // criu, a GPU backend, a plugin or a GPU this needs is absent
  not_permitted = 5,       // privileges or resources (memory) are insufficient
  rollback_incomplete = 6, // something could not be returned to its initial state: look now
  internal = 70,           // a bug in gpucr
};

// What failed (one line naming the pid, container or file), what to do about it, and
// supporting lines (for example the Error lines of criu's log).
struct Error {
  std::string what;
  std::string hint;
  Exit exit = Exit::failed;
  std::vector<std::string> details;

  Error() = default;
  explicit Error(std::string what_, Exit exit_ = Exit::failed) : what(std::move(what_)), exit(exit_) {}

  Error&& with_hint(std::string h) && { hint = std::move(h); return std::move(*this); }
  Error&& with_exit(Exit e) && { exit = e; return std::move(*this); }
  Error&& with_detail(std::string d) && { details.push_back(std::move(d)); return std::move(*this); }
  // Prefixes the message with context: "reading /x: " + what.
  Error&& context(const std::string& c) && { what = c + ": " + what; return std::move(*this); }
};

// Error from errno: "<what>: <strerror(err)>".
Error sys_error(const std::string& what, int err);

}  // namespace gpucr
