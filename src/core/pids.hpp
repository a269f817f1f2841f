// Waiting until the pids a restore needs are free.
//
// criu restore re-creates every dumped pid and thread id and fails ("Can't fork for PID: File
// exists") while one is in use: by a zombie not yet reaped, a live process, or as the process
// group or session id of a process outside the tree.
#pragma once

#include "proc/process_table.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace gpucr {

// One line per pid that is not free, naming who holds it; empty when all are free.
std::vector<std::string> pid_holders(const proc::ProcessTable& procs, const std::vector<pid_t>& pids);

// Polls until every pid is free or `timeout` passes; the error names the holders.
Status wait_for_free_pids(const proc::ProcessTable& procs, const std::vector<pid_t>& pids,
                          std::chrono::milliseconds timeout);

}  // namespace gpucr
