#include "runtime/argv.hpp"

#include <algorithm>

namespace gpucr::runtime {

// ---- building ----

namespace {

void add_flag(std::vector<std::string>& v, bool on, const char* name) {
  if (on) v.emplace_back(name);
}
void add_value(std::vector<std::string>& v, const char* name, const std::optional<fs::path>& p) {
  if (p) {
    v.emplace_back(name);
    v.push_back(p->string());
  }
}

}  // namespace

std::vector<std::string> checkpoint_argv(const CheckpointArgs& a) {
  std::vector<std::string> v{"checkpoint"};
  add_value(v, "--image-path", a.image_path);
  add_value(v, "--work-path", a.work_path);
  add_flag(v, a.leave_running, "--leave-running");
  add_flag(v, a.tcp_established, "--tcp-established");
  add_flag(v, a.ext_unix_sk, "--ext-unix-sk");
  add_flag(v, a.shell_job, "--shell-job");
  add_flag(v, a.file_locks, "--file-locks");
  add_flag(v, a.pre_dump, "--pre-dump");
  if (!a.manage_cgroups_mode.empty()) v.insert(v.end(), {"--manage-cgroups-mode", a.manage_cgroups_mode});
  v.push_back(a.id);
  return v;
}

std::vector<std::string> restore_argv(const RestoreArgs& a) {
  std::vector<std::string> v{"restore"};
  add_value(v, "--bundle", a.bundle);
  add_value(v, "--image-path", a.image_path);
  add_value(v, "--work-path", a.work_path);
  add_flag(v, a.detach, "--detach");
  add_value(v, "--pid-file", a.pid_file);
  add_value(v, "--console-socket", a.console_socket);
  add_flag(v, a.tcp_established, "--tcp-established");
  add_flag(v, a.ext_unix_sk, "--ext-unix-sk");
  add_flag(v, a.shell_job, "--shell-job");
  add_flag(v, a.file_locks, "--file-locks");
  if (!a.manage_cgroups_mode.empty()) v.insert(v.end(), {"--manage-cgroups-mode", a.manage_cgroups_mode});
  v.push_back(a.id);
  return v;
}

// ---- parsing ----

namespace {

struct OptionToken {
  std::string name;                  // without leading dashes
  std::optional<std::string> value;  // after '='
};

// "--name=v", "-name", "--name": an option; anything else (including "-" and "--") is not.
std::optional<OptionToken> as_option(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg == "--") return std::nullopt;
  std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
  OptionToken t;
  size_t eq = body.find('=');
  t.name = body.substr(0, eq);
  if (eq != std::string::npos) t.value = body.substr(eq + 1);
  return t;
}

// Go's strconv.ParseBool spellings.
std::optional<bool> parse_bool(const std::string& s) {
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"}) if (s == t) return true;
  for (const char* f : {"0", "f", "F", "false", "FALSE", "False"}) if (s == f) return false;
  return std::nullopt;
}

std::optional<fs::path> path_or_default(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<fs::path>(v);
}

template <class Args>
struct Option {
  std::vector<std::string> names;
  bool takes_value;
  void (*set)(Args&, const std::string& value, bool on);
};

template <class Args>
const Option<Args>* find_option(const std::vector<Option<Args>>& table, const std::string& name) {
  for (const auto& o : table) {
    if (std::find(o.names.begin(), o.names.end(), name) != o.names.end()) return &o;
  }
  return nullptr;
}

template <class Args>
std::variant<Args, Passthrough> parse_command(const std::vector<std::string>& args,
                                              const std::vector<Option<Args>>& table, const std::string& command) {
  Args out;
  std::vector<std::string> positional;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto tok = options_done ? std::nullopt : as_option(arg);
    if (!tok) {
      if (arg == "--" && !options_done) {
        options_done = true;
      } else {
        positional.push_back(arg);
      }
      continue;
    }
    if (tok->name == "help" || tok->name == "h" || tok->name == "?") return Passthrough{command + " --help"};
    const Option<Args>* opt = find_option(table, tok->name);
    if (!opt) return Passthrough{command + " option " + arg + " is not known to gpucr", true};
    if (opt->takes_value) {
      std::string value;
      if (tok->value) {
        value = *tok->value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Passthrough{command + " option " + arg + " lacks its value"};
      }
      opt->set(out, value, true);
    } else {
      auto on = tok->value ? parse_bool(*tok->value) : std::optional<bool>(true);
      if (!on) return Passthrough{command + " option " + arg + " has a value that is not a boolean"};
      opt->set(out, {}, *on);
    }
  }
  if (positional.size() != 1) {
    return Passthrough{command + " needs exactly one container id, got " + std::to_string(positional.size())};
  }
  out.id = positional.front();
  return out;
}

