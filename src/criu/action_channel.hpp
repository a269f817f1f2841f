// criu's action scripts relayed to the gpucr that runs criu.
//
// criu runs its --action-script at fixed points of a dump or restore (docs/FACTS.md §4); at
// "post-dump" the tasks are dumped and still frozen, and a failing script makes criu resume them
// instead of killing them. gpucr is that script (recovery/action_hook.hpp), but the work to do
// there (completing the image while nothing can be lost) belongs to the gpucr process that runs
// criu, whose driver holds the manifest. So the hook asks it over a unix socket:
//
//   hook -> gpucr:   "ACTION\n"                 e.g. "post-dump\n"
//   gpucr -> hook:   "ok\n" | "fail REASON\n"   the hook exits 0 or 1 accordingly
//
// The socket is RUN_DIR/ops/<op>.sock (mode 0600, removed with the server). A hook that can't
// connect, or gets no answer before its deadline, fails: criu then resumes the tasks.
#pragma once

#include "util/fd.hpp"
#include "util/result.hpp"
#include "util/subprocess.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr::criu {

class ActionServer {
 public:
  using Handler = std::function<Status(std::string_view action)>;

  ActionServer() = default;
  ActionServer(ActionServer&&) = default;
  ActionServer& operator=(ActionServer&&) = default;
  ~ActionServer();

  static Result<ActionServer> listen(const std::filesystem::path& socket);
  // Readable when a hook is waiting: poll it beside the child running criu.
  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  // Answers every hook waiting now with `handler`'s verdict; returns the actions answered.
  std::vector<std::string> serve(const Handler& handler);

 private:
  UniqueFd fd_;
  std::filesystem::path path_;
};

// The hook's side: sends `action` to the server at `socket` and waits for its verdict until
// `deadline`. An error says why the hook must fail (no server, a refusal, no answer).
Status ask(const std::filesystem::path& socket, std::string_view action, Clock::time_point deadline);

}  // namespace gpucr::criu
