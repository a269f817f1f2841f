#include "recovery/action_hook.hpp"

#include "common/self_exec.hpp"
#include "criu/action_channel.hpp"
#include "recovery/journal.hpp"
#include "util/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace gpucr::recovery {

bool is_criu_action_hook(int argc, const char* action) { return argc == 1 && action != nullptr; }

int run_criu_action_hook(const proc::ProcessTable& procs, const char* action, const char* journal, uid_t owner) {
  if (!action || std::strcmp(action, "post-dump") != 0 || !journal) return 0;
  auto d = load_journal(journal, owner);
  std::string why;
  if (!d) {
    why = "its journal is gone or unreadable";
  } else if (!procs.alive(d->owner)) {
    why = "gpucr is no longer running";
  } else if (d->cancel) {
    why = "gpucr was asked to stop";
  } else {
    auto answer = criu::ask(journal_side_file(journal, ".sock"), action, Clock::now() + kActionAnswerTimeout);
    if (answer) return 0;
    why = answer.error().what;
  }
  std::fprintf(stderr, "gpucr post-dump hook: abandoning the dump (%s); criu resumes the tasks\n", why.c_str());
  return 1;
}

Result<fs::path> action_script_path(const fs::path& exe) {
  std::error_code ec;
  fs::path self = fs::canonical(exe, ec);
  if (ec && exe == self::kExe && ::access(self::kExe, X_OK) == 0) {
    // The binary was replaced or removed while gpucr runs (a package upgrade; seen on the GPU
    // machine when its copy of the tree was refreshed): its path is gone, but the kernel keeps the
    // running binary reachable as /proc/PID/exe for as long as this gpucr lives, which covers the
    // dump its hook guards.
    self = fs::path("/proc") / std::to_string(::getpid()) / "exe";
    log::warn("gpucr's binary was replaced or removed while running; criu runs the post-dump hook as " +
              self.string());
    ec.clear();
  }
  if (ec) return fail(sys_error("cannot resolve gpucr's binary " + exe.string(), ec.value()));
  for (char c : self.string()) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::strchr("/._+-", c) != nullptr;
    if (!plain) {
      return fail(Error("gpucr's path " + self.string() + " has characters criu's action-script shell would interpret",
                        Exit::failed)
                      .with_hint("install gpucr under a plain path such as /usr/local/bin/gpucr"));
    }
  }
  return self;
}

}  // namespace gpucr::recovery
