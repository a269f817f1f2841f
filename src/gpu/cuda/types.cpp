#include "gpu/cuda/types.hpp"

#include <cstdio>

namespace gpucr::cuda {

const char* to_string(State s) {
  switch (s) {
    case State::running: return "running";
    case State::locked: return "locked";
    case State::checkpointed: return "checkpointed";
    case State::failed: return "failed";
  }
  return "unknown";
}

std::optional<State> parse_state(std::string_view s) {
  for (State st : {State::running, State::locked, State::checkpointed, State::failed}) {
    if (s == to_string(st)) return st;
  }
  return std::nullopt;
}

const char* to_string(Step s) {
  switch (s) {
    case Step::get_state: return "get-state";
    case Step::lock: return "lock";
    case Step::checkpoint: return "checkpoint";
    case Step::restore: return "restore";
    case Step::unlock: return "unlock";
    case Step::restore_tid: return "get-restore-tid";
  }
  return "?";
}

std::string Uuid::str() const {
  char buf[48];
  const auto& b = bytes;
  std::snprintf(buf, sizeof buf,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

Result<Uuid> parse_uuid(std::string_view s) {
  std::string_view in = s;
  if (in.substr(0, 4) == "GPU-") in.remove_prefix(4);
  Uuid u;
  size_t n = 0;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '-') continue;
    if (i + 1 >= in.size() || n >= 16 || hex(in[i]) < 0 || hex(in[i + 1]) < 0) {
      n = 99;
      break;
    }
    u.bytes[n++] = static_cast<std::uint8_t>(hex(in[i]) << 4 | hex(in[i + 1]));
    ++i;
  }
  if (n != 16) {
    return fail(Error("invalid GPU UUID '" + std::string(s) + "'", Exit::bad_input)
                    .with_hint("GPU UUIDs look like GPU-866f90bc-04f0-bfef-4018-1c034f5a99c7 (nvidia-smi -L)"));
  }
  return u;
}

}  // namespace gpucr::cuda
