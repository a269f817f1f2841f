#include "proc/process_table.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

namespace gpucr::proc {

Status parse_stat(std::string_view stat, ProcInfo& out) {
  // "pid (comm) state ppid pgrp session tty tpgid flags ... starttime(22)"; comm may hold
  // spaces and parentheses, so fields are counted from the last ')'.
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return fail(Error("malformed /proc stat line", Exit::internal));
  }
  out.comm = std::string(stat.substr(open + 1, close - open - 1));
  auto f = split_ws(stat.substr(close + 1));
  // f[0] = state (field 3), f[k] = field k + 3.
  if (f.size() < 20) return fail(Error("short /proc stat line", Exit::internal));
  out.state = f[0].empty() ? '?' : f[0][0];
  out.ppid = static_cast<pid_t>(std::strtol(f[1].c_str(), nullptr, 10));
  out.pgid = static_cast<pid_t>(std::strtol(f[2].c_str(), nullptr, 10));
  out.sid = static_cast<pid_t>(std::strtol(f[3].c_str(), nullptr, 10));
  out.flags = static_cast<unsigned>(std::strtoul(f[6].c_str(), nullptr, 10));
  out.threads = static_cast<int>(std::strtol(f[17].c_str(), nullptr, 10));
  out.start_time = std::strtoull(f[19].c_str(), nullptr, 10);
  return {};
}

Status parse_status(std::string_view status, ProcInfo& out) {
  for (const auto& line : split(status, '\n')) {
    if (line.rfind("VmRSS:", 0) == 0) out.rss_bytes = std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    if (line.rfind("NSpid:", 0) == 0) {
      out.nspid.clear();
      for (const auto& tok : split_ws(std::string_view(line).substr(6))) {
        out.nspid.push_back(static_cast<pid_t>(std::strtol(tok.c_str(), nullptr, 10)));
      }
    }
  }
  if (out.nspid.empty()) out.nspid.push_back(out.pid);
  return {};
}

std::string ProcFs::path(pid_t pid, const char* leaf) const {
  return root_ + "/" + std::to_string(pid) + "/" + leaf;
}

Result<ProcInfo> ProcFs::info(pid_t pid) const {
  auto stat = read_file(path(pid, "stat"));
  if (!stat) return fail(Error("process " + std::to_string(pid) + " does not exist", Exit::bad_input));
  ProcInfo pi;
  pi.pid = pid;
  GPUCR_TRY(parse_stat(*stat, pi));
  auto status = read_file(path(pid, "status"));
  if (!status) return fail(Error("process " + std::to_string(pid) + " does not exist", Exit::bad_input));
  GPUCR_TRY(parse_status(*status, pi));
  return pi;
}

Result<std::vector<pid_t>> ProcFs::children(pid_t pid) const {
  auto tasks = list_dir(path(pid, "task"));
  if (!tasks) return fail(Error("process " + std::to_string(pid) + " does not exist", Exit::bad_input));
  std::set<pid_t> kids;
  bool have_children_file = false;
  for (const auto& tid : *tasks) {
    auto text = read_file(root_ + "/" + std::to_string(pid) + "/task/" + tid + "/children");
    if (!text) continue;
    have_children_file = true;
    for (const auto& tok : split_ws(trim(*text))) kids.insert(static_cast<pid_t>(std::stol(tok)));
  }
  if (!have_children_file) {  // kernels without CONFIG_PROC_CHILDREN: scan every process
    for (pid_t p : GPUCR_TRY(all_pids())) {
      auto pi = info(p);
      if (pi && pi->ppid == pid) kids.insert(p);
    }
  }
  return std::vector<pid_t>(kids.begin(), kids.end());
}

