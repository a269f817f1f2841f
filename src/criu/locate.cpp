#include "criu/locate.hpp"

#include "util/strings.hpp"
#include "util/subprocess.hpp"

#include <cstdlib>

namespace gpucr::criu {

std::string Version::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(sublevel);
}

Result<Version> parse_version(std::string_view text) {
  for (const auto& line : split(text, '\n')) {
    std::string_view l = trim(line);
    if (l.rfind("Version:", 0) != 0) continue;
    auto parts = split(trim(l.substr(8)), '.');
    Version v;
    int* slots[] = {&v.major, &v.minor, &v.sublevel};
    for (size_t i = 0; i < parts.size() && i < 3; ++i) {
      // "4.2-rc1": the leading digits of each part count.
      std::string_view part = parts[i];
      size_t digits = part.find_first_not_of("0123456789");
      auto n = parse_int(part.substr(0, digits), "criu version");
      if (!n) break;
      *slots[i] = static_cast<int>(*n);
      if (digits != std::string_view::npos) break;
    }
    if (v.major > 0) return v;
  }
  return fail(Error("cannot read criu's version from: " + std::string(trim(text).substr(0, 200)),
                    Exit::missing_dependency));
}

static Error missing(const std::string& where) {
  return Error("criu not found (" + where + ")", Exit::missing_dependency)
      .with_hint("install criu >= 4.0 (scripts/install-criu.sh does it on Debian/Ubuntu), or point "
                 "gpucr at one with --criu PATH or GPUCR_CRIU=PATH");
}

Result<Binary> locate(const std::optional<std::filesystem::path>& flag) {
  Binary bin;
  std::filesystem::path candidate;
  if (flag) {
    bin.source = "--criu";
    candidate = find_program(flag->string().find('/') == std::string::npos ? "./" + flag->string() : flag->string());
    if (candidate.empty()) return fail(missing("--criu " + flag->string() + " is not an executable file"));
  } else if (const char* env = std::getenv("GPUCR_CRIU"); env && *env) {
    bin.source = "$GPUCR_CRIU";
    candidate = find_program(env);
    if (candidate.empty()) return fail(missing("GPUCR_CRIU=" + std::string(env) + " is not an executable file"));
  } else {
    bin.source = "PATH";
    candidate = find_program("criu");
    if (candidate.empty()) return fail(missing("no criu in PATH"));
  }
  bin.path = candidate;
  Command cmd{.argv = {candidate.string(), "--version"}};
  auto out = run_capture(cmd, std::chrono::seconds(30));
  if (!out) return fail(std::move(out).error().context("running " + candidate.string() + " --version"));
  if (!out->status.success()) {
    return fail(Error(candidate.string() + " --version failed (" + out->status.describe() + "): " +
                          std::string(trim(out->err)),
                      Exit::missing_dependency)
                    .with_hint("check that this criu runs: " + candidate.string() + " check"));
  }
  bin.version = GPUCR_TRY(parse_version(out->out));
  GPUCR_TRY(require_version(bin, kMinimum, "gpucr"));
  return bin;
}

Status require_version(const Binary& bin, Version min, const std::string& needed_for) {
  if (bin.version >= min) return {};
  return fail(Error("criu " + bin.version.str() + " at " + bin.path.string() + " is too old: " +
                        needed_for + " needs criu >= " + min.str(),
                    Exit::missing_dependency)
                  .with_hint("install a newer criu (scripts/install-criu.sh) and pass it with --criu PATH"));
}

}  // namespace gpucr::criu
