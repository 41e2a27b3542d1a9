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

#include <string>
#include <vector>

namespace wattlab::cli {

// Prints the notes not shown before on stderr ("wattlab: note: ..."), and
// remembers them. Prints nothing when `quiet`.
void print_meter_notes_once(const std::vector<std::string>& notes, bool quiet);
// Forgets every note shown, so that the next command shows them again.
void forget_meter_notes();

}  // namespace wattlab::cli
