// The freezer seam: which freezer cgroup holds a process, its state, freezing and thawing it.
// Real: CgroupFs (freezer/cgroup_fs.hpp, cgroup v1 and v2). Fake: tests/unit/fake_freezer.hpp.
//
// Control files, per version:
//   v1 (freezer controller): freezer.state reads THAWED, FREEZING or FROZEN (the effective state,
//      parents included) and takes THAWED or FROZEN; freezer.parent_freezing is 1 when an
//      ancestor is frozen (a child can't be thawed then).
//   v2 (unified hierarchy, kernel >= 5.2): cgroup.freeze holds 0 or 1 (what was asked of this
//      cgroup); the `frozen 0|1` line of cgroup.events is the effective state. cgroup.freeze 1
//      with frozen 0 is FREEZING; cgroup.freeze 0 with frozen 1 means an ancestor is frozen.
//      The root cgroup has no cgroup.freeze: it can't be frozen.
// FREEZING counts as frozen everywhere in gpucr (counts_as_frozen).
#pragma once

#include "util/file.hpp"
#include "util/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace gpucr::freezer {

enum class Version { v1 = 1, v2 = 2 };
enum class State { thawed, freezing, frozen };

const char* to_string(Version v);  // "v1", "v2"
const char* to_string(State s);    // "THAWED", "FREEZING", "FROZEN"
inline bool counts_as_frozen(State s) { return s != State::thawed; }

struct Cgroup {
  Version version = Version::v1;
  std::string path;  // inside its hierarchy, as /proc/PID/cgroup shows it ("/a/b"); empty when
                     // the cgroup was given by directory (--freeze-cgroup)
  fs::path dir;      // the directory holding its control files
  // "cgroup v1 freezer /a/b (/sys/fs/cgroup/freezer/a/b)", for messages.
  std::string describe() const;
};

// The freezer cgroup of a process, or why it has none.
struct Lookup {
  std::optional<Cgroup> cgroup;
  std::string none_reason;  // set when !cgroup: e.g. the process is in the root cgroup
};

class Freezer {
 public:
  virtual ~Freezer() = default;
  // The freezer cgroup `pid` is in. A pid in the root cgroup of every freezer hierarchy has
  // none (the root can't be frozen): that is a Lookup without cgroup, not an error. Fails
  // (bad_input) when the pid does not exist.
  virtual Result<Lookup> find(pid_t pid) const = 0;
  // A cgroup named by its directory: v1 when it has freezer.state, else v2 when it has
  // cgroup.freeze (as criu decides for --freeze-cgroup); otherwise an error (usage).
  virtual Result<Cgroup> at(const fs::path& dir) const = 0;
  // False once the cgroup's directory is gone (a container's cgroup removed after its dump).
  virtual bool exists(const Cgroup& cg) const = 0;
  virtual Result<State> state(const Cgroup& cg) const = 0;
  // Asks the kernel to freeze (thaw) the cgroup and waits until it really is FROZEN (THAWED).
  // Past `timeout` the error says what state it is stuck in. Thawing a cgroup whose ancestor is
  // frozen fails at once, naming that.
  virtual Status freeze(const Cgroup& cg, std::chrono::milliseconds timeout) = 0;
  virtual Status thaw(const Cgroup& cg, std::chrono::milliseconds timeout) = 0;
};

}  // namespace gpucr::freezer
