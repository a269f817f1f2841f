#include "util/signals.hpp"

#include <atomic>
#include <csignal>

namespace gpucr::signals {

namespace {
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
}
}  // namespace

void install_cancel_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking waits wake up and look at the flag
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

bool cancel_requested() { return g_signal.load() != 0; }
int cancel_signal() { return g_signal.load(); }
void clear() { g_signal.store(0); }

}  // namespace gpucr::signals
