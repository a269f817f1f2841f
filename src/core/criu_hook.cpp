#include "core/criu_hook.hpp"

#include "core/journal.hpp"
#include "util/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gpucr {

bool is_criu_action_hook(int argc) { return argc == 1 && std::getenv("CRTOOLS_SCRIPT_ACTION") != nullptr; }

int run_criu_action_hook(const proc::ProcessTable& procs) {
  const char* action = std::getenv("CRTOOLS_SCRIPT_ACTION");
  const char* journal = std::getenv(kJournalEnv);
  if (!action || std::strcmp(action, "post-dump") != 0 || !journal) return 0;
  auto d = load_journal(journal);
  const char* why = nullptr;
  if (!d) {
    why = "its journal is gone or unreadable";
  } else if (!procs.alive(d->owner)) {
    why = "gpucr is no longer running";
  } else if (d->cancel) {
    why = "gpucr was asked to stop";
  }
  if (!why) return 0;
  std::fprintf(stderr, "gpucr post-dump hook: abandoning the dump (%s); criu resumes the tasks\n", why);
  return 1;
}

Result<fs::path> action_script_path(const fs::path& exe) {
  std::error_code ec;
  fs::path self = fs::canonical(exe, ec);
  if (ec && exe == "/proc/self/exe" && ::access("/proc/self/exe", X_OK) == 0) {
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

Result<std::map<std::string, std::string>> runtime_hook_env(const fs::path& journal, const fs::path& exe) {
  fs::path script = GPUCR_TRY(action_script_path(exe));
  std::string conf;
  if (const char* own = std::getenv("CRIU_CONFIG_FILE"); own && *own) {
    auto text = read_file(own);
    if (!text) return fail(std::move(text).error().context("reading CRIU_CONFIG_FILE"));
    conf = *text;
    if (!conf.empty() && conf.back() != '\n') conf += '\n';
  }
  conf += "action-script " + script.string() + "\n";
  fs::path file = journal_side_file(journal, ".criu.conf");
  GPUCR_TRY(write_file_atomic(file, conf, 0600));
  return std::map<std::string, std::string>{{"CRIU_CONFIG_FILE", file.string()}, {kJournalEnv, journal.string()}};
}

}  // namespace gpucr