template <class Args>
Option<Args> ignored(std::vector<std::string> names, bool takes_value) {
  return {std::move(names), takes_value, [](Args&, const std::string&, bool) {}};
}

const std::vector<Option<CheckpointArgs>>& checkpoint_options() {
  using A = CheckpointArgs;
  static const std::vector<Option<A>> t = {
      {{"image-path"}, true, [](A& a, const std::string& v, bool) { a.image_path = path_or_default(v); }},
      {{"work-path"}, true, [](A& a, const std::string& v, bool) { a.work_path = path_or_default(v); }},
      {{"leave-running"}, false, [](A& a, const std::string&, bool on) { a.leave_running = on; }},
      {{"tcp-established"}, false, [](A& a, const std::string&, bool on) { a.tcp_established = on; }},
      {{"ext-unix-sk"}, false, [](A& a, const std::string&, bool on) { a.ext_unix_sk = on; }},
      {{"shell-job"}, false, [](A& a, const std::string&, bool on) { a.shell_job = on; }},
      {{"file-locks"}, false, [](A& a, const std::string&, bool on) { a.file_locks = on; }},
      {{"pre-dump"}, false, [](A& a, const std::string&, bool on) { a.pre_dump = on; }},
      {{"manage-cgroups-mode"}, true, [](A& a, const std::string& v, bool) { a.manage_cgroups_mode = v; }},
      ignored<A>({"parent-path"}, true),
      ignored<A>({"status-fd"}, true),
      ignored<A>({"page-server"}, true),
      ignored<A>({"empty-ns"}, true),
      ignored<A>({"lazy-pages"}, false),
      ignored<A>({"auto-dedup"}, false),
      ignored<A>({"print-stats"}, false),
  };
  return t;
}

const std::vector<Option<RestoreArgs>>& restore_options() {
  using A = RestoreArgs;
  static const std::vector<Option<A>> t = {
      {{"image-path"}, true, [](A& a, const std::string& v, bool) { a.image_path = path_or_default(v); }},
      {{"work-path"}, true, [](A& a, const std::string& v, bool) { a.work_path = path_or_default(v); }},
      {{"bundle", "b"}, true, [](A& a, const std::string& v, bool) { a.bundle = path_or_default(v); }},
      {{"detach", "d"}, false, [](A& a, const std::string&, bool on) { a.detach = on; }},
      {{"pid-file"}, true, [](A& a, const std::string& v, bool) { a.pid_file = path_or_default(v); }},
      {{"console-socket"}, true, [](A& a, const std::string& v, bool) { a.console_socket = path_or_default(v); }},
      {{"tcp-established"}, false, [](A& a, const std::string&, bool on) { a.tcp_established = on; }},
      {{"ext-unix-sk"}, false, [](A& a, const std::string&, bool on) { a.ext_unix_sk = on; }},
      {{"shell-job"}, false, [](A& a, const std::string&, bool on) { a.shell_job = on; }},
      {{"file-locks"}, false, [](A& a, const std::string&, bool on) { a.file_locks = on; }},
      {{"manage-cgroups-mode"}, true, [](A& a, const std::string& v, bool) { a.manage_cgroups_mode = v; }},
      ignored<A>({"empty-ns"}, true),
      ignored<A>({"lsm-profile"}, true),
      ignored<A>({"lsm-mount-context"}, true),
      ignored<A>({"no-subreaper"}, false),
      ignored<A>({"no-pivot"}, false),
      ignored<A>({"auto-dedup"}, false),
      ignored<A>({"lazy-pages"}, false),
  };
  return t;
}

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

}  // namespace

