// OCI hook input, gpucr's hooks.d files, the host GPU reader, bundle devices, runtime state.
#include "container_fakes.hpp"
#include "hooks/gpu_presence.hpp"
#include "hooks/hooks_file.hpp"
#include "hooks/oci_state.hpp"
#include "runtime/bundle.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/runtime.hpp"
#include "util/file.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace gpucr;
using gpucr::ctrtest::TempDir;

static const char* kPrestartState =
    R"({"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":4242,"bundle":"/b",)"
    R"("annotations":{"io.x":"y"},"rootfs":"/b/rootfs","future":{"nested":[1,2]}})";

TEST(OciState, ParsesTheStateRuncGivesPrestartAndIgnoresUnknownFields) {
  auto s = hooks::parse_oci_state(kPrestartState);
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_EQ(s->id, "c1");
  EXPECT_EQ(s->status, "creating");
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->bundle, fs::path("/b"));
  EXPECT_EQ(s->annotations.at("io.x"), "y");
}

TEST(OciState, PoststopStateWithoutPidIsAccepted) {
  auto s = hooks::parse_oci_state(R"({"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 0);
}

TEST(OciState, RefusesMalformedAndHostileInputWithAClearMessage) {
  const std::vector<std::string> bad = {
      "", "not json", "[1,2]", "\"string\"", R"({"id":"c1"})",
      R"({"ociVersion":"1","status":"created","bundle":"/b"})",                    // no id
      R"({"ociVersion":"1","id":7,"status":"created","bundle":"/b"})",             // id not a string
      R"({"ociVersion":"1","id":"c1","status":"exploded","bundle":"/b"})",         // unknown status
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"rel/b"})",       // relative bundle
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","pid":-1})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","pid":"12"})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","pid":99999999})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","annotations":{"k":1}})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","annotations":[]})",
      R"({"ociVersion":"","id":"c1","status":"created","bundle":"/b"})",
      std::string(hooks::kMaxStateBytes + 1, ' '),
  };
  for (const auto& text : bad) {
    auto s = hooks::parse_oci_state(text);
    ASSERT_FALSE(s) << text.substr(0, 80);
    EXPECT_EQ(s.error().exit, Exit::bad_input);
    EXPECT_EQ(s.error().what.rfind("malformed OCI state on stdin: ", 0), 0u) << s.error().what;
  }
}

TEST(OciState, DeeplyNestedUnknownFieldDoesNotCrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto s = hooks::parse_oci_state(R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","x":)" + deep + "}");
  EXPECT_TRUE(s);
}

TEST(OciState, ReadBoundedStopsAtTheLimitAndAtTheDeadline) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string big(5000, 'x');
  ASSERT_EQ(::write(p[1], big.data(), big.size()), static_cast<ssize_t>(big.size()));
  auto over = hooks::read_bounded(p[0], 4096, std::chrono::seconds(5));
  EXPECT_FALSE(over);  // more than 4096 bytes
  auto slow = hooks::read_bounded(p[0], 1 << 20, std::chrono::milliseconds(100));
  ASSERT_FALSE(slow);  // the writer never closes
  EXPECT_NE(slow.error().what.find("no end of input"), std::string::npos);
  ::close(p[1]);
  auto rest = hooks::read_bounded(p[0], 1 << 20, std::chrono::seconds(5));
  ASSERT_TRUE(rest);
  ::close(p[0]);
}

TEST(HooksFile, WritesOneOciHooks100FilePerStageThatIsRecognisedForItsStageOnly) {
  auto files = hooks::hook_files("/usr/bin/gpucr", "/run/gpucr");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "90-gpucr-prestart.json");
  auto j = nlohmann::json::parse(files[0].content);
  EXPECT_EQ(j["version"], "1.0.0");
  EXPECT_EQ(j["hook"]["path"], "/usr/bin/gpucr");
  EXPECT_EQ(j["hook"]["args"], nlohmann::json::array({"gpucr", "hook", "prestart"}));
  EXPECT_EQ(j["when"]["always"], true);
  EXPECT_EQ(j["stages"], nlohmann::json::array({"prestart"}));
  EXPECT_FALSE(j["hook"].contains("env"));
  EXPECT_TRUE(hooks::is_gpucr_hook_file(files[0].content, "prestart"));
  EXPECT_FALSE(hooks::is_gpucr_hook_file(files[0].content, "poststop"));
  EXPECT_TRUE(hooks::is_gpucr_hook_file(files[1].content, "poststop"));
  EXPECT_FALSE(hooks::is_gpucr_hook_file(R"({"hook":{"args":["other"]},"stages":["prestart"]})", "prestart"));
  EXPECT_FALSE(hooks::is_gpucr_hook_file("garbage", "prestart"));
}

TEST(HooksFile, NonDefaultRunDirGoesIntoTheHooksEnvironment) {
  auto files = hooks::hook_files("/usr/bin/gpucr", "/tmp/r");
  auto j = nlohmann::json::parse(files[1].content);
  EXPECT_EQ(j["hook"]["env"], nlohmann::json::array({"GPUCR_RUN_DIR=/tmp/r"}));
}

