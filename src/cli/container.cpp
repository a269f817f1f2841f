// The CONTAINER positional and the runtime options of `gpucr checkpoint/restore`, and what they
// put into the requests (ContainerRef).
#include "cli/commands.hpp"
#include "cli/paths.hpp"
#include "runtime/cli_runtime.hpp"

namespace gpucr::cli {

void add_container_options(CLI::App* sub, ContainerCli& c, bool restore) {
  sub->add_option("container", c.container, "Container id: checkpoint/restore it through its OCI runtime")
      ->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("CONTAINER must not be empty") : std::string(); },
                             "ID"));
  sub->add_option("--runtime", c.runtime, "OCI runtime of the container: runc (default), crun, or a path");
  sub->add_option("--root", c.root, "The runtime's state directory (its --root)");
  sub->add_option("--lock-wait", c.lock_wait_s,
                  "Seconds to wait while another gpucr operation holds the process tree or container (default 60)")
      ->check(seconds_between(0.0, 86400.0));
  if (restore) {
    sub->add_option("--bundle,-b", c.bundle, "The container's OCI bundle (restore of a container)");
    sub->add_option("--console-socket", c.console_socket, "Passed to the runtime's restore");
  }
}

void add_deadline_option(CLI::App* sub, std::optional<std::chrono::seconds>& deadline) {
  sub->add_option_function<int>(
         "--criu-deadline", [&deadline](const int& s) { deadline = std::chrono::seconds(s); },
         "Seconds criu (or the runtime's checkpoint/restore) may run before gpucr stops it and rolls back "
         "(default: 120 + 20 per GiB it moves)")
      ->check(CLI::Range(1, 7 * 86400));
}

Result<ContainerRef> container_ref(const ContainerCli& c) {
  ContainerRef ref;
  ref.id = c.container;
  ref.runtime = GPUCR_TRY(runtime::resolve_runtime(c.runtime));
  if (c.root) ref.globals = {"--root", c.root->string()};
  ref.bundle = c.bundle;
  ref.console_socket = c.console_socket;
  GPUCR_TRY(absolute_path(ref.bundle, "--bundle"));
  return ref;
}

}  // namespace gpucr::cli
