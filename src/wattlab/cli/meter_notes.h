// The notes make_meters() gives (why RAPL or NVML is not used here) matter
// once, not on every run: each is printed the first time a command meets it
// and then remembered, until `wattlab devices` (which explains every meter
// in full) forgets them.
//
// Remembered in <state>/notes-shown, one hash per line, where <state> is
// $WATTLAB_STATE_DIR, else $XDG_STATE_HOME/wattlab, else
// $HOME/.local/state/wattlab. When that file cannot be read or written, every
// note is printed every time (nothing is lost but quiet).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/meters.h"
#include "wattlab/energy/monitor.h"

namespace wattlab::cli {

// The monitor of a command that meters a process or a workload of its own
// (measure, infer, infer-bench, chess recognise), not yet started.
struct CommandMonitor {
  std::unique_ptr<Monitor> monitor;
  // meter_assumptions() of its meters: for the run's environment snapshot.
  std::map<std::string, std::string> assumptions;
};

// make_meters(env, meter), their notes shown once (print_meter_notes_once),
// and a Monitor over them with `options`; the error of whichever step failed.
// `env` must outlive the monitor.
Result<CommandMonitor> open_command_monitor(Env& env, const MeterOptions& meter, bool quiet,
                                            const MonitorOptions& options = {});

// Prints the notes not shown before on stderr ("wattlab: note: ..."), and
// remembers them. Prints nothing when `quiet`.
void print_meter_notes_once(const std::vector<std::string>& notes, bool quiet);
// Forgets every note shown, so that the next command shows them again.
void forget_meter_notes();

}  // namespace wattlab::cli
