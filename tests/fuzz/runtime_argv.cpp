// The runtime wrapper's command line (src/runtime/argv.cpp): an engine's argv for gpucr-runc /
// gpucr-crun as src/cli/wrapper.cpp handles it (split_invocation, then parse_checkpoint or
// parse_restore), the restore command line gpucr passes on with its own image path
// (with_image_path, core/container_restore_target.cpp), and the prestart hook's reading of its
// parent runtime's command line (restore_image_of, core/container_hooks.cpp).
// Input: the arguments after argv[0], NUL-separated as in /proc/PID/cmdline.
// Properties:
//   - a restore that parses still parses after with_image_path(), with the image path gpucr
//     gave (every --image-path replaced), the work path kept or added, and nothing else changed;
//   - a checkpoint or restore that parses is rebuilt by checkpoint_argv()/restore_argv() into a
//     command line that parses to the same options (ids gpucr accepts only).
#include "core/container_hooks.hpp"
#include "fuzz_support.hpp"
#include "runtime/argv.hpp"
#include "runtime/container_id.hpp"

#include <variant>

using namespace gpucr;
using runtime::CheckpointArgs;
using runtime::RestoreArgs;

namespace {

bool same_restore(const RestoreArgs& a, const RestoreArgs& b, bool except_paths) {
  return a.id == b.id && (except_paths || (a.image_path == b.image_path && a.work_path == b.work_path)) &&
         a.bundle == b.bundle && a.detach == b.detach && a.pid_file == b.pid_file &&
         a.console_socket == b.console_socket && a.tcp_established == b.tcp_established &&
         a.ext_unix_sk == b.ext_unix_sk && a.shell_job == b.shell_job && a.file_locks == b.file_locks &&
         a.manage_cgroups_mode == b.manage_cgroups_mode;
}

bool same_checkpoint(const CheckpointArgs& a, const CheckpointArgs& b) {
  return a.id == b.id && a.image_path == b.image_path && a.work_path == b.work_path &&
         a.leave_running == b.leave_running && a.tcp_established == b.tcp_established &&
         a.ext_unix_sk == b.ext_unix_sk && a.shell_job == b.shell_job && a.file_locks == b.file_locks &&
         a.pre_dump == b.pre_dump && a.manage_cgroups_mode == b.manage_cgroups_mode;
}

void restore(const runtime::Invocation& inv) {
  auto parsed = runtime::parse_restore(inv.command_args);
  auto* a = std::get_if<RestoreArgs>(&parsed);
  if (!a) return;

  std::vector<std::string> verbatim{inv.command};
  verbatim.insert(verbatim.end(), inv.command_args.begin(), inv.command_args.end());
  for (const std::optional<fs::path>& work : {std::optional<fs::path>(), std::optional<fs::path>("/w/view-work")}) {
    auto out = runtime::with_image_path(verbatim, "/i/view", work);
    FUZZ_CHECK(!out.empty() && out.front() == inv.command);
    auto again = runtime::parse_restore({out.begin() + 1, out.end()});
    auto* b = std::get_if<RestoreArgs>(&again);
    FUZZ_CHECK(b != nullptr);
    FUZZ_CHECK(b->image_path == fs::path("/i/view"));
    FUZZ_CHECK(b->work_path == (a->work_path ? a->work_path : work));
    FUZZ_CHECK(same_restore(*a, *b, /*except_paths=*/true));
  }

  if (runtime::valid_container_id(a->id)) {
    auto rebuilt = runtime::restore_argv(*a);
    auto again = runtime::parse_restore({rebuilt.begin() + 1, rebuilt.end()});
    auto* b = std::get_if<RestoreArgs>(&again);
    FUZZ_CHECK(b != nullptr && same_restore(*a, *b, false));
  }
}

void checkpoint(const runtime::Invocation& inv) {
  auto parsed = runtime::parse_checkpoint(inv.command_args);
  auto* a = std::get_if<CheckpointArgs>(&parsed);
  if (!a) return;
  FUZZ_CHECK(!a->pre_dump);  // a pre-dump is passed through
  (void)runtime::effective_image_path(a->image_path, "/cwd");
  if (runtime::valid_container_id(a->id)) {
    auto rebuilt = runtime::checkpoint_argv(*a);
    auto again = runtime::parse_checkpoint({rebuilt.begin() + 1, rebuilt.end()});
    auto* b = std::get_if<CheckpointArgs>(&again);
    FUZZ_CHECK(b != nullptr && same_checkpoint(*a, *b));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::vector<std::string> args = fuzz::split_at(fuzz::as_text(data, size), std::string_view("\0", 1));
  if (!args.empty() && args.back().empty()) args.pop_back();  // cmdline's final NUL

  auto inv = runtime::split_invocation(args);
  if (inv) {
    FUZZ_CHECK(inv->globals.size() + inv->command_args.size() <= args.size());
    if (inv->command == "checkpoint") checkpoint(*inv);
    if (inv->command == "restore") restore(*inv);
  } else {
    FUZZ_CHECK(inv.error().exit == Exit::usage);
  }

  // The prestart hook reads its parent's cmdline (argv[0] included) during a restore.
  std::vector<std::string> parent{"runc"};
  parent.insert(parent.end(), args.begin(), args.end());
  if (!args.empty()) (void)restore_image_of(parent, "/cwd", args.back());
  return 0;
}
