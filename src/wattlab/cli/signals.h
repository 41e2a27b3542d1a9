// SIGINT/SIGTERM handling for long commands: the first signal asks the work to
// stop cleanly (so the run is flushed and marked KILLED); a second one ends
// the process at once.
#pragma once

namespace wattlab::cli {

// Installs the handlers. Safe to call more than once.
void install_stop_signal_handlers();
// True once SIGINT or SIGTERM has arrived.
bool stop_requested();
// The signal that asked to stop (SIGINT or SIGTERM), 0 if none.
int stop_signal();

}  // namespace wattlab::cli
