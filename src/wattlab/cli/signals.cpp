#include "wattlab/cli/signals.h"

#include <csignal>
#include <unistd.h>

#include <atomic>

namespace wattlab::cli {

namespace {
std::atomic<int> g_stop_signal{0};

void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, sig)) {
    // Second signal: the user insists.
    signal(sig, SIG_DFL);
    raise(sig);
  }
}
}  // namespace

void install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop_signal.load() != 0; }
int stop_signal() { return g_stop_signal.load(); }

}  // namespace wattlab::cli
