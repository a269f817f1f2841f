// proc::parse_status (src/proc/proc_fs.cpp): /proc/PID/status, read for VmRSS and the NSpid
// chain (a process's pids in each nested pid namespace; restore maps pids through it).
// Property: the NSpid chain is never empty (the pid itself without an NSpid line).
#include "fuzz_support.hpp"
#include "proc/process_table.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  proc::ProcInfo pi;
  pi.pid = 42;
  auto st = proc::parse_status(fuzz::as_text(data, size), pi);
  FUZZ_CHECK(st.ok());
  FUZZ_CHECK(!pi.nspid.empty());
  return 0;
}
