// How gpucr runs itself. Every helper process gpucr starts is the gpucr binary again; the names
// here are the only way in (ARCHITECTURE.md, "Process model"):
//
//   gpucr __cuda-call STEP ...      one CUDA driver call in a child that can be killed at its
//                                   deadline (gpu/cuda/checkpointer.hpp)
//   gpucr __guardian ...            finishes an operation when the gpucr running it dies
//                                   (recovery/guardian.hpp)
//   gpucr __demo-workload ...       the workload of `gpucr demo` (demo/workload.hpp)
//   gpucr (no arguments) with CRTOOLS_SCRIPT_ACTION set
//                                   criu's action script (recovery/action_hook.hpp)
//   gpucr-NAME ... (argv[0])        the OCI runtime wrapper of runtime NAME (cli/wrapper.cpp)
#pragma once

namespace gpucr::self {

// The running gpucr binary, as helpers are started with it (a replaced binary stays reachable).
inline constexpr const char* kExe = "/proc/self/exe";

inline constexpr const char* kCudaCall = "__cuda-call";
inline constexpr const char* kGuardian = "__guardian";
inline constexpr const char* kDemoWorkload = "__demo-workload";

// criu sets this for its action scripts; gpucr started with no arguments and it set is the hook.
inline constexpr const char* kActionEnv = "CRTOOLS_SCRIPT_ACTION";
// The journal of the operation an action-script hook belongs to (set in criu's environment).
inline constexpr const char* kJournalEnv = "GPUCR_JOURNAL";

// argv[0] "gpucr-NAME" makes gpucr the OCI runtime wrapper of NAME.
inline constexpr const char* kWrapperPrefix = "gpucr-";

}  // namespace gpucr::self
