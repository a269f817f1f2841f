#include "core/container_host.hpp"

#include "criu/runner.hpp"
#include "runtime/argv.hpp"
#include "util/file.hpp"

namespace gpucr {

ContainerDirs container_dirs(const std::optional<std::filesystem::path>& image_path,
                             const std::optional<std::filesystem::path>& work_path, const std::filesystem::path& cwd) {
  ContainerDirs d;
  d.image = runtime::effective_image_path(image_path, cwd);
  d.work = work_path ? runtime::effective_image_path(work_path, cwd) : d.image;
  return d;
}

JournalContainer journal_container(const ContainerHost& h, const std::string& id) {
  return JournalContainer{id, h.runtime.path().string(), h.runtime.globals()};
}

Error runtime_failure(const ContainerHost& h, const std::string& verb, const std::string& id, const ExitStatus& st,
                      const std::filesystem::path& criu_log) {
  Error e(h.runtime.name() + " " + verb + " of container " + id + " failed (" + st.describe() + ")");
  if (auto log = read_file(criu_log)) e.details = criu::error_lines(*log);
  e.hint = "the runtime's own messages are above; criu's log: " + criu_log.string();
  return e;
}

}  // namespace gpucr
