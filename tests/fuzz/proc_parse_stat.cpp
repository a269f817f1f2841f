// proc::parse_stat (src/proc/proc_fs.cpp): /proc/PID/stat, read for every process gpucr looks at
// (tree walks, identities, liveness). The comm field may hold spaces and parentheses.
#include "fuzz_support.hpp"
#include "proc/process_table.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  proc::ProcInfo pi;
  pi.pid = 42;
  auto st = proc::parse_stat(fuzz::as_text(data, size), pi);
  if (st) FUZZ_CHECK(pi.comm.size() < size);
  return 0;
}