TEST(GpuPresence, ParsesNvidiaInformationFiles) {
  auto g = hooks::parse_nvidia_information(
      "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 42\nGPU UUID: \t GPU-8f0c2f5e-1111\nDevice Minor: \t 3\n");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->model, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(g->uuid, "GPU-8f0c2f5e-1111");
  EXPECT_EQ(g->minor, 3);
  EXPECT_FALSE(hooks::parse_nvidia_information("Model: x\n"));
}

TEST(GpuPresence, SysReaderListsGpusAndChecksDeviceNumbers) {
  TempDir t;
  fs::create_directories(t / "proc/driver/nvidia/gpus/0000:01:00.0");
  ASSERT_TRUE(write_file_atomic(t / "proc/driver/nvidia/gpus/0000:01:00.0/information",
                                "Model: A\nGPU UUID: GPU-a\nDevice Minor: 0\n"));
  fs::create_directories(t / "sys/dev/char");
  ASSERT_TRUE(write_file_atomic(t / "sys/dev/char/195:0", ""));
  fs::create_directories(t / "dev/sub");
  hooks::SysGpuPresence sys(t / "proc", t / "sys", t / "dev");
  auto gpus = sys.gpus();
  ASSERT_TRUE(gpus);
  ASSERT_EQ(gpus->size(), 1u);
  EXPECT_EQ((*gpus)[0].uuid, "GPU-a");
  EXPECT_TRUE(sys.device_exists('c', 195, 0));
  EXPECT_FALSE(sys.device_exists('c', 195, 1));
  // Nodes without a /sys/dev entry (NVIDIA's) are found in /dev: here /dev/null's number, 1:3.
  EXPECT_FALSE(sys.device_exists('c', 1, 3));
  ASSERT_EQ(::symlink("/dev/null", (t / "dev/sub/link").c_str()), 0);
  EXPECT_FALSE(sys.device_exists('c', 1, 3)) << "symlinks are not nodes";
  EXPECT_TRUE(hooks::SysGpuPresence(t / "proc", t / "none", "/dev").device_exists('c', 1, 3));
  EXPECT_FALSE(hooks::SysGpuPresence(t / "proc", t / "none", "/dev").device_exists('b', 1, 3));
  EXPECT_TRUE(hooks::SysGpuPresence(t / "none", t / "sys").gpus()->empty());
}

TEST(BundleGpus, FindsGpuDevicesAndNvidiaVisibleDevicesInConfigJson) {
  auto g = runtime::parse_bundle_gpus(R"({"process":{"env":["PATH=/bin","NVIDIA_VISIBLE_DEVICES=0,1"]},
    "linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":0},
                        {"path":"/dev/nvidiactl","type":"c","major":195,"minor":255},
                        {"path":"/dev/fuse","type":"c","major":10,"minor":229},
                        {"path":"/dev/dri/renderD128","type":"c","major":226,"minor":128},
                        {"path":"/dev/nvidia1","type":"x","major":195,"minor":1},
                        "junk"]}})", "config.json");
  ASSERT_TRUE(g) << g.error().what;
  ASSERT_EQ(g->devices.size(), 3u);
  EXPECT_EQ(g->devices[0].path, "/dev/nvidia0");
  EXPECT_EQ(g->devices[0].kind, "gpu");
  EXPECT_EQ(g->devices[1].kind, "control");
  EXPECT_EQ(g->devices[2].minor, 128u);
  EXPECT_EQ(g->nvidia_visible_devices, "0,1");
  EXPECT_TRUE(g->any());
  EXPECT_FALSE(runtime::parse_bundle_gpus("{]", "config.json"));
  EXPECT_FALSE(runtime::parse_bundle_gpus(R"({"linux":{}})", "c")->any());
}

TEST(BundleGpus, ClassifiesDevicePaths) {
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidia12"), "gpu");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/dri/card0"), "gpu");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidia-uvm-tools"), "control");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/kfd"), "control");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidia"), "");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidiafoo"), "");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/null"), "");
}

TEST(RuntimeState, ParsesRuncStateOutput) {
  auto s = runtime::parse_state_json(R"({"ociVersion":"1.0.2-dev","id":"c1","pid":12867,"status":"running",
    "bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-22T05:30:10Z","owner":""})", "c1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 12867);
  EXPECT_EQ(s->status, "running");
  EXPECT_EQ(s->rootfs, fs::path("/b/rootfs"));
  EXPECT_FALSE(runtime::parse_state_json(R"({"id":"c1","status":"running"})", "c1"));
  EXPECT_FALSE(runtime::parse_state_json(R"({"id":"c1","status":"running","bundle":"/b","pid":"x"})", "c1"));
}

TEST(Cgroups, ReadsFreezerAndUnifiedPathsOfProcCgroup) {
  auto c = runtime::parse_proc_cgroup("9:name=systemd:/c1\n6:freezer:/x/c1\n4:memory:/m\n0::/u/c1\n");
  EXPECT_EQ(c.freezer_v1, "/x/c1");
  EXPECT_EQ(c.unified, "/u/c1");
  auto v2 = runtime::parse_proc_cgroup("0::/system.slice/c1.scope\n");
  EXPECT_EQ(v2.freezer_v1, "");
  EXPECT_EQ(v2.unified, "/system.slice/c1.scope");
}
