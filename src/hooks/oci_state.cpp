#include "hooks/oci_state.hpp"

#include "util/strings.hpp"

#include <nlohmann/json.hpp>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace gpucr::hooks {

namespace {

using Json = nlohmann::json;

Error bad(const std::string& what) {
  return Error("malformed OCI state on stdin: " + what, Exit::bad_input)
      .with_hint("gpucr hook is run by the container runtime, which writes the container's state JSON on its stdin");
}

Result<std::string> required_string(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return fail(bad(std::string("field \"") + key + "\" is missing"));
  if (!it->is_string()) return fail(bad(std::string("field \"") + key + "\" is not a string"));
  return it->get<std::string>();
}

}  // namespace

Result<OciState> parse_oci_state(std::string_view text) {
  if (text.size() > kMaxStateBytes) return fail(bad("more than " + format_bytes(kMaxStateBytes)));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(bad("not valid JSON"));
  if (!j.is_object()) return fail(bad("not a JSON object"));
  OciState s;
  s.oci_version = GPUCR_TRY(required_string(j, "ociVersion"));
  if (s.oci_version.empty() || s.oci_version.size() > 64) return fail(bad("\"ociVersion\" is empty or too long"));
  s.id = GPUCR_TRY(required_string(j, "id"));
  s.status = GPUCR_TRY(required_string(j, "status"));
  if (s.status != "creating" && s.status != "created" && s.status != "running" && s.status != "paused" &&
      s.status != "stopped") {
    return fail(bad("unknown \"status\" (want creating, created, running, paused or stopped)"));
  }
  std::string bundle = GPUCR_TRY(required_string(j, "bundle"));
  if (bundle.empty() || bundle.front() != '/' || bundle.size() > 4096 || bundle.find('\0') != std::string::npos) {
    return fail(bad("\"bundle\" is not an absolute path"));
  }
  s.bundle = bundle;
  if (auto it = j.find("pid"); it != j.end()) {
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 4194304) {
      return fail(bad("\"pid\" is not a pid"));
    }
    s.pid = static_cast<pid_t>(it->get<long long>());
  }
  if (auto it = j.find("annotations"); it != j.end()) {
    if (!it->is_object()) return fail(bad("\"annotations\" is not an object"));
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return fail(bad("annotation \"" + k.substr(0, 100) + "\" is not a string"));
      s.annotations[k] = v.get<std::string>();
    }
  }
  return s;
}

Result<std::string> read_bounded(int fd, size_t max, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(Error("no end of input on stdin within " + format_duration(timeout), Exit::bad_input)
                      .with_hint("pipe the OCI state JSON into gpucr hook, as container runtimes do"));
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return fail(sys_error("cannot read stdin", errno));
    if (r == 0) return out;
    out.append(buf, static_cast<size_t>(r));
    if (out.size() > max) return fail(bad("more than " + format_bytes(max)));
  }
}

}  // namespace gpucr::hooks
