// `gpucr inspect DIR|FILE|-`: what an image directory or a checkpoint archive holds, and whether
// this host can take it: the destination's verdict and the GPU map a restore would use.
#include "cli/amd_host.hpp"
#include "cli/amd_options.hpp"
#include "cli/commands.hpp"
#include "cli/compose.hpp"
#include "cli/output.hpp"
#include "core/amd_inspect.hpp"
#include "core/destination.hpp"
#include "core/handler_probe.hpp"
#include "core/inspect.hpp"
#include "core/portable.hpp"
#include "gpu/cuda/select.hpp"
#include "util/fd.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace gpucr::cli {

namespace {

// An archive (a file, or "-"): its small members extracted into a private directory.
Result<ArchiveView> open_view(const fs::path& path) {
  UniqueFd owned;
  int fd = STDIN_FILENO;
  if (path != "-") {
    owned = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return fail(sys_error("cannot open " + path.string(), errno).with_exit(Exit::bad_input));
    fd = owned.get();
  }
  return open_archive_view(fd, path.string(), scratch_parent());
}

// The verdict of this host on the image (nullopt for a plain criu image).
std::optional<DestinationReport> destination(const std::optional<pb::Manifest>& m, const fs::path& plugin_dir) {
  if (!m) return std::nullopt;
  auto rh = RealHost::create({.quiet = true});  // criu's version matters to the verdict, when there is one
  if (!rh) rh = RealHost::create({.need_criu = false, .quiet = true});
  if (!rh) return std::nullopt;
  auto d = assess_destination(*m, (*rh)->host(), plugin_dir, std::nullopt, std::nullopt);
  if (!d) return std::nullopt;
  return *d;
}

}  // namespace

static int run_inspect(const InspectCommand& cmd) {
  cuda::RealBackendFactory cuda;
  const char* libs = std::getenv("CRIU_LIBS_DIR");
  std::optional<fs::path> libs_dir;
  if (libs && *libs) libs_dir = libs;
  fs::path plugin_dir = criu::plugin_dir(std::nullopt, libs);
  std::error_code ec;
  std::optional<ArchiveView> view;
  if (cmd.dir == "-" || (fs::exists(cmd.dir, ec) && !fs::is_directory(cmd.dir, ec))) {
    auto v = open_view(cmd.dir);
    if (!v) return print_error(v.error());
    view = std::move(*v);
  }
  fs::path dir = view ? view->dir.path() : cmd.dir;
  auto r = inspect(dir, HostHandlerProbe(cuda, libs_dir), plugin_dir);
  if (!r) return print_error(r.error());
  RealAmdHost amd;  // the local AMD topology, for the mapping a restore would use
  auto a = inspect_amd(dir, r->manifest, &amd.host(), effective_checks(&amd.host(), cmd.amd));
  if (!a) return print_error(a.error());
  if (view) {
    r->dir = cmd.dir;
    r->image_bytes = view->image_bytes;
    r->files = view->image_files;
    const auto& s = view->summary;
    r->archive = "archive " + (cmd.dir == "-" ? std::string("on stdin") : cmd.dir.string()) + ": " + s.compression +
                 ", " + std::to_string(s.members) + " members, " + std::to_string(s.data_bytes) +
                 " bytes of data, every member verified against gpucr's index" +
                 (view->top_level.empty() ? std::string() : "; also holds " + join(view->top_level, ", "));
  }
  auto dest = destination(r->manifest, plugin_dir);
  if (cmd.json) {
    auto doc = to_json(*r);
    doc["amd"] = to_json(*a);
    doc["destination"] = dest ? to_json(*dest) : nlohmann::json(nullptr);
    if (view) {
      doc["archive"] = {{"file", cmd.dir.string()},
                        {"compression", view->summary.compression},
                        {"members", view->summary.members},
                        {"data_bytes", view->summary.data_bytes},
                        {"top_level", view->top_level},
                        {"verified", true}};
    }
    print_json(doc);
  } else {
    std::fputs((to_text(*r) + (dest ? to_text(*dest) : std::string()) + to_text(*a)).c_str(), stdout);
  }
  return 0;
}

std::shared_ptr<InspectCommand> add_inspect(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<InspectCommand>();
  auto* sub = app.add_subcommand(
      "inspect",
      "Show what a CRIU image directory (gpucr's or not) or a gpucr checkpoint archive holds, and whether this host "
      "can restore it (the GPU map it would use)");
  sub->add_option("dir", cmd->dir,
                  "Image directory, or checkpoint archive (\"-\": stdin; read whole and verified, page images not "
                  "extracted)")
      ->required();
  add_skip_check_option(sub, cmd->amd);
  sub->add_flag("--json", cmd->json, "Print one JSON document on stdout");
  sub->callback([cmd, &action] { action = [cmd] { return run_inspect(*cmd); }; });
  return cmd;
}

}  // namespace gpucr::cli
