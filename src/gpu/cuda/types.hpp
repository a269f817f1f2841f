// Vocabulary of CUDA checkpointing: process states, driver result codes, GPU UUIDs.
#pragma once

#include "util/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gpucr::cuda {

// cuCheckpointProcessGetState's states. RUNNING -lock-> LOCKED -checkpoint-> CHECKPOINTED
// -restore-> LOCKED -unlock-> RUNNING; FAILED is terminal.
enum class State { running = 0, locked = 1, checkpointed = 2, failed = 3 };
const char* to_string(State s);
std::optional<State> parse_state(std::string_view s);  // "running", "locked", ...

// CUresult values gpucr acts on (cuda.h).
namespace cu {
inline constexpr int success = 0;
inline constexpr int invalid_value = 1;
inline constexpr int not_initialized = 3;         // pid has no CUDA context (or never used CUDA)
inline constexpr int no_device = 100;
inline constexpr int operating_system = 304;      // e.g. no such process
inline constexpr int illegal_state = 401;         // wrong state for this step
inline constexpr int not_supported = 801;
}  // namespace cu

// A 16-byte GPU UUID, written "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (nvidia-smi -L).
struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const Uuid&) const = default;
  auto operator<=>(const Uuid&) const = default;
  std::string str() const;
};
Result<Uuid> parse_uuid(std::string_view s);

// A checkpoint-API step, for messages and the journal.
enum class Step { get_state, lock, checkpoint, restore, unlock, restore_tid };
const char* to_string(Step s);

}  // namespace gpucr::cuda
