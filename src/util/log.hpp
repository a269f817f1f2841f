// Diagnostic log: stderr (level-filtered) and optionally a file (every message, debug included,
// with timestamps and pid). User-facing results are printed by the CLI, not logged.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace gpucr::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

// Parses "debug", "info", "warn", "error", "quiet".
bool parse_level(std::string_view s, Level& out);
void set_level(Level level);
Level level();
// Also append every message, whatever the level, to `path` (created 0600). Returns false when it can't be opened.
bool set_file(const std::filesystem::path& path);

void write(Level level, std::string_view msg);
inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }
inline void error(std::string_view m) { write(Level::error, m); }

}  // namespace gpucr::log
