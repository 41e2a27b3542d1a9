#include "wattlab/core/stop_signal.h"

#include <csignal>
#include <unistd.h>

#include <atomic>

namespace wattlab {

namespace {
std::atomic<int> g_stop_signal{0};
std::atomic<pid_t> g_child_pid{0};

void on_stop_signal(int sig, siginfo_t* info, void*) {
  if (pid_t child = g_child_pid.load(); child > 0) {
    g_stop_signal.store(sig);
    // A terminal's Ctrl-C already reached the child (same process group);
    // pass on only what was sent to wattlab alone (kill, Slurm, systemd).
    if (info == nullptr || info->si_code == SI_USER || info->si_code == SI_QUEUE) kill(child, sig);
    return;
  }
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, sig)) {
    // Second signal: the user insists.
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

void install_handler(int sig) {
  struct sigaction sa {};
  sa.sa_sigaction = on_stop_signal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
}
}  // namespace

void install_stop_signal_handlers() {
  install_handler(SIGINT);
  install_handler(SIGTERM);
}

void forward_stop_signals_to(pid_t child_pid) {
  g_child_pid.store(child_pid);
  if (child_pid > 0) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) install_handler(sig);
  }
}

bool stop_requested() { return g_stop_signal.load() != 0; }
int stop_signal() { return g_stop_signal.load(); }

}  // namespace wattlab
