#include "core/checkpoint.hpp"

#include "core/amd_checkpoint.hpp"
#include "core/manifest.hpp"
#include "core/target.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "version.hpp"

#include <sys/utsname.h>
#include <unistd.h>

namespace gpucr {

void record_phases(const std::vector<PhaseTiming>& phases, google::protobuf::RepeatedPtrField<pb::Phase>* out) {
  for (const auto& t : phases) {
    auto* p = out->Add();
    p->set_name(t.name);
    p->set_duration_us(std::chrono::duration_cast<std::chrono::microseconds>(t.took).count());
    p->set_ok(t.ok);
  }
}

namespace {

class CheckpointRun {
 public:
  CheckpointRun(const CheckpointOptions& o, Host& h)
      : opts_(o), host_(h), phases_(h.progress), work_dir_(o.work_dir.value_or(o.image_dir)),
        amd_(h.amd, o.amd, h.procs) {}

  CheckpointReport run() {
    phases_.step("validate target", [&] { return validate_target(); });
    phases_.step("prepare image dir", [&] { return prepare_dirs(); });
    phases_.step("discover processes", [&] { return discover_processes(); });
    phases_.step("amd: detect", [&] { return amd_.detect(tree_); });
    if (amd_.active()) phases_.step("amd: preflight", [&] { return amd_.preflight(); });
    phases_.step("criu dump", [&] { return criu_dump(); }, [&] { return image_size_detail(); });
    phases_.step("write manifest", [&] { return write_manifest_phase(); });
    return report();
  }

 private:
  Status validate_target() {
    root_ = GPUCR_TRY(validate_root(host_.procs, opts_.pid));
    if (::geteuid() != 0) {
      return fail(Error("checkpointing pid " + std::to_string(opts_.pid) + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root (criu needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE)"));
    }
    return {};
  }

  Status prepare_dirs() {
    GPUCR_TRY(make_private_dir(opts_.image_dir, /*must_be_empty=*/true));
    if (work_dir_ != opts_.image_dir) GPUCR_TRY(make_private_dir(work_dir_, /*must_be_empty=*/false));
    return {};
  }

  Status discover_processes() {
    tree_ = GPUCR_TRY(discover_tree(host_.procs, opts_.pid));
    log::info("process tree of pid " + std::to_string(opts_.pid) + ": " + std::to_string(tree_.size()) +
              " processes");
    return {};
  }

  Status criu_dump() {
    criu::DumpFlags f;
    static_cast<criu::CommonFlags&>(f) = opts_.criu_flags;
    f.pid = opts_.pid;
    f.image_dir = opts_.image_dir;
    f.work_dir = work_dir_;
    f.leave_running = opts_.leave_running;
    f.timeout_s = opts_.timeout_s;
    plugins_ = GPUCR_TRY(criu::PluginDir::create(work_dir_, amd_.plugin_files()));
    f.plugin_dir = plugins_.path();  // exactly the plugins this tree needs (core/criu_plugins.hpp)
    criu::Invocation inv{criu::dump_args(f), work_dir_ / criu::kDumpLog, {}};
    auto ran = host_.criu.run(inv, {});
    (void)plugins_.remove();
    auto out = GPUCR_TRY(std::move(ran));
    if (!out.status.success()) {
      Error e("criu dump of pid " + std::to_string(opts_.pid) + " failed (" + out.status.describe() + ")");
      e.details = out.error_lines;
      e.hint = "criu's log: " + inv.log.string() +
               (opts_.leave_running ? "" : "; the process tree was resumed and keeps running");
      return fail(std::move(e));
    }
    return {};
  }

  Status write_manifest_phase() {
    // criu writes stats-dump into its work dir; keep a copy with the images for `gpucr inspect`.
    if (work_dir_ != opts_.image_dir) {
      if (auto stats = read_file(work_dir_ / "stats-dump")) {
        GPUCR_TRY(write_file_atomic(opts_.image_dir / "stats-dump", *stats, 0600));
      }
    }
    fill_manifest();
    return write_manifest(opts_.image_dir, manifest_);
  }

  void fill_manifest() {
    manifest_.set_gpucr_version(kVersion);
    manifest_.set_criu_version(host_.criu.binary().version.str());
    struct utsname u {};
    if (::uname(&u) == 0) {
      manifest_.set_hostname(u.nodename);
      manifest_.set_kernel(u.release);
    }
    manifest_.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    manifest_.mutable_target()->set_root_pid(opts_.pid);
    record_processes(tree_, manifest_.mutable_processes());
    amd_.record(opts_.image_dir, manifest_);
    auto* flags = manifest_.mutable_flags();
    flags->set_leave_running(opts_.leave_running);
    flags->set_tcp_established(opts_.criu_flags.tcp_established);
    flags->set_shell_job(opts_.criu_flags.shell_job);
    flags->set_ext_unix_sk(opts_.criu_flags.ext_unix_sk);
    flags->set_file_locks(opts_.criu_flags.file_locks);
    // Timings of every phase so far; "write manifest" itself is not in the file.
    record_phases(phases_.timings(), manifest_.mutable_phases());
  }

  std::string image_size_detail() const {
    auto n = dir_size(opts_.image_dir);
    return n ? format_bytes(*n) + " written" : std::string();
  }

  CheckpointReport report() {
    CheckpointReport r;
    r.status = phases_.result();
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.image_dir = opts_.image_dir;
    r.criu_log = work_dir_ / criu::kDumpLog;
    r.image_bytes = dir_size(opts_.image_dir).value_or(0);
    r.criu_plugins = amd_.criu_plugins();
    return r;
  }

  const CheckpointOptions& opts_;
  Host& host_;
  Phases phases_;
  fs::path work_dir_;
  proc::ProcInfo root_;
  std::vector<proc::ProcInfo> tree_;
  pb::Manifest manifest_;
  AmdCheckpoint amd_;
  criu::PluginDir plugins_;
};

}  // namespace

CheckpointReport checkpoint(const CheckpointOptions& opts, Host& host) { return CheckpointRun(opts, host).run(); }

}  // namespace gpucr
