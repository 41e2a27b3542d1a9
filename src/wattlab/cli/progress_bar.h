// A one-line progress bar with rate and ETA on stderr. On a terminal it
// redraws in place (at most 10 times a second); when stderr is not a terminal
// it stays silent so logs are not flooded.
#pragma once

#include <cstdint>
#include <string>

namespace wattlab::cli {

class ProgressBar {
 public:
  // `unit` names what is counted ("img"). `enabled=false` silences it.
  ProgressBar(std::string unit, bool enabled);
  ~ProgressBar();
  // Shows `done` of `total` under `label`; `monotonic_ms` is the caller's clock.
  void update(const std::string& label, int64_t done, int64_t total, double monotonic_ms);
  // Clears the line so that ordinary output can follow.
  void clear();

 private:
  std::string unit_;
  bool enabled_;
  std::string label_;            // label of the current pass
  double pass_start_ms_ = 0;     // when the current label was first seen
  double last_draw_ms_ = -1e18;
  bool drawn_ = false;           // a line is on screen
};

}  // namespace wattlab::cli
