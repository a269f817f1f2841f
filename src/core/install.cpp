#include "core/install.hpp"

#include "hooks/hooks_file.hpp"

#include <sys/stat.h>

namespace gpucr {

namespace {

const char* const kWrappers[] = {"gpucr-runc", "gpucr-crun"};

bool is_gpucr_link(const fs::path& link, const fs::path& binary) {
  std::error_code ec;
  if (!fs::is_symlink(link, ec)) return false;
  fs::path target = fs::read_symlink(link, ec);
  if (ec) return false;
  if (target.filename() == "gpucr") return true;
  return fs::equivalent(link, binary, ec);
}

bool is_gpucr_conf(const fs::path& p) {
  auto text = read_file(p);
  return text && text->rfind(kConfMarker, 0) == 0;
}

Result<std::string> write_owned(const fs::path& path, const std::string& content, bool ours_if_exists) {
  std::error_code ec;
  if (fs::exists(path, ec) && !ours_if_exists) {
    return fail(Error(path.string() + " exists and was not written by gpucr", Exit::failed)
                    .with_hint("move it away, or pick another path"));
  }
  fs::create_directories(path.parent_path(), ec);
  if (ec) return fail(sys_error("cannot create " + path.parent_path().string(), ec.value()));
  GPUCR_TRY(write_file_atomic(path, content, 0644));
  return "wrote " + path.string();
}

Result<std::string> link_wrapper(const fs::path& link, const fs::path& binary) {
  std::error_code ec;
  if (fs::symlink_status(link, ec).type() != fs::file_type::not_found) {
    if (!is_gpucr_link(link, binary)) {
      return fail(Error(link.string() + " exists and is not gpucr's link", Exit::failed)
                      .with_hint("move it away, or pass --bin-dir DIR"));
    }
    fs::remove(link, ec);
  }
  fs::create_directories(link.parent_path(), ec);
  fs::create_symlink(binary, link, ec);
  if (ec) return fail(sys_error("cannot create symlink " + link.string(), ec.value()));
  return "linked " + link.string() + " -> " + binary.string();
}

// Removes `path` when `ours` says gpucr wrote it; one line saying what happened, empty if absent.
std::string remove_owned(const fs::path& path, bool ours) {
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() == fs::file_type::not_found) return "";
  if (!ours) return "left " + path.string() + ": not written by gpucr";
  fs::remove(path, ec);
  return ec ? "could not remove " + path.string() + ": " + ec.message() : "removed " + path.string();
}

}  // namespace

std::string podman_conf_text(const fs::path& bin_dir) {
  return std::string(kConfMarker) + "\n# podman: use with `podman --runtime gpucr-runc ...`, or make it the default:\n"
         "# [engine]\n# runtime = \"gpucr-runc\"\n[engine.runtimes]\ngpucr-runc = [\"" +
         (bin_dir / "gpucr-runc").string() + "\"]\ngpucr-crun = [\"" + (bin_dir / "gpucr-crun").string() + "\"]\n";
}

std::string crio_conf_text(const fs::path& bin_dir) {
  return std::string(kConfMarker) +
         "\n# CRI-O: select with a RuntimeClass whose handler is gpucr-runc, or make it the default:\n"
         "# [crio.runtime]\n# default_runtime = \"gpucr-runc\"\n[crio.runtime.runtimes.gpucr-runc]\nruntime_path = \"" +
         (bin_dir / "gpucr-runc").string() + "\"\nruntime_type = \"oci\"\nruntime_root = \"/run/runc\"\n";
}

std::string containerd_conf_text(const fs::path& bin_dir) {
  return "# containerd (config.toml, CRI plugin): runc's shim runs this binary instead of runc\n"
         "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  BinaryName = \"" +
         (bin_dir / "gpucr-runc").string() + "\"\n# ctr: ctr run --runc-binary " + (bin_dir / "gpucr-runc").string() +
         " ...\n";
}

std::string engine_instructions(const fs::path& bin_dir, const InstallOptions& o) {
  std::string s = "\n== podman (" + (o.podman_conf ? "written to " + o.podman_conf->string()
                                                    : std::string("put in /etc/containers/containers.conf.d/50-gpucr.conf")) +
                  "; or run podman --runtime " + (bin_dir / "gpucr-runc").string() + ")\n" + podman_conf_text(bin_dir);
  s += "\n== CRI-O (" + (o.crio_conf ? "written to " + o.crio_conf->string()
                                      : std::string("put in /etc/crio/crio.conf.d/50-gpucr.conf")) +
       ")\n" + crio_conf_text(bin_dir);
  s += "\n== containerd (add to /etc/containerd/config.toml, then restart containerd)\n" + containerd_conf_text(bin_dir);
  return s;
}

Result<std::vector<std::string>> install(const InstallOptions& o) {
  std::vector<std::string> lines;
  if (o.hooks) {
    for (const auto& f : hooks::hook_files(o.gpucr_binary, o.run_dir)) {
      fs::path p = o.hooks_dir / f.name;
      auto existing = read_file(p);
      bool ours = existing && hooks::is_gpucr_hook_file(*existing, f.stage);
      lines.push_back(GPUCR_TRY(write_owned(p, f.content, ours)));
    }
  }
  if (o.links) {
    for (const char* w : kWrappers) lines.push_back(GPUCR_TRY(link_wrapper(o.bin_dir / w, o.gpucr_binary)));
  }
  if (o.podman_conf) lines.push_back(GPUCR_TRY(write_owned(*o.podman_conf, podman_conf_text(o.bin_dir), is_gpucr_conf(*o.podman_conf))));
  if (o.crio_conf) lines.push_back(GPUCR_TRY(write_owned(*o.crio_conf, crio_conf_text(o.bin_dir), is_gpucr_conf(*o.crio_conf))));
  return lines;
}

Result<std::vector<std::string>> uninstall(const InstallOptions& o) {
  std::vector<std::string> lines;
  auto add = [&](std::string l) {
    if (!l.empty()) lines.push_back(std::move(l));
  };
  if (o.hooks) {
    for (const auto& f : hooks::hook_files(o.gpucr_binary, o.run_dir)) {
      fs::path p = o.hooks_dir / f.name;
      auto text = read_file(p);
      add(remove_owned(p, text && hooks::is_gpucr_hook_file(*text, f.stage)));
    }
  }
  if (o.links) {
    for (const char* w : kWrappers) add(remove_owned(o.bin_dir / w, is_gpucr_link(o.bin_dir / w, o.gpucr_binary)));
  }
  if (o.podman_conf) add(remove_owned(*o.podman_conf, is_gpucr_conf(*o.podman_conf)));
  if (o.crio_conf) add(remove_owned(*o.crio_conf, is_gpucr_conf(*o.crio_conf)));
  return lines;
}

}  // namespace gpucr
