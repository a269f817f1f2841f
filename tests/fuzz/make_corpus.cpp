// Writes the seed corpora of tests/fuzz/corpus/<harness>/ (docs/FUZZING.md): small valid
// inputs made by gpucr's own writers (encode_manifest, recovery::to_json, join_entries,
// serialize_kfd_image, write_devices_record, hook_files) or taken from the unit tests, and the
// fixture topologies. Run by `scripts/fuzz.sh --make-corpus`; it overwrites only the files it
// names (seed-*), so inputs kept from crashes stay.
//   fuzz_make_corpus CORPUS_ROOT
#include "core/container_gpus.hpp"
#include "core/inspect.hpp"
#include "core/manifest.hpp"
#include "criu/image.hpp"
#include "criu/inventory.hpp"
#include "fuzz_support.hpp"
#include "gpu/amd/files.hpp"
#include "gpu/amd/images.hpp"
#include "gpu/amd/topology_pb.hpp"
#include "gpu/amd/topology_read.hpp"
#include "hooks/hooks_file.hpp"
#include "recovery/journal.hpp"
#include "runtime/paths.hpp"
#include "support.hpp"

#include <unistd.h>

#include <fstream>

using namespace gpucr;

namespace {

fs::path g_root;
const std::string kSep(fuzz::kPartSeparator);

void seed(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::path dir = g_root / harness;
  fs::create_directories(dir);
  std::ofstream(dir / ("seed-" + name), std::ios::binary) << bytes;
}

fs::path fixture(const std::string& name) { return fs::path(GPUCR_SOURCE_DIR) / "tests/fixtures/kfd" / name; }

// A fixture tree as amd_support.hpp's MemFiles text; files below `denied` are "@!" entries.
std::string sysfs_text(const std::string& name, const std::string& denied = {}) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(fixture(name))) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), fixture(name)).string());
  }
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files) {
    if (!denied.empty() && f.rfind(denied, 0) == 0) {
      out += "@!" + f + "\n";
      continue;
    }
    out += "@" + f + "\n" + *read_file(fixture(name) / f);
  }
  return out;
}

amd::Topology topology(const std::string& name) { return *amd::read_topology(amd::DiskFiles(), fixture(name)); }

// The plugin's record of a topology (the inverse of amd::from_kfd_image).
criu::CriuKfd kfd_of(const amd::Topology& t, std::uint32_t pid) {
  criu::CriuKfd k;
  k.set_pid(pid);
  for (const auto& n : t.nodes) {
    auto* d = k.add_device_entries();
    d->set_node_id(n.id);
    d->set_gpu_id(n.gpu_id);
    if (n.is_gpu()) {
      const auto* desc = d->GetDescriptor();
      const auto* refl = d->GetReflection();
      for (const auto& [key, value] : n.props) {
        const auto* f = desc->FindFieldByName(key);
        if (!f || f->is_repeated() || key == "node_id" || key == "gpu_id") continue;
        if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64) refl->SetUInt64(d, f, value);
        else refl->SetUInt32(d, f, static_cast<std::uint32_t>(value));
      }
      d->set_vram_public(n.vram_public() ? 1 : 0);
      d->set_vram_size(n.vram_size());
      auto* bo = k.add_bo_entries();
      bo->set_gpu_id(n.gpu_id);
      bo->set_size(std::uint64_t{1} << 30);
      bo->set_alloc_flags(amd::kAllocVram);
    } else {
      d->set_cpu_cores_count(static_cast<std::uint32_t>(n.prop("cpu_cores_count")));
    }
    for (const auto& l : n.io_links) {
      auto* il = d->add_iolinks();
      il->set_type(l.type());
      il->set_node_to_id(l.node_to());
    }
  }
  return k;
}

