// The transparent huge page seam: the host's THP mode, /sys/kernel/mm/transparent_hugepage/enabled.
// The file reads "always [madvise] never" (the bracketed word is the current mode) and takes one
// word written to it. Real: SysThp. Fake: tests/unit/fakes.hpp (FakeThp).
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gpucr::mm {

// The file, under sysfs mounted at `sys`.
inline std::filesystem::path thp_enabled_path(const std::filesystem::path& sys = "/sys") {
  return sys / "kernel/mm/transparent_hugepage/enabled";
}

enum class ThpMode { always, madvise, never };

const char* to_string(ThpMode m);
// One word: "always", "madvise", "never".
std::optional<ThpMode> parse_thp_word(std::string_view word);
// The file's text: the bracketed word ("always [madvise] never" -> madvise).
std::optional<ThpMode> parse_thp_enabled(std::string_view text);

class ThpSettings {
 public:
  virtual ~ThpSettings() = default;
  virtual Result<ThpMode> mode() const = 0;
  virtual Status set_mode(ThpMode m) = 0;
  // Where the setting lives, for messages.
  virtual std::string where() const = 0;
};

class SysThp : public ThpSettings {
 public:
  explicit SysThp(std::filesystem::path path = thp_enabled_path()) : path_(std::move(path)) {}
  Result<ThpMode> mode() const override;
  Status set_mode(ThpMode m) override;
  std::string where() const override { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace gpucr::mm
