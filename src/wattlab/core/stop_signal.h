// SIGINT/SIGTERM handling for long commands: the first signal asks the work to
// stop cleanly (so the run is flushed and marked KILLED); a second one ends
// the process at once. While a child runs (`wattlab measure`), the signals are
// forwarded to it instead, and wattlab waits for it to finish.
#pragma once

#include <sys/types.h>

namespace wattlab {

// Installs the handlers. Safe to call more than once.
void install_stop_signal_handlers();
// True once SIGINT or SIGTERM has arrived.
bool stop_requested();
// The signal that asked to stop (SIGINT or SIGTERM), 0 if none.
int stop_signal();
// From now on SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to process
// `child_pid` (and recorded as by a stop request); 0 stops forwarding.
void forward_stop_signals_to(pid_t child_pid);

}  // namespace wattlab