pb::Manifest cuda_manifest() {
  pb::Manifest m;
  m.set_gpucr_version("0.1.0");
  m.set_criu_version("4.1.1");
  m.set_hostname("host-a");
  m.set_kernel("6.1.0-28-amd64");
  m.set_created_unix_ms(1795300000123);
  m.mutable_target()->set_root_pid(4100);
  for (int i = 0; i < 2; ++i) {
    auto* p = m.add_processes();
    p->set_pid(4100 + i);
    p->set_ppid(i == 0 ? 1 : 4100);
    p->add_nspid(4100 + i);
    p->add_nspid(1 + i);
    p->set_comm("train (x) y");
    p->set_start_time(987654 + static_cast<unsigned>(i));
    p->set_pgid(4100);
    p->set_sid(4100);
    p->set_threads(3);
  }
  auto* ph = m.add_phases();
  ph->set_name("criu dump");
  ph->set_duration_us(123456);
  ph->set_ok(true);
  m.mutable_flags()->set_leave_running(true);
  for (int i = 0; i < 2; ++i) {
    auto* g = m.add_host_gpus();
    g->set_uuid("GPU-00000000-0000-0000-0000-00000000000" + std::to_string(i + 1));
    g->set_name("NVIDIA H100");
    g->set_memory_bytes(std::uint64_t{80} << 30);
    g->set_minor(i);
    g->set_index(i);
  }
  auto* c = m.add_cuda_processes();
  c->set_pid(4101);
  c->add_nspid(4101);
  c->set_comm("train");
  c->set_initial_state("running");
  c->add_gpu_uuids("GPU-00000000-0000-0000-0000-000000000002");
  c->set_device_memory_bytes(std::uint64_t{1} << 30);
  m.set_cuda_backend("api");
  auto* f = m.mutable_freezer();
  f->set_cgroup("/ctr");
  f->set_dir("/sys/fs/cgroup/ctr");
  f->set_version(pb::FreezerRecord::CGROUP_V2);
  f->set_original_state(pb::FreezerRecord::FROZEN);
  f->set_thawed_by_gpucr(true);
  f->set_pid(4100);
  auto* ct = m.mutable_container();
  ct->set_id("c1");
  ct->set_runtime("runc");
  ct->set_runtime_path("/usr/sbin/runc");
  ct->set_bundle("/b");
  ct->set_status("running");
  ct->set_cgroup_unified("/ctr");
  auto* d = ct->add_gpu_devices();
  d->set_path("/dev/nvidia0");
  d->set_kind("gpu");
  d->set_type("c");
  d->set_major(195);
  d->set_minor(0);
  d->set_uuid("GPU-00000000-0000-0000-0000-000000000001");
  d->set_model("NVIDIA H100");
  return m;
}

pb::Manifest amd_manifest() {
  pb::Manifest m;
  m.set_gpucr_version("0.1.0");
  m.mutable_target()->set_root_pid(7);
  amd::to_pb(topology("xgmi_hive"), m.mutable_amd()->mutable_topology());
  auto* p = m.mutable_amd()->add_processes();
  p->set_pid(7);
  p->add_kfd_fds(5);
  p->add_render_minors(128);
  m.mutable_amd()->add_criu_plugins("amdgpu_plugin");
  return m;
}

std::string journal(bool restore) {
  recovery::JournalData d;
  d.id = restore ? "restore-4100-0badf00d" : "checkpoint-4100-0badf00d";
  d.op = restore ? "restore" : "checkpoint";
  d.created_ms = 1795300000123;
  d.owner = {4100, 987654};
  d.guardian = proc::ProcessId{4101, 987655};
  d.phase = restore ? "criu restore" : "cuda checkpoint";
  d.criu = proc::ProcessId{4102, 987656};
  d.restore_pidfile = restore ? "/run/gpucr/ops/restore-4100-0badf00d.tmp/pid" : "";
  d.backend = "api";
  d.device_map = restore ? "GPU-00000000-0000-0000-0000-000000000001=GPU-00000000-0000-0000-0000-000000000002" : "";
  d.processes.push_back({{restore ? 0 : 4200, 123}, {4200, 7}, cuda::State::locked, std::uint64_t{1} << 30});
  pb::FreezerRecord rec;
  rec.set_cgroup("/ctr");
  rec.set_dir("/sys/fs/cgroup/ctr");
  rec.set_version(pb::FreezerRecord::CGROUP_V2);
  rec.set_original_state(pb::FreezerRecord::FROZEN);
  rec.set_pid(4100);
  d.freezer = message_to_json(rec);  // as core/gpu_checkpoint.cpp records it
  if (restore) d.container = recovery::JournalContainer{"c1", "/usr/sbin/runc", {"--root", "/run/runc"}};
  return recovery::to_json(d).dump(1) + "\n";
}

