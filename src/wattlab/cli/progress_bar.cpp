#include "wattlab/cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

#include "wattlab/cli/table.h"

namespace wattlab::cli {

ProgressBar::ProgressBar(std::string unit, bool enabled)
    : unit_(std::move(unit)), enabled_(enabled && isatty(STDERR_FILENO)) {}

ProgressBar::~ProgressBar() { clear(); }

void ProgressBar::update(const std::string& label, int64_t done, int64_t total, double monotonic_ms) {
  if (!enabled_ || total <= 0) return;
  if (label != label_) {
    label_ = label;
    pass_start_ms_ = monotonic_ms;
  }
  if (done < total && monotonic_ms - last_draw_ms_ < 100) return;
  last_draw_ms_ = monotonic_ms;
  const int kWidth = 30;
  double fraction = static_cast<double>(done) / static_cast<double>(total);
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar;
  for (int i = 0; i < kWidth; ++i) bar += i < filled ? "\u2588" : "\u2591";
  double elapsed_s = (monotonic_ms - pass_start_ms_) / 1000.0;
  double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
  std::string eta = rate > 0 ? format_duration_s(static_cast<double>(total - done) / rate) : "?";
  std::fprintf(stderr, "\r\033[K%s %s %3.0f%% %lld/%lld %s  %.0f %s/s  ETA %s", label_.c_str(),
               bar.c_str(), fraction * 100, static_cast<long long>(done), static_cast<long long>(total),
               unit_.c_str(), rate, unit_.c_str(), eta.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace wattlab::cli
