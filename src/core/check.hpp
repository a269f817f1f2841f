// `gpucr check`: can this host checkpoint and restore, and with which GPU support?
#pragma once

#include "util/file.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace gpucr {

enum class Verdict { ok, warn, fail };
const char* to_string(Verdict v);

struct CheckItem {
  std::string name;
  Verdict verdict = Verdict::ok;
  std::string detail;
  std::string hint;
};

struct CheckReport {
  std::vector<CheckItem> items;
  Verdict overall() const;  // the worst item
};

struct CheckEnv {
  std::optional<fs::path> criu;  // --criu
  uid_t euid = 0;                // gpucr's effective user (the CLI fills in the real one)
  std::optional<fs::path> criu_libs_dir;  // $CRIU_LIBS_DIR
  fs::path proc = "/proc";
  fs::path sys = "/sys";
  fs::path dev = "/dev";
};

CheckReport run_checks(const CheckEnv& env);

nlohmann::json to_json(const CheckReport& r);
std::string to_text(const CheckReport& r);

}  // namespace gpucr
