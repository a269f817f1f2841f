#include "criu/action_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gpucr::criu {

namespace {

Result<sockaddr_un> address(const std::filesystem::path& p) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (p.string().size() >= sizeof a.sun_path) {
    return fail(Error("socket path " + p.string() + " is too long for a unix socket", Exit::usage)
                    .with_hint("use a shorter GPUCR_RUN_DIR"));
  }
  std::strncpy(a.sun_path, p.c_str(), sizeof a.sun_path - 1);
  return a;
}

// Reads one line (without the newline) from `fd` until `deadline`.
Result<std::string> read_line(int fd, Clock::time_point deadline) {
  std::string line;
  for (;;) {
    auto now = Clock::now();
    if (now >= deadline) return fail(Error("no answer in time"));
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR) return fail(sys_error("poll", errno));
    if (n <= 0) continue;
    char buf[256];
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail(Error("the other side closed the connection"));
    line.append(buf, static_cast<size_t>(r));
    if (auto nl = line.find('\n'); nl != std::string::npos) return line.substr(0, nl);
    if (line.size() > 4096) return fail(Error("line too long"));
  }
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

}  // namespace

ActionServer::~ActionServer() {
  if (fd_) ::unlink(path_.c_str());
}

Result<ActionServer> ActionServer::listen(const std::filesystem::path& socket) {
  auto addr = GPUCR_TRY(address(socket));
  ::unlink(socket.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail(sys_error("cannot create a unix socket", errno));
  mode_t old = ::umask(077);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return fail(sys_error("cannot bind " + socket.string(), err));
  ::chmod(socket.c_str(), 0600);
  if (::listen(fd.get(), 8) != 0) return fail(sys_error("cannot listen on " + socket.string(), errno));
  ActionServer s;
  s.fd_ = std::move(fd);
  s.path_ = socket;
  return s;
}

std::vector<std::string> ActionServer::serve(const Handler& handler) {
  std::vector<std::string> served;
  for (;;) {
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return served;
    // The hook sends its line at once: a short deadline keeps a stray client from stalling gpucr.
    auto action = read_line(conn.get(), Clock::now() + std::chrono::seconds(2));
    if (!action) continue;
    Status verdict = handler(*action);
    std::string reply = verdict ? "ok\n" : "fail " + verdict.error().what + "\n";
    for (char& c : reply) {
      if (c == '\n' && &c != &reply.back()) c = ' ';
    }
    write_all(conn.get(), reply);
    served.push_back(*action);
  }
}

Status ask(const std::filesystem::path& socket, std::string_view action, Clock::time_point deadline) {
  auto addr = GPUCR_TRY(address(socket));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(sys_error("cannot create a unix socket", errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(sys_error("gpucr is not listening on " + socket.string(), errno));
  }
  write_all(fd.get(), std::string(action) + "\n");
  auto reply = read_line(fd.get(), deadline);
  if (!reply) return fail(std::move(reply).error().context("waiting for gpucr's answer"));
  if (*reply == "ok") return {};
  if (reply->rfind("fail ", 0) == 0) return fail(Error(reply->substr(5)));
  return fail(Error("unexpected answer '" + *reply + "'"));
}

}  // namespace gpucr::criu