Result<Invocation> split_invocation(const std::vector<std::string>& args) {
  Invocation inv;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto tok = as_option(arg);
    if (!tok) break;  // the command word (or "--", which no runtime uses before it)
    inv.globals.push_back(arg);
    if (is_one_of(tok->name, {"debug", "systemd-cgroup", "help", "h", "?", "version", "v", "V"})) continue;
    if (!is_one_of(tok->name, {"root", "log", "log-format", "log-level", "criu", "rootless", "cgroup-manager"})) {
      return fail(Error("unknown global runtime option " + arg, Exit::usage));
    }
    std::string value;
    if (tok->value) {
      value = *tok->value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
      inv.globals.push_back(value);
    } else {
      return fail(Error("global runtime option " + arg + " lacks its value", Exit::usage));
    }
    if (tok->name == "root") inv.root = fs::path(value);
    if (tok->name == "criu") inv.criu = fs::path(value);
  }
  if (i < args.size()) {
    inv.command = args[i];
    inv.command_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  }
  return inv;
}

std::variant<CheckpointArgs, Passthrough> parse_checkpoint(const std::vector<std::string>& command_args) {
  auto r = parse_command(command_args, checkpoint_options(), "checkpoint");
  if (auto* a = std::get_if<CheckpointArgs>(&r); a && a->pre_dump) {
    return Passthrough{"checkpoint --pre-dump copies memory only; GPU state is taken by the final checkpoint"};
  }
  return r;
}

std::variant<RestoreArgs, Passthrough> parse_restore(const std::vector<std::string>& command_args) {
  return parse_command(command_args, restore_options(), "restore");
}

std::vector<std::string> with_image_path(const std::vector<std::string>& restore_args, const fs::path& image_path,
                                         const std::optional<fs::path>& work_path) {
  std::vector<std::string> out;
  bool has_image = false, has_work = false;
  for (size_t i = 0; i < restore_args.size(); ++i) {
    const std::string& arg = restore_args[i];
    if (i > 0 && arg == "--") {  // options end here (parse_command reads them up to "--", also after the id)
      out.insert(out.end(), restore_args.begin() + static_cast<long>(i), restore_args.end());
      break;
    }
    auto tok = i == 0 ? std::nullopt : as_option(arg);
    const Option<RestoreArgs>* opt = tok ? find_option(restore_options(), tok->name) : nullptr;
    bool separate = opt && opt->takes_value && !tok->value;
    if (!opt || !opt->takes_value || (separate && i + 1 >= restore_args.size())) {
      out.push_back(arg);  // the command word, the id, a flag, an option lacking its value
      continue;
    }
    std::string value = separate ? restore_args[i + 1] : *tok->value;
    std::string given = value;
    if (tok->name == "image-path") {
      value = image_path.string();
      has_image = true;
    } else if (tok->name == "work-path") {
      if (value.empty() && work_path) value = work_path->string();  // empty: the runtime's default (the image path)
      has_work = true;
    }
    if (separate) {
      out.push_back(arg);
      out.push_back(value);
      ++i;
    } else {
      out.push_back(value == given ? arg : "--" + tok->name + "=" + value);
    }
  }
  std::vector<std::string> added;
  if (!has_image) added = {"--image-path", image_path.string()};
  if (work_path && !has_work) added.insert(added.end(), {"--work-path", work_path->string()});
  out.insert(out.begin() + (out.empty() ? 0 : 1), added.begin(), added.end());
  return out;
}

fs::path effective_image_path(const std::optional<fs::path>& given, const fs::path& cwd) {
  if (!given) return cwd / "checkpoint";
  return given->is_absolute() ? *given : cwd / *given;
}

}  // namespace gpucr::runtime
