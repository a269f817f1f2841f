// Small string helpers.
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr {

std::vector<std::string> split(std::string_view s, char sep);
// Splits on runs of spaces and tabs; no empty fields.
std::vector<std::string> split_ws(std::string_view s);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Whole-string decimal integer; `what` names the value in the error.
Result<long long> parse_int(std::string_view s, std::string_view what);

// "1.234s", "56ms", "2m03s".
std::string format_duration(std::chrono::nanoseconds d);
// "1.5 GiB", "12.0 MiB", "512 B".
std::string format_bytes(std::uint64_t bytes);
// Parses "123", "4K", "16M", "2G", "1T" (powers of 1024).
Result<std::uint64_t> parse_size(std::string_view s, std::string_view what);

// True when `s` is well-formed UTF-8.
bool is_utf8(std::string_view s);
// `s` with every byte that is not part of well-formed UTF-8, and every control character (C0,
// DEL), written as "\xNN": safe to print on one line of a terminal and to put into JSON, whatever
// a process name, a path or a name read from an image holds.
std::string printable_utf8(std::string_view s);

}  // namespace gpucr