Result<std::vector<pid_t>> ProcFs::all_pids() const {
  std::vector<pid_t> pids;
  for (const auto& name : GPUCR_TRY(list_dir(root_))) {
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

Result<std::vector<FdEntry>> ProcFs::fds(pid_t pid) const {
  std::string dir = path(pid, "fd");
  auto names = list_dir(dir);
  if (!names) return fail(std::move(names).error().context("listing open files of pid " + std::to_string(pid)));
  std::vector<FdEntry> out;
  for (const auto& n : *names) {
    char buf[4096];
    ssize_t len = ::readlink((dir + "/" + n).c_str(), buf, sizeof buf - 1);
    if (len < 0) continue;  // closed meanwhile
    out.push_back({std::atoi(n.c_str()), std::string(buf, static_cast<size_t>(len))});
  }
  return out;
}

Result<std::vector<std::string>> ProcFs::mapped_files(pid_t pid) const {
  auto all = GPUCR_TRY(mappings(pid));
  std::set<std::string> files(all.begin(), all.end());
  return std::vector<std::string>(files.begin(), files.end());
}

Result<std::vector<std::string>> ProcFs::mappings(pid_t pid) const {
  auto maps = read_file(path(pid, "maps"));
  if (!maps) return fail(std::move(maps).error().context("reading mappings of pid " + std::to_string(pid)));
  std::vector<std::string> files;
  for (const auto& line : split(*maps, '\n')) {
    // address perms offset dev inode [path]; the path starts at the 6th field and may hold spaces.
    size_t pos = 0;
    for (int field = 0; field < 5 && pos != std::string::npos; ++field) {
      pos = line.find(' ', pos);
      if (pos != std::string::npos) pos = line.find_first_not_of(' ', pos);
    }
    if (pos == std::string::npos) continue;
    std::string p = line.substr(pos);
    if (!p.empty() && p[0] == '/') files.push_back(p);
  }
  return files;
}

Result<std::string> ProcFs::cgroup(pid_t pid) const {
  auto text = read_file(path(pid, "cgroup"));
  if (!text) return fail(Error("process " + std::to_string(pid) + " does not exist", Exit::bad_input));
  return text;
}

Result<std::string> ProcFs::pid_namespace(pid_t pid) const {
  char buf[256];
  ssize_t len = ::readlink(path(pid, "ns/pid").c_str(), buf, sizeof buf - 1);
  if (len < 0) return fail(sys_error("cannot read the pid namespace of pid " + std::to_string(pid), errno));
  return std::string(buf, static_cast<size_t>(len));
}

Result<std::uint64_t> ProcessTable::mem_available() const {
  auto text = GPUCR_TRY(read_file("/proc/meminfo"));
  for (const auto& line : split(text, '\n')) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      return std::strtoull(line.c_str() + 13, nullptr, 10) * 1024;  // "MemAvailable:  123 kB"
    }
  }
  return fail(Error("/proc/meminfo has no MemAvailable line", Exit::internal));
}

bool ProcessTable::alive(const ProcessId& id) const {
  auto pi = info(id.pid);
  return pi && pi->start_time == id.start_time && pi->state != 'Z' && pi->state != 'X';
}

Result<ProcessId> self_id() {
  ProcInfo pi;
  pi.pid = ::getpid();
  GPUCR_TRY(parse_stat(GPUCR_TRY(read_file("/proc/self/stat")), pi));
  return ProcessId{pi.pid, pi.start_time};
}

static Status walk(const ProcessTable& t, pid_t pid, std::vector<ProcInfo>& out, int depth) {
  if (depth > 4096) return fail(Error("process tree too deep", Exit::internal));
  auto pi = t.info(pid);
  if (!pi) return {};  // exited while we walked
  out.push_back(*pi);
  auto kids = t.children(pid);
  if (!kids) return {};
  for (pid_t k : *kids) GPUCR_TRY(walk(t, k, out, depth + 1));
  return {};
}

Result<std::vector<ProcInfo>> process_tree(const ProcessTable& table, pid_t root) {
  GPUCR_TRY(table.info(root));
  std::vector<ProcInfo> out;
  GPUCR_TRY(walk(table, root, out, 0));
  return out;
}

Result<pid_t> host_pid_for_nspid(const ProcessTable& table, pid_t ns_member, pid_t nspid) {
  auto member = GPUCR_TRY(table.info(ns_member));
  auto ns = GPUCR_TRY(table.pid_namespace(ns_member));
  for (pid_t p : GPUCR_TRY(table.all_pids())) {
    auto pi = table.info(p);
    if (!pi || pi->nspid.size() != member.nspid.size() || pi->nspid.back() != nspid) continue;
    auto pns = table.pid_namespace(p);
    if (pns && *pns == ns) return p;
  }
  return fail(Error("no process with pid " + std::to_string(nspid) + " in the pid namespace of pid " +
                    std::to_string(ns_member)));
}

}  // namespace gpucr::proc
