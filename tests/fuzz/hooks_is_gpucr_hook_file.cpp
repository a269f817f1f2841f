// hooks::is_gpucr_hook_file (src/hooks/hooks_file.cpp): what `gpucr uninstall` reads from the
// hooks.d directories to decide which files are gpucr's (it removes only those); and the
// writer, hook_files(), over the paths it is given (the gpucr binary, the run directory).
// Input: the file content; the writer gets the two paths from the input split at its first NUL.
// Properties: a file hook_files() writes is recognised for its own stage and not the other.
#include "fuzz_support.hpp"
#include "hooks/hooks_file.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  bool prestart = hooks::is_gpucr_hook_file(text, "prestart");
  bool poststop = hooks::is_gpucr_hook_file(text, "poststop");
  FUZZ_CHECK(!(prestart && poststop));

  size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return 0;
  std::filesystem::path binary(std::string(text.substr(0, nul)));
  std::filesystem::path run_dir(std::string(text.substr(nul + 1)));
  for (const auto& f : hooks::hook_files(binary, run_dir)) {
    FUZZ_CHECK(hooks::is_gpucr_hook_file(f.content, f.stage));
    FUZZ_CHECK(!hooks::is_gpucr_hook_file(f.content, f.stage == "prestart" ? "poststop" : "prestart"));
  }
  return 0;
}
