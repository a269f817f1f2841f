// The process control seam: the signals gpucr sends to processes it did not start (a restored
// tree) and the reaping of its own children. Real: SystemControl (pidfd_open +
// pidfd_send_signal, so a recycled pid is never signalled; waitpid). Fake: tests/unit/fakes.hpp.
#pragma once

#include "proc/process_table.hpp"
#include "util/subprocess.hpp"

#include <optional>

namespace gpucr::proc {

class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  // Sends `sig` to the process `id` names; ok when it is gone already.
  virtual Status kill(const ProcessId& id, int sig) = 0;
  // Sends `sig` to the process group that `leader` (still the process `id` names) leads.
  virtual Status kill_group(const ProcessId& leader, int sig) = 0;
  // Waits until `child`, a child of this process, has ended or `deadline` passes (nullopt).
  virtual std::optional<ExitStatus> reap(pid_t child, Clock::time_point deadline) = 0;
};

class SystemControl : public ProcessControl {
 public:
  explicit SystemControl(const ProcessTable& procs) : procs_(procs) {}
  Status kill(const ProcessId& id, int sig) override;
  Status kill_group(const ProcessId& leader, int sig) override;
  std::optional<ExitStatus> reap(pid_t child, Clock::time_point deadline) override;

 private:
  const ProcessTable& procs_;
};

}  // namespace gpucr::proc
