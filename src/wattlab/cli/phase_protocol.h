// The line protocol a measured process uses to mark phases, written to the
// pipe named by WATTLAB_PHASE_FD or to a --phase-file:
//
//   begin epoch-3
//   end epoch-3
//
// One command per line; the name is the rest of the line (spaces allowed,
// trimmed). Phases become energy windows and may nest or overlap.
#pragma once

#include <string>

#include "wattlab/core/status.h"

namespace wattlab::cli {

struct PhaseCommand {
  bool begin = true;  // false: end
  std::string name;
};

// Parses one line (without its newline). InvalidArgument quoting the line
// for anything but "begin NAME" or "end NAME".
Result<PhaseCommand> parse_phase_line(const std::string& line);

// Splits a stream of bytes into lines: feed() what arrives, then take the
// complete lines; a partial last line waits for the rest.
class LineSplitter {
 public:
  void feed(const char* data, size_t size) { buffer_.append(data, size); }
  // Moves the next complete line into *line; false when none is complete.
  bool next_line(std::string* line);
  // The unterminated rest, once the stream has ended.
  std::string take_rest();

 private:
  std::string buffer_;  // bytes not yet returned
};

}  // namespace wattlab::cli