std::string nul_joined(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += a + std::string(1, '\0');
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  using fakes::bytes;

  // CRIU images (tests/unit/support.hpp writes them as criu does).
  criu::StatsEntry dump_stats;
  dump_stats.mutable_dump()->set_freezing_time(1200);
  dump_stats.mutable_dump()->set_frozen_time(56000);
  dump_stats.mutable_dump()->set_memdump_time(30000);
  dump_stats.mutable_dump()->set_pages_scanned(4096);
  dump_stats.mutable_dump()->set_pages_written(1024);
  criu::StatsEntry restore_stats;
  restore_stats.mutable_restore()->set_forking_time(900);
  restore_stats.mutable_restore()->set_restore_time(45000);
  restore_stats.mutable_restore()->set_pages_restored(1024);
  const std::string inv_cuda = fakes::inventory_cuda_plugin(), inv_empty = fakes::inventory_empty_plugins();
  const std::string inv_old = criu::join_entries({0, criu::kMagicInventory}, {bytes({0x08, 0x02, 0x10, 0x01, 0x40, 0x05})});
  const std::string pstree = fakes::pstree_image({{4100, 1, {4100, 4102}}, {4101, 4100, {4101}}});
  const std::string stats = fakes::stats_image(dump_stats), rstats = fakes::stats_image(restore_stats);

  seed("criu_split_entries", "inventory-cuda-plugin", inv_cuda);
  seed("criu_split_entries", "pstree", pstree);
  seed("criu_split_entries", "stats-dump", stats);
  seed("criu_parse_inventory", "cuda-plugin", inv_cuda);
  seed("criu_parse_inventory", "empty-plugins", inv_empty);
  seed("criu_parse_inventory", "no-plugins-field", inv_old);
  seed("criu_read_pstree_stats", "pstree", std::string(1, '\0') + pstree);
  seed("criu_read_pstree_stats", "stats-dump", std::string(1, '\1') + stats);
  seed("criu_read_pstree_stats", "stats-restore", std::string(1, '\2') + rstats);

  // gpucr's manifest: whole files, and bare payloads (the harness also frames its input).
  for (const auto& [name, m] : {std::pair{std::string("cuda-container"), cuda_manifest()},
                                std::pair{std::string("amd"), amd_manifest()}}) {
    seed("core_decode_manifest", name, encode_manifest(m));
    seed("core_decode_manifest", name + "-payload", m.SerializeAsString());
  }
  seed("core_inspect", "gpucr-cuda",
       inv_cuda + kSep + pstree + kSep + stats + kSep + rstats + kSep + encode_manifest(cuda_manifest()));
  seed("core_inspect", "criu-only", inv_empty + kSep + pstree + kSep + stats);

  // The journal, as gpucr writes it.
  seed("recovery_load_journal", "checkpoint", journal(false));
  seed("recovery_load_journal", "restore-container", journal(true));

  // OCI state (tests/unit/test_hooks_oci_state.cpp) and `runc state` (test_runtime_cli_runtime.cpp).
  seed("hooks_parse_oci_state", "creating",
       R"({"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":4242,"bundle":"/b",)"
       R"("annotations":{"io.x":"y"},"rootfs":"/b/rootfs","future":{"nested":[1,2]}})");
  seed("hooks_parse_oci_state", "stopped", R"({"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"})");
  seed("runtime_parse_state_json", "runc",
       R"({"ociVersion":"1.0.2-dev","id":"c1","pid":12867,"status":"running","bundle":"/b","rootfs":"/b/rootfs",)"
       R"("created":"2025-01-01T00:00:00Z","owner":"","annotations":{"k":"v"}})");
  seed("runtime_parse_state_json", "stopped", R"({"ociVersion":"1.0.2","id":"c1","pid":0,"status":"stopped","bundle":"/b"})");

  // hooks.d files as `gpucr install` writes them, and the writer's two paths.
  for (const auto& f : hooks::hook_files("/usr/local/bin/gpucr", "/var/run/gpucr-test")) {
    seed("hooks_is_gpucr_hook_file", f.stage, f.content);
  }
  seed("hooks_is_gpucr_hook_file", "paths", std::string("/usr/local/bin/gpucr\0/run/gpucr", 31));

  // The runtime wrapper's argv (tests/unit/test_runtime_argv.cpp; podman's and containerd's).
  seed("runtime_argv", "checkpoint",
       nul_joined({"--root", "/run/runc", "--log=/l", "--systemd-cgroup", "checkpoint", "--file-locks", "--image-path",
                   "/d/checkpoint", "--work-path", "/d", "--leave-running", "c1"}));
  seed("runtime_argv", "restore",
       nul_joined({"--root", "/r", "restore", "--bundle", "/b", "--pid-file", "/p", "--detach", "--image-path", "/i",
                   "--work-path", "/b", "--tcp-established", "--manage-cgroups-mode", "soft", "c1"}));
  seed("runtime_argv", "restore-go-flags", nul_joined({"-criu", "/c", "restore", "-d", "-b", "/b", "-image-path=/i", "c1"}));
  seed("runtime_argv", "state", nul_joined({"--root", "/r", "state", "c1"}));

  // --device-map (cuda_plan_device_map.cpp's text format).
  seed("cuda_plan_device_map", "partial-map", "a1 a2\na3 a4\n2\n1=3\n");
  seed("cuda_plan_device_map", "uuid-map",
       "a1 a2\na3 a4\n1 2\nGPU-86000000-0000-0000-0000-000000000001=1\n");
  seed("cuda_plan_device_map", "no-map-same-host", "a1 b2\nb2 a1\n1 2\n");

  // Bundle config.json (tests/unit/test_runtime_bundle.cpp) and devices.json as the hook writes it.
  seed("runtime_parse_bundle_gpus", "devices",
       R"({"process":{"env":["PATH=/bin","NVIDIA_VISIBLE_DEVICES=0,1"]},)"
       R"("linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":0},)"
       R"({"path":"/dev/nvidiactl","type":"c","major":195,"minor":255},)"
       R"({"path":"/dev/dri/renderD128","type":"c","major":226,"minor":128}]},)"
       R"("mounts":[{"destination":"/dev/nvidia1","source":"/dev/null","type":"bind"}]})");
  {
    fakes::TempDir tmp;
    RunDir run(tmp.path() / "run", ::geteuid());
    runtime::BundleGpus g;
    g.nvidia_visible_devices = "0";
    g.devices = {{"/dev/nvidia0", 'c', 195, 0, "gpu"}, {"/dev/nvidiactl", 'c', 195, 255, "control"}};
    if (!write_devices_record(run, "c1", "/b", g)) return 1;
    std::string rec = *read_file(runtime::container_dir(run, "c1") / kDevicesRecord);
    // created_unix_ms is the clock's: fixed, so that the seed does not change on every run.
    auto j = nlohmann::json::parse(rec);
    j["created_unix_ms"] = 1795300000123;
    seed("core_read_devices_record", "two-devices", j.dump(2) + "\n");
  }

  // AMD: the fixture topologies as sysfs trees, and the plugin's images of them.
  seed("amd_read_topology", "one-gpu", sysfs_text("one_gpu"));
  seed("amd_read_topology", "xgmi-hive", sysfs_text("xgmi_hive"));
  seed("amd_read_topology", "numa-two-sockets", sysfs_text("numa_two_sockets"));
  seed("amd_read_topology", "hidden-by-cgroup", sysfs_text("hidden_by_cgroup", "nodes/2/"));
  for (const char* name : {"two_gpus", "xgmi_hive"}) {
    seed("amd_parse_kfd_image", name, amd::serialize_kfd_image(kfd_of(topology(name), 4100)));
  }
  seed("amd_parse_kfd_image", "payload", kfd_of(topology("one_gpu"), 4100).SerializeAsString());

  // /proc and cgroup files (tests/unit/test_proc_proc_fs.cpp, test_freezer_cgroup_fs.cpp).
  std::string stat = "4100 (tree (work) load) S 1 4100 4100 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 2 0 987654 "
                     "10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  seed("proc_parse_stat", "linux6", stat);
  seed("proc_parse_status", "nspid", "Name:\tsh\nState:\tS (sleeping)\nVmRSS:\t  1234 kB\nNSpid:\t18826\t7\t1\nNSpgid:\t18826\t7\t1\n");
  const std::string hybrid_mounts =
      "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime shared:14 - cgroup cgroup rw,freezer\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  const std::string v2_mounts = "30 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
                                "rw,nsdelegate,memory_recursiveprot\n";
  seed("freezer_cgroup_fs", "v1-frozen", "9:name=systemd:/\n6:freezer:/a\n1:cpu:/\n0::/\n" + kSep + hybrid_mounts + kSep +
                                             "FROZEN\n" + kSep);
  seed("freezer_cgroup_fs", "v2-freezing", "0::/a\n" + kSep + v2_mounts + kSep + "1\n" + kSep +
                                               "populated 1\nfrozen 0\n");
  seed("freezer_cgroup_fs", "bind-escaped",
       "6:freezer:/kube\\040pods/pod1\n" + kSep +
           "50 1 0:34 /kube\\040pods /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n" + kSep + "THAWED\n" + kSep);
  seed("runtime_parse_proc_cgroup", "hybrid", "12:pids:/ctr\n6:freezer:/ctr\n1:name=systemd:/ctr\n0::/ctr\n");
  seed("hooks_parse_nvidia_information", "h100",
       "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 42\nGPU UUID: \t GPU-8f0c2f5e-1111\nDevice Minor: \t 3\n");
  seed("criu_parse_version", "4.1.1", "Version: 4.1.1\nGitID: v4.1.1-12-gdeadbee\n");
  seed("criu_parse_version", "rc", "some warning\n  Version: 4.2-rc1\n");
  return 0;
}
